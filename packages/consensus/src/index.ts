// The public surface of @conclave/consensus.

export * from "./codec.ts";
export { CONFIG_DEFAULTS, defaultLeaseTicks, type RaftConfig } from "./config.ts";
export * from "./errors.ts";
export { type Logger, silentLogger } from "./logger.ts";
export { type Random, SeededRandom } from "./prng.ts";
export type { Role, SoftState } from "./raft.ts";
export { bootstrapStorage, type ProgressStatus, RaftNode, type Ready, type Status } from "./raft-node.ts";
export { MAX_PENDING_READS, type ReadState } from "./read-only.ts";
export { FileStorage, type FileStorageOptions, SEGMENT_BYTES_DEFAULT } from "./storage/file-storage.ts";
export { type FileHandle, type FileSystem, nodeFileSystem } from "./storage/file-system.ts";
export { MemoryStorage } from "./storage/memory-storage.ts";
export { SimulatedCrash, SimulatedFileSystem } from "./storage/simulated-file-system.ts";
export type { InitialState, PersistUpdate, Storage } from "./storage.ts";
export * from "./types.ts";
