// Who the agent serves on /conclave/raft/1 and /conclave/rpc/1: Raft members, and admitted joiners.
// A joiner is a peer that reached us through the private network (so it holds the cluster
// secret: pnet guarantees that much) and was not removed from the cluster. A removed member is
// refused from the moment its removal is applied here, and its outbound Raft queue is dropped.
import type { NodeId } from "@conclave/consensus";

export class PeerAdmission {
  #members = new Set<NodeId>();
  readonly #removed = new Set<NodeId>();
  readonly #selfId: NodeId;

  constructor(selfId: NodeId) {
    this.#selfId = selfId;
  }

  /** The current Raft configuration (voters and learners). Returns the ids that left it. */
  setMembers(members: Iterable<NodeId>): NodeId[] {
    const next = new Set(members);
    const left: NodeId[] = [];
    for (const id of this.#members) {
      if (!next.has(id) && id !== this.#selfId) {
        this.#removed.add(id);
        left.push(id);
      }
    }
    for (const id of next) this.#removed.delete(id);
    this.#members = next;
    return left;
  }

  isMember(peerId: NodeId): boolean {
    return this.#members.has(peerId);
  }

  isRemoved(peerId: NodeId): boolean {
    return this.#removed.has(peerId);
  }

  /** The PeerGate: synchronous and cheap, it runs on the network path. */
  readonly isPeerAllowed = (peerId: string, _protocol: string): boolean =>
    this.#members.has(peerId) || !this.#removed.has(peerId);
}
