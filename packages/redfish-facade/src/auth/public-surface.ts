// What the auth part of the facade offers outside the package (re-exported by src/index.ts):
// the agent's replicated store builds on AuthState and the change schemas; `conclave init`
// hashes the first administrator's password with hashPassword.
export * from "./auth-limits.ts";
export {
  type AccountRecord,
  AUTH_CHANGE_BODIES,
  AUTH_CHANGE_TYPES,
  AUTH_RULE_CODES,
  type AuthChange,
  type AuthChangeBody,
  type AuthChangeResult,
  type AuthChangeType,
  type AuthRuleCode,
  AuthRuleViolation,
  type AuthSettings,
  AuthState,
  type AuthStateSnapshot,
  type AuthStateView,
  DEFAULT_AUTH_SETTINGS,
  isActiveAdministrator,
  type SessionRecord,
  sessionExpiresAtMs,
  sessionTouchIntervalMs,
} from "./auth-state.ts";
export { AuthStoreUnavailableError } from "./auth-store.ts";
export {
  createMemoryAuthStore,
  type MemoryAccountSeed,
  type MemoryAuthStoreInit,
  storeOverState,
} from "./memory-auth-store.ts";
export { hashPassword, isPasswordHash, verifyPassword } from "./password-hash.ts";
export { type Principal, principalOf } from "./principal.ts";
export { type AuthOptions, registerAuth } from "./register-auth.ts";
export { type Requirement, requiredPrivilege } from "./required-privilege.ts";
export { isRoleId, PRIVILEGES, type Privilege, ROLE_IDS, ROLE_PRIVILEGES } from "./roles.ts";
