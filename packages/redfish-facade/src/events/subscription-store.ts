// Where push subscriptions live. Reads are synchronous, from the state this node has applied;
// a change resolves once it is committed. createMemorySubscriptionStore serves a facade without
// a cluster (and tests); the agent's createReplicatedSubscriptionStore carries the same changes
// through Raft and applies the same SubscriptionState rules, so subscriptions (and what each
// destination has accepted) outlive the PoC.
import { type SubscriptionChange, SubscriptionState, type SubscriptionStateView } from "./subscription-state.ts";

export interface SubscriptionStore extends SubscriptionStateView {
  /**
   * Rejects with SubscriptionRuleViolation when the rules refuse the change, and with
   * SubscriptionStoreUnavailableError when it cannot be committed now.
   */
  commit(change: SubscriptionChange): Promise<void>;
}

/** The store cannot commit right now (no quorum, not the leader, timed out): a 503 for the client. */
export class SubscriptionStoreUnavailableError extends Error {
  readonly code = "FACADE_ERR_SUBSCRIPTION_STORE_UNAVAILABLE";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SubscriptionStoreUnavailableError";
  }
}

export function createMemorySubscriptionStore(state: SubscriptionState = new SubscriptionState()): SubscriptionStore {
  return subscriptionStoreOverState(state, async (change) => state.apply(change));
}

/** A SubscriptionStore reading `view` (or what `view()` returns, for a state replaced by snapshots) and committing through `commit`. */
export function subscriptionStoreOverState(
  view: SubscriptionState | (() => SubscriptionStateView),
  commit: SubscriptionStore["commit"],
): SubscriptionStore {
  const read = typeof view === "function" ? view : () => view;
  return {
    list: () => read().list(),
    get: (id) => read().get(id),
    settings: () => read().settings(),
    commit,
  };
}
