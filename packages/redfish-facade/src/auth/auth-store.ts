// Where the facade keeps cluster accounts and sessions. Reads are synchronous, from the state
// this node has applied; every change is asynchronous and resolves only once it is committed
// (in the agent: through Raft, so a console's token and the accounts outlive the PoC). Tokens
// and passwords are stored hashed. Two implementations: createMemoryAuthStore (tests, a facade
// without a cluster) and the agent's createReplicatedAuthStore; both apply the same AuthState
// rules, so a refusal means the same thing everywhere.
import type { AuthChange, AuthChangeResult, AuthRuleCode, AuthStateView } from "./auth-state.ts";

export type { RoleId } from "./roles.ts";

export interface AuthStore extends AuthStateView {
  /**
   * Commits one change. Resolves once it is applied locally; rejects with AuthRuleViolation
   * when the rules refuse it, AuthStoreUnavailableError when it cannot be committed now (no
   * quorum, leadership moved), anything else on a bug.
   */
  commit(change: AuthChange): Promise<AuthChangeResult>;
}

/** The store cannot commit right now (no quorum, not the leader, timed out): a 503 for the client. */
export class AuthStoreUnavailableError extends Error {
  readonly code = "FACADE_ERR_AUTH_STORE_UNAVAILABLE";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthStoreUnavailableError";
  }
}

export type { AuthRuleCode };
