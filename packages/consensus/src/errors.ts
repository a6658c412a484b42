// Every error the consensus package raises, each with a stable code that callers
// (the agent, the CLI, the facade) can match on without parsing messages.
import type { NodeId } from "./types.ts";

export type ConsensusErrorCode =
  | "CONSENSUS_ERR_INVALID_CONFIG"
  | "CONSENSUS_ERR_NOT_LEADER"
  | "CONSENSUS_ERR_PROPOSAL_DROPPED"
  | "CONSENSUS_ERR_CONF_CHANGE_PENDING"
  | "CONSENSUS_ERR_INVALID_CONF_CHANGE"
  | "CONSENSUS_ERR_TRANSFER_IN_PROGRESS"
  | "CONSENSUS_ERR_INVALID_TRANSFER"
  | "CONSENSUS_ERR_COMPACTED"
  | "CONSENSUS_ERR_UNAVAILABLE"
  | "CONSENSUS_ERR_SNAPSHOT_OUT_OF_DATE"
  | "CONSENSUS_ERR_STORAGE_CORRUPT"
  | "CONSENSUS_ERR_STORAGE_FULL"
  | "CONSENSUS_ERR_STORAGE_IO"
  | "CONSENSUS_ERR_STORAGE_CLOSED"
  | "CONSENSUS_ERR_CODEC"
  | "CONSENSUS_ERR_INVARIANT";

export class ConsensusError extends Error {
  readonly code: ConsensusErrorCode;
  constructor(code: ConsensusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidConfigError extends ConsensusError {
  constructor(message: string) {
    super("CONSENSUS_ERR_INVALID_CONFIG", message);
  }
}

/** Only the leader accepts proposals, reads and membership changes. `leaderId` is "" when unknown. */
export class NotLeaderError extends ConsensusError {
  readonly leaderId: NodeId;
  constructor(leaderId: NodeId) {
    super(
      "CONSENSUS_ERR_NOT_LEADER",
      leaderId ? `not the leader; the leader is ${leaderId}` : "not the leader; no leader is known",
    );
    this.leaderId = leaderId;
  }
}

/** The proposal was not appended (leadership transfer under way, or flow control). */
export class ProposalDroppedError extends ConsensusError {
  constructor(reason: string) {
    super("CONSENSUS_ERR_PROPOSAL_DROPPED", `proposal dropped: ${reason}`);
  }
}

export class ConfChangePendingError extends ConsensusError {
  constructor(pendingIndex: number) {
    super(
      "CONSENSUS_ERR_CONF_CHANGE_PENDING",
      `a membership change (log index ${pendingIndex}) is still pending; one change at a time`,
    );
  }
}

export class InvalidConfChangeError extends ConsensusError {
  constructor(message: string) {
    super("CONSENSUS_ERR_INVALID_CONF_CHANGE", message);
  }
}

export class TransferInProgressError extends ConsensusError {
  constructor(target: NodeId) {
    super("CONSENSUS_ERR_TRANSFER_IN_PROGRESS", `leadership is being transferred to ${target}`);
  }
}

export class InvalidTransferError extends ConsensusError {
  constructor(message: string) {
    super("CONSENSUS_ERR_INVALID_TRANSFER", message);
  }
}

/** The requested index is older than the storage's first index (compacted into a snapshot). */
export class CompactedError extends ConsensusError {
  constructor(index: number, firstIndex: number) {
    super("CONSENSUS_ERR_COMPACTED", `log index ${index} is compacted (first available index is ${firstIndex})`);
  }
}

/** The requested index is newer than the storage's last index. */
export class UnavailableError extends ConsensusError {
  constructor(index: number, lastIndex: number) {
    super("CONSENSUS_ERR_UNAVAILABLE", `log index ${index} is not available (last index is ${lastIndex})`);
  }
}

export class SnapshotOutOfDateError extends ConsensusError {
  constructor(index: number, current: number) {
    super(
      "CONSENSUS_ERR_SNAPSHOT_OUT_OF_DATE",
      `snapshot at index ${index} is older than the current one at ${current}`,
    );
  }
}

/** Persistent state is damaged where it must not be; the node must stop. */
export class StorageCorruptError extends ConsensusError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super("CONSENSUS_ERR_STORAGE_CORRUPT", `storage corrupt in ${file} at offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

/** The disk is full (ENOSPC). Nothing was half-written: the write can be retried once space is freed. */
export class StorageFullError extends ConsensusError {
  constructor(file: string, options?: { cause?: unknown }) {
    super("CONSENSUS_ERR_STORAGE_FULL", `no space left on device while writing ${file}`, options);
  }
}

export class StorageIoError extends ConsensusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONSENSUS_ERR_STORAGE_IO", message, options);
  }
}

export class StorageClosedError extends ConsensusError {
  constructor() {
    super("CONSENSUS_ERR_STORAGE_CLOSED", "storage is closed (a previous write failed or close() was called)");
  }
}

/** Bad bytes on the wire or on disk. `reason` names what was wrong. */
export class CodecError extends ConsensusError {
  constructor(reason: string) {
    super("CONSENSUS_ERR_CODEC", `cannot decode: ${reason}`);
  }
}

/** A Raft invariant does not hold. Never caught: the process must stop rather than corrupt state. */
export class InvariantError extends ConsensusError {
  constructor(message: string) {
    super("CONSENSUS_ERR_INVARIANT", `invariant violated: ${message}`);
  }
}
