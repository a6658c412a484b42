// An AuthStore held in this process: for tests and for a facade running without a cluster.
// Accounts given at creation are hashed here (scrypt), so tests and demos start from plain
// passwords while the store still holds hashes only.
import { type AuthChange, type AuthChangeResult, AuthState, type AuthStateView } from "./auth-state.ts";
import type { AuthStore } from "./auth-store.ts";
import { hashPassword } from "./password-hash.ts";
import type { RoleId } from "./roles.ts";

export interface MemoryAccountSeed {
  readonly userName: string;
  readonly password: string;
  readonly roleId: RoleId;
  readonly enabled?: boolean;
}

export interface MemoryAuthStoreInit {
  readonly accounts?: readonly MemoryAccountSeed[];
  /** Starting settings (e.g. a short SessionTimeout in tests). */
  readonly sessionTimeoutSeconds?: number;
  /** Time stamped on the seeded accounts (default Date.now()). */
  readonly nowMs?: number;
}

/** Resolves once every seeded account is hashed and stored; throws AuthRuleViolation on a bad seed. */
export async function createMemoryAuthStore(init: MemoryAuthStoreInit = {}): Promise<AuthStore> {
  const state = new AuthState();
  const atMs = init.nowMs ?? Date.now();
  if (init.sessionTimeoutSeconds !== undefined) {
    state.apply({ type: "auth.settings", body: { sessionTimeoutSeconds: init.sessionTimeoutSeconds } });
  }
  for (const seed of init.accounts ?? []) {
    const passwordHash = await hashPassword(seed.password);
    state.apply({
      type: "account.create",
      body: { userName: seed.userName, roleId: seed.roleId, enabled: seed.enabled ?? true, passwordHash, atMs },
    });
  }
  return storeOverState(state, async (change) => state.apply(change));
}

/** An AuthStore reading `view` (or what `view()` returns, for a state replaced by snapshots) and committing through `commit`. */
export function storeOverState(
  view: AuthStateView | (() => AuthStateView),
  commit: (change: AuthChange) => Promise<AuthChangeResult>,
): AuthStore {
  const read = typeof view === "function" ? view : () => view;
  return {
    settings: () => read().settings(),
    accounts: () => read().accounts(),
    account: (id) => read().account(id),
    accountByUserName: (userName) => read().accountByUserName(userName),
    sessions: () => read().sessions(),
    session: (id) => read().session(id),
    sessionByTokenHash: (tokenHash) => read().sessionByTokenHash(tokenHash),
    commit,
  };
}
