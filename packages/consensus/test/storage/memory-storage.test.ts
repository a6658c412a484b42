// MemoryStorage keeps the whole Storage contract.
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import { describeStorageCompliance } from "./storage-compliance.ts";

describeStorageCompliance("MemoryStorage", () => new MemoryStorage());
