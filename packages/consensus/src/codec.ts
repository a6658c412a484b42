// PLACEHOLDER SIGNATURES — being implemented; see the codec task.
import type { ConfChange, Entry, HardState, Message, SnapshotMetadata } from "./types.ts";

export interface DecodeLimits {
  maxMessageBytes: number;
  maxEntriesPerMessage: number;
  maxNodeIdBytes: number;
}
export declare function encodeMessage(message: Message): Uint8Array;
export declare function decodeMessage(bytes: Uint8Array, limits?: Partial<DecodeLimits>): Message;
export declare function encodeConfChange(change: ConfChange): Uint8Array;
export declare function decodeConfChange(bytes: Uint8Array): ConfChange;
export declare function encodeEntry(entry: Entry): Uint8Array;
export declare function decodeEntry(bytes: Uint8Array): Entry;
export declare function encodeHardState(state: HardState): Uint8Array;
export declare function decodeHardState(bytes: Uint8Array): HardState;
export declare function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array;
export declare function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata;
