// The data Raft moves around: log entries, persistent state, snapshots and messages.
// Plain objects only, so the codec, the storage and the simulator can all share them.

/** A node's identity. The agent uses the libp2p peer id; tests use short names. */
export type NodeId = string;

/** No node (no vote cast, no known leader). */
export const NO_NODE: NodeId = "";

export const EntryType = {
  /** Application data (may be empty: a new leader's no-op). */
  Normal: 0,
  /** A membership change, encoded with `encodeConfChange`. */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash before a node may answer anyone. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NO_NODE, commit: 0 });

/** The membership: voters elect and commit; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export const ConfChangeType = {
  AddVoter: 0,
  AddLearner: 1,
  RemoveNode: 2,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** One membership change. Conclave changes one member at a time (see conf-change.ts). */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export const EMPTY_SNAPSHOT_METADATA: SnapshotMetadata = Object.freeze({
  index: 0,
  term: 0,
  confState: Object.freeze({ voters: [], learners: [] }),
});

/** A piece of an incoming snapshot the embedder must persist (InstallSnapshot is chunked). */
export interface SnapshotChunk {
  readonly metadata: SnapshotMetadata;
  /** Byte offset of `data` within the whole snapshot. */
  readonly offset: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
  /** True on the last chunk: the snapshot is complete once this one is written. */
  readonly done: boolean;
}

interface MessageHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Leader -> follower: entries after (prevIndex, prevTerm). Also a probe when `entries` is empty. */
export interface AppendMessage extends MessageHeader {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /** The leader's tick when it sent this; echoed back so the leader can date its lease. */
  readonly leaseTick: number;
}

export interface AppendResponseMessage extends MessageHeader {
  readonly type: "appendResponse";
  readonly reject: boolean;
  /** Accepted: the last index now matching the leader. Rejected: the prevIndex that did not match. */
  readonly index: number;
  /** Rejected: a hint where the logs may match (the follower's last index, or the first index of the conflicting term). */
  readonly rejectHint: number;
  /** Rejected: the follower's term at `rejectHint` (0 when unknown). */
  readonly hintTerm: number;
  readonly leaseTick: number;
}

export interface HeartbeatMessage extends MessageHeader {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly leaseTick: number;
  /** Non-zero when the heartbeat also confirms leadership for pending ReadIndex requests. */
  readonly readRound: number;
}

export interface HeartbeatResponseMessage extends MessageHeader {
  readonly type: "heartbeatResponse";
  readonly leaseTick: number;
  readonly readRound: number;
}

/** A (pre-)vote request. For a pre-vote `term` is the term the candidate would campaign in. */
export interface VoteMessage extends MessageHeader {
  readonly type: "vote" | "preVote";
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer: voters skip the "a leader is known" check. */
  readonly force: boolean;
}

export interface VoteResponseMessage extends MessageHeader {
  readonly type: "voteResponse" | "preVoteResponse";
  readonly reject: boolean;
}

/** Leader -> follower: one chunk of InstallSnapshot. */
export interface SnapshotMessage extends MessageHeader {
  readonly type: "snapshot";
  readonly chunk: SnapshotChunk;
  readonly leaseTick: number;
}

export interface SnapshotResponseMessage extends MessageHeader {
  readonly type: "snapshotResponse";
  /** The snapshot index this answers about. */
  readonly snapshotIndex: number;
  /** The next byte offset the follower expects (equals totalBytes once installed). */
  readonly nextOffset: number;
  /** True when the follower could not use the chunk (out of order or stale); `nextOffset` says where to resume. */
  readonly reject: boolean;
  readonly leaseTick: number;
}

/** Leader -> transfer target: campaign now, skipping PreVote and the leader-known check. */
export interface TimeoutNowMessage extends MessageHeader {
  readonly type: "timeoutNow";
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | SnapshotResponseMessage
  | TimeoutNowMessage;

export type MessageType = Message["type"];

export const MESSAGE_TYPES: readonly MessageType[] = [
  "append",
  "appendResponse",
  "heartbeat",
  "heartbeatResponse",
  "vote",
  "preVote",
  "voteResponse",
  "preVoteResponse",
  "snapshot",
  "snapshotResponse",
  "timeoutNow",
];
