// Membership changes, one server at a time.
//
// Why one at a time rather than joint consensus: adding or removing a single voter
// keeps every majority of the old configuration overlapping every majority of the new
// one, so no special two-configuration phase is needed (Raft thesis §4.1). Conclave
// changes membership as BMCs come and go, one by one (autopilot promotes one learner at
// a time), so joint consensus would add complexity without adding a capability.
//
// The rules that make it safe here:
// - a change takes effect when its entry is applied (etcd's choice), on every node;
// - the leader refuses a second change while one is proposed and not yet applied;
// - a new leader refuses changes until every entry of earlier terms is applied, which
//   requires committing an entry of its own term first (the fix for the single-server
//   change bug Ongaro described in 2015).
import { InvalidConfChangeError } from "./errors.ts";
import { type ConfChange, ConfChangeType, type ConfState, type NodeId } from "./types.ts";

export class Membership {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();

  static from(confState: ConfState): Membership {
    const membership = new Membership();
    for (const id of confState.voters) membership.voters.add(id);
    for (const id of confState.learners) {
      if (!membership.voters.has(id)) membership.learners.add(id);
    }
    return membership;
  }

  has(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  toConfState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  /** Throws InvalidConfChangeError when `change` makes no sense against this membership. */
  validate(change: ConfChange): void {
    if (typeof change.nodeId !== "string" || change.nodeId.length === 0) {
      throw new InvalidConfChangeError("a membership change needs a node id");
    }
    switch (change.type) {
      case ConfChangeType.AddVoter:
        if (this.voters.has(change.nodeId)) {
          throw new InvalidConfChangeError(`${change.nodeId} is already a voter`);
        }
        return;
      case ConfChangeType.AddLearner:
        if (this.voters.has(change.nodeId)) {
          throw new InvalidConfChangeError(
            `${change.nodeId} is a voter; demoting a voter to learner is not supported (remove it, then add it as a learner)`,
          );
        }
        if (this.learners.has(change.nodeId)) {
          throw new InvalidConfChangeError(`${change.nodeId} is already a learner`);
        }
        return;
      case ConfChangeType.RemoveNode:
        if (!this.has(change.nodeId)) {
          throw new InvalidConfChangeError(`${change.nodeId} is not a member`);
        }
        if (this.voters.has(change.nodeId) && this.voters.size === 1) {
          throw new InvalidConfChangeError(`${change.nodeId} is the last voter; removing it would leave no quorum`);
        }
        return;
      default:
        throw new InvalidConfChangeError(`unknown membership change type ${String((change as ConfChange).type)}`);
    }
  }

  /** Applies a validated change. Invalid changes are ignored (returns false) so every node stays identical. */
  apply(change: ConfChange): boolean {
    try {
      this.validate(change);
    } catch {
      return false;
    }
    switch (change.type) {
      case ConfChangeType.AddVoter:
        this.learners.delete(change.nodeId);
        this.voters.add(change.nodeId);
        return true;
      case ConfChangeType.AddLearner:
        this.learners.add(change.nodeId);
        return true;
      case ConfChangeType.RemoveNode:
        this.voters.delete(change.nodeId);
        this.learners.delete(change.nodeId);
        return true;
    }
    return false;
  }
}
