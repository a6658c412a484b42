// Where push subscriptions live. Reads are synchronous, from the state this node has applied;
// a change resolves once it is committed. createMemorySubscriptionStore serves a facade without
// a cluster (and tests); a replicated store (the agent's Raft state, as for accounts) applies the
// same SubscriptionState rules, so subscriptions outlive the PoC.
import { type SubscriptionChange, SubscriptionState, type SubscriptionStateView } from "./subscription-state.ts";

export interface SubscriptionStore extends SubscriptionStateView {
  /** Rejects with SubscriptionRuleViolation when the rules refuse the change. */
  commit(change: SubscriptionChange): Promise<void>;
}

export function createMemorySubscriptionStore(): SubscriptionStore {
  const state = new SubscriptionState();
  return {
    list: () => state.list(),
    get: (id) => state.get(id),
    settings: () => state.settings(),
    commit: async (change) => state.apply(change),
  };
}
