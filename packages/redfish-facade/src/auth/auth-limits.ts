// Every bound of accounts and sessions, named. The replicated state enforces them on apply, so
// they are part of the cluster's behaviour: change one only with a new command version.

/** Accounts the cluster holds (bmcweb allows 15; a rack's consoles and operators fit in 64). */
export const ACCOUNTS_MAX = 64;
/** Sessions open at once across the service (SessionLimitExceeded beyond, once expired ones are gone). */
export const SESSIONS_MAX = 64;
/** Sessions one account may hold at once, so one client's leak cannot lock everybody out. */
export const SESSIONS_PER_ACCOUNT_MAX = 16;
/** User names: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const USER_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$";
export const USER_NAME_MAX_CHARS = 32;
/** Session `Context` (a client's note) and the client origin kept with a session. */
export const SESSION_CONTEXT_MAX_CHARS = 256;
export const CLIENT_ORIGIN_MAX_CHARS = 64;

/** SessionService.SessionTimeout bounds (the schema's own: 30..86400 s) and default (bmcweb's). */
export const SESSION_TIMEOUT_SECONDS_MIN = 30;
export const SESSION_TIMEOUT_SECONDS_MAX = 86_400;
export const SESSION_TIMEOUT_SECONDS_DEFAULT = 1_800;

/** AccountService.MinPasswordLength may be set in [FLOOR, CEILING]; MaxPasswordLength in [Min, CEILING]. */
export const PASSWORD_LENGTH_FLOOR = 8;
export const PASSWORD_LENGTH_CEILING = 128;
export const MIN_PASSWORD_LENGTH_DEFAULT = 8;
export const MAX_PASSWORD_LENGTH_DEFAULT = 64;

/** Largest request body the SessionService and AccountService routes read. */
export const AUTH_BODY_MAX_BYTES = 16 * 1024;
