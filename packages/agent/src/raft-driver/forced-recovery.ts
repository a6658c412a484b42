// The last resort when a quorum is lost for good (two of three BMCs dead and not coming back):
// make this node the only voter of its cluster, keeping its log, its state and the cluster's
// identity. Like etcd's --force-new-cluster it is unsafe by design: entries this node holds but a
// quorum never acknowledged become committed, and entries only the lost nodes held are gone. So it
// is run by hand (`conclave recover --force`), with the daemon stopped, on the survivor with the
// newest state; the removed BMCs must have their state directory wiped before they rejoin.
//
// How: the membership as of the last stored entry (snapshot configuration plus every conf change
// in the log) loses every other member through one RemoveNode entry each, appended after the last
// entry in the current term, and the commit index moves to the last of them. On the next start the
// core replays the committed entries, applies those removals one at a time, and this node, now a
// quorum of one, elects itself.
import {
  ConfChangeType,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  encodeConfChange,
  type NodeId,
  type Storage,
} from "@conclave/consensus";
import { AgentError } from "../errors.ts";

/** Bytes of log read at once while replaying the membership. */
const REPLAY_BATCH_BYTES = 4 * 1024 * 1024;

export class ForcedRecoveryError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_FORCED_RECOVERY", message);
  }
}

export interface ForcedRecoveryPlan {
  readonly selfId: NodeId;
  /** Members as of the last stored entry. */
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Every member but this node, in the order their removals are written. */
  readonly removed: readonly NodeId[];
  /** The last stored index and the commit index before the change. */
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** Entries stored but never known committed: they become committed. */
  readonly uncommittedEntries: number;
  readonly term: number;
}

function applyChange(state: { voters: Set<NodeId>; learners: Set<NodeId> }, entry: Entry): void {
  const change = decodeConfChange(entry.data);
  if (change.type === ConfChangeType.AddVoter) {
    state.learners.delete(change.nodeId);
    state.voters.add(change.nodeId);
  } else if (change.type === ConfChangeType.AddLearner) {
    state.voters.delete(change.nodeId);
    state.learners.add(change.nodeId);
  } else {
    state.voters.delete(change.nodeId);
    state.learners.delete(change.nodeId);
  }
}

/** The membership as of the last stored entry, committed or not. */
export function membershipAtLastEntry(storage: Storage): ConfState {
  const snapshot = storage.snapshotMetadata();
  const state = { voters: new Set(snapshot.confState.voters), learners: new Set(snapshot.confState.learners) };
  let next = Math.max(storage.firstIndex(), snapshot.index + 1);
  const last = storage.lastIndex();
  while (next <= last) {
    const batch = storage.entries(next, last + 1, REPLAY_BATCH_BYTES);
    for (const entry of batch) if (entry.type === EntryType.ConfChange) applyChange(state, entry);
    next = (batch.at(-1)?.index ?? last) + 1;
  }
  return { voters: [...state.voters].sort(), learners: [...state.learners].sort() };
}

/** What `recover` would do to this node's storage; throws ForcedRecoveryError when it cannot. */
export function planForcedRecovery(storage: Storage, selfId: NodeId): ForcedRecoveryPlan {
  const { hardState } = storage.initialState();
  const lastIndex = storage.lastIndex();
  if (lastIndex === 0 && storage.snapshotMetadata().index === 0) {
    throw new ForcedRecoveryError(
      "this node has no Raft state: it never joined a cluster, there is nothing to recover",
    );
  }
  const membership = membershipAtLastEntry(storage);
  if (!membership.voters.includes(selfId)) {
    throw new ForcedRecoveryError(
      `this node (${selfId}) is not a voter of its cluster (voters: ${membership.voters.join(", ") || "none"}): recover on a surviving voter`,
    );
  }
  const removed = [...membership.voters, ...membership.learners].filter((id) => id !== selfId);
  return {
    selfId,
    voters: membership.voters,
    learners: membership.learners,
    removed,
    lastIndex,
    commitIndex: hardState.commit,
    uncommittedEntries: lastIndex - hardState.commit,
    term: Math.max(hardState.term, storage.term(lastIndex)),
  };
}

/** Writes the plan: one RemoveNode entry per other member, all committed, in one persist. */
export function applyForcedRecovery(storage: Storage, plan: ForcedRecoveryPlan): void {
  if (plan.removed.length === 0 && plan.uncommittedEntries === 0) return;
  const { hardState } = storage.initialState();
  const entries: Entry[] = plan.removed.map((nodeId, offset) => ({
    index: plan.lastIndex + 1 + offset,
    term: plan.term,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId }),
  }));
  storage.persist({
    hardState: { term: plan.term, vote: hardState.vote, commit: plan.lastIndex + plan.removed.length },
    entries,
    snapshotChunks: [],
  });
}
