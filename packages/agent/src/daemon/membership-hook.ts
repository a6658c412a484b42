// AUTOPILOT HOOK. The PoC asks `planMembershipChange` for the next membership change after every
// reconcile. Until the autopilot (src/autopilot/, a pure planner with dead-member handling and
// voter replacement) is wired here, this fallback only promotes: a learner that has been reachable
// and caught up for `stableMs` becomes a voter while there are fewer than `maxVoters` voters.
// Nothing is removed automatically.
import type { NodeId } from "@conclave/consensus";
import type { MemberRecord } from "../cluster-state/types.ts";
import type { MemberProgress } from "../raft-driver/raft-driver.ts";

/** A learner this many entries behind the PoC or fewer counts as caught up. */
export const PROMOTION_MAX_LAG_ENTRIES = 16;

export interface MembershipInput {
  readonly selfId: NodeId;
  readonly nowMs: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly members: readonly MemberRecord[];
  readonly progress: readonly MemberProgress[];
  readonly maxVoters: number;
  /** How long a learner must stay reachable and caught up before promotion. */
  readonly stableMs: number;
}

export type MembershipChange = { readonly kind: "promote"; readonly nodeId: NodeId; readonly reason: string } | null;

/** Remembers since when each learner has been stable; one instance per PoC term. */
export class MembershipPlanner {
  readonly #stableSince = new Map<NodeId, number>();

  plan(input: MembershipInput): MembershipChange {
    const progress = new Map(input.progress.map((member) => [member.id, member]));
    for (const id of [...this.#stableSince.keys()]) if (!input.learners.includes(id)) this.#stableSince.delete(id);
    let best: NodeId | undefined;
    for (const id of [...input.learners].sort()) {
      const member = progress.get(id);
      const stable = member?.recentActive === true && member.lagEntries <= PROMOTION_MAX_LAG_ENTRIES;
      if (!stable) {
        this.#stableSince.delete(id);
        continue;
      }
      const since = this.#stableSince.get(id) ?? input.nowMs;
      this.#stableSince.set(id, since);
      if (best === undefined && input.nowMs - since >= input.stableMs) best = id;
    }
    if (best === undefined || input.voters.length >= input.maxVoters) return null;
    return {
      kind: "promote",
      nodeId: best,
      reason: `learner caught up and reachable for ${input.stableMs} ms; ${input.voters.length} of at most ${input.maxVoters} voters`,
    };
  }
}
