// Forming a cluster from identical installs, exactly once (Consul's bootstrap_expect).
//
// The rule: when a node without Raft state knows `bootstrapExpect` nodes (itself included),
// the lowest node id among them bootstraps a configuration that names only itself, and every
// other node waits to be admitted by it as a learner (autopilot promotes learners later).
// A configuration naming only the bootstrapper never depends on the votes of nodes that could
// be founding another cluster, and a node with state never bootstraps again. Two clusters can
// only form if two nodes each see `bootstrapExpect` nodes and each is the lowest it sees: the
// discovery layer must decide on a settled view (the full set, stable for a while).
import { bootstrapStorage, type NodeId, type Storage } from "@conclave/consensus";
import { BootstrapError } from "./errors.ts";

export type BootstrapDecision =
  /** The node has Raft state: start from it, never bootstrap. */
  | { readonly action: "resume" }
  /** Not enough nodes known yet. */
  | { readonly action: "wait"; readonly known: number; readonly expect: number }
  /** This node is the lowest id: bootstrap with these voters (itself). */
  | { readonly action: "bootstrap"; readonly voters: readonly NodeId[] }
  /** Another node bootstraps: ask it (the PoC-to-be) to admit this node as a learner. */
  | { readonly action: "join"; readonly via: NodeId };

/**
 * `cannotLead`: nodes that never campaign (witnesses). A configuration naming only such a node could
 * never elect a leader, so the bootstrapper is the lowest id among the others; a group of witnesses
 * only waits.
 */
export function decideBootstrap(
  selfId: NodeId,
  discoveredPeerIds: Iterable<NodeId>,
  bootstrapExpect: number,
  hasState: boolean,
  cannotLead: ReadonlySet<NodeId> = new Set(),
): BootstrapDecision {
  if (selfId.length === 0) throw new BootstrapError("selfId must not be empty");
  if (!Number.isSafeInteger(bootstrapExpect) || bootstrapExpect < 1) {
    throw new BootstrapError(`bootstrapExpect must be a positive integer, got ${bootstrapExpect}`);
  }
  if (hasState) return { action: "resume" };
  const known = new Set<NodeId>([selfId]);
  for (const id of discoveredPeerIds) if (id.length > 0) known.add(id);
  if (known.size < bootstrapExpect) return { action: "wait", known: known.size, expect: bootstrapExpect };
  const lowest = [...known].filter((id) => !cannotLead.has(id)).sort()[0];
  if (lowest === undefined) return { action: "wait", known: known.size, expect: bootstrapExpect };
  return lowest === selfId ? { action: "bootstrap", voters: [selfId] } : { action: "join", via: lowest };
}

/** True when the storage holds any Raft state (a log, a snapshot, a term): such a node must never bootstrap. */
export function hasRaftState(storage: Storage): boolean {
  const { hardState } = storage.initialState();
  return storage.lastIndex() !== 0 || storage.snapshotMetadata().index !== 0 || hardState.term !== 0;
}

/** Writes the founding configuration into empty storage. Returns false (writing nothing) when state exists. */
export function bootstrapOnce(storage: Storage, voters: readonly NodeId[]): boolean {
  if (hasRaftState(storage)) return false;
  if (voters.length === 0) throw new BootstrapError("a cluster needs at least one founding voter");
  bootstrapStorage(storage, voters);
  return true;
}
