// The state of accounts, sessions and their settings, with the one function that changes it.
// Pure and deterministic: no clock (every change carries its time), no randomness (ids, salts
// and tokens are drawn by the proposer and arrive in the change), no I/O. The same code runs in
// the facade's memory store and in the agent's replicated cluster state, so a rule (the last
// administrator, the session limit) means the same thing in tests and on every Raft node.
// Stored: password hashes (scrypt, PHC strings) and SHA-256 of session tokens, never either secret.
import Type, { type Static, type TSchema } from "typebox";
import Value from "typebox/value";
import {
  ACCOUNTS_MAX,
  CLIENT_ORIGIN_MAX_CHARS,
  MAX_PASSWORD_LENGTH_DEFAULT,
  MIN_PASSWORD_LENGTH_DEFAULT,
  PASSWORD_LENGTH_CEILING,
  PASSWORD_LENGTH_FLOOR,
  SESSION_CONTEXT_MAX_CHARS,
  SESSION_TIMEOUT_SECONDS_DEFAULT,
  SESSION_TIMEOUT_SECONDS_MAX,
  SESSION_TIMEOUT_SECONDS_MIN,
  SESSIONS_MAX,
  SESSIONS_PER_ACCOUNT_MAX,
  USER_NAME_PATTERN,
} from "./auth-limits.ts";
import { isPasswordHash, PASSWORD_HASH_MAX_CHARS } from "./password-hash.ts";
import type { RoleId } from "./roles.ts";

export interface AccountRecord {
  /** Redfish `Id`: a decimal number given in creation order, never reused. */
  readonly id: string;
  readonly userName: string;
  readonly roleId: RoleId;
  readonly enabled: boolean;
  /** scrypt PHC string (password-hash.ts). Never leaves the facade. */
  readonly passwordHash: string;
  readonly createdAtMs: number;
  readonly passwordChangedAtMs: number;
}

export interface SessionRecord {
  /** Redfish `Id`: 32 hex characters, drawn by the facade. */
  readonly id: string;
  readonly accountId: string;
  /** SHA-256 of the token, base64url (session-token.ts). */
  readonly tokenHash: string;
  readonly createdAtMs: number;
  /**
   * The last use committed to the state. The PoC commits a use at most once per
   * sessionTouchIntervalMs, so the real last use may be up to that much later (see sessionExpiresAtMs).
   */
  readonly lastUsedAtMs: number;
  readonly clientOrigin: string | null;
  readonly context: string | null;
}

export interface AuthSettings {
  readonly sessionTimeoutSeconds: number;
  readonly minPasswordLength: number;
  readonly maxPasswordLength: number;
}

export const DEFAULT_AUTH_SETTINGS: AuthSettings = Object.freeze({
  sessionTimeoutSeconds: SESSION_TIMEOUT_SECONDS_DEFAULT,
  minPasswordLength: MIN_PASSWORD_LENGTH_DEFAULT,
  maxPasswordLength: MAX_PASSWORD_LENGTH_DEFAULT,
});

// ---------------------------------------------------------------- changes

const TimeMs = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const AccountId = Type.String({ pattern: "^[1-9][0-9]{0,8}$" });
const SessionId = Type.String({ pattern: "^[0-9a-f]{32}$" });
const UserName = Type.String({ pattern: USER_NAME_PATTERN });
const Role = Type.Union([Type.Literal("Administrator"), Type.Literal("Operator"), Type.Literal("ReadOnly")]);
const PasswordHash = Type.String({ minLength: 1, maxLength: PASSWORD_HASH_MAX_CHARS });
const TokenHash = Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" });
const SessionTimeout = Type.Integer({ minimum: SESSION_TIMEOUT_SECONDS_MIN, maximum: SESSION_TIMEOUT_SECONDS_MAX });
const PasswordLength = Type.Integer({ minimum: PASSWORD_LENGTH_FLOOR, maximum: PASSWORD_LENGTH_CEILING });
const closed = { additionalProperties: false } as const;

/** The body of each change, by the command type that carries it through Raft. */
export const AUTH_CHANGE_BODIES = {
  /** The first administrator: applies only while there is no account at all (conclave init's credential). */
  "account.bootstrap": Type.Object({ userName: UserName, passwordHash: PasswordHash, atMs: TimeMs }, closed),
  "account.create": Type.Object(
    { userName: UserName, roleId: Role, enabled: Type.Boolean(), passwordHash: PasswordHash, atMs: TimeMs },
    closed,
  ),
  "account.update": Type.Object(
    {
      id: AccountId,
      userName: Type.Optional(UserName),
      roleId: Type.Optional(Role),
      enabled: Type.Optional(Type.Boolean()),
      passwordHash: Type.Optional(PasswordHash),
      atMs: TimeMs,
    },
    closed,
  ),
  "account.delete": Type.Object({ id: AccountId }, closed),
  "session.create": Type.Object(
    {
      id: SessionId,
      accountId: AccountId,
      tokenHash: TokenHash,
      atMs: TimeMs,
      clientOrigin: Type.Union([Type.String({ maxLength: CLIENT_ORIGIN_MAX_CHARS }), Type.Null()]),
      context: Type.Union([Type.String({ maxLength: SESSION_CONTEXT_MAX_CHARS }), Type.Null()]),
    },
    closed,
  ),
  "session.delete": Type.Object({ id: SessionId }, closed),
  "session.touch": Type.Object({ id: SessionId, lastUsedAtMs: TimeMs }, closed),
  "auth.settings": Type.Object(
    {
      sessionTimeoutSeconds: Type.Optional(SessionTimeout),
      minPasswordLength: Type.Optional(PasswordLength),
      maxPasswordLength: Type.Optional(PasswordLength),
    },
    closed,
  ),
} as const satisfies Record<string, TSchema>;

export type AuthChangeType = keyof typeof AUTH_CHANGE_BODIES;
export type AuthChangeBody<T extends AuthChangeType> = Static<(typeof AUTH_CHANGE_BODIES)[T]>;
export type AuthChange = {
  [T in AuthChangeType]: { readonly type: T; readonly body: AuthChangeBody<T> };
}[AuthChangeType];
export const AUTH_CHANGE_TYPES = Object.freeze(Object.keys(AUTH_CHANGE_BODIES) as AuthChangeType[]);

/**
 * What a change returns (JSON-safe: it travels back from Raft's apply to the proposer):
 * the id of a created account or session, the ids of sessions a change removed.
 */
export interface AuthChangeResult {
  readonly id?: string;
  readonly removedSessionIds?: readonly string[];
}

/** Why a change was refused. `code` is stable; the Redfish layer chooses the message from it. */
export type AuthRuleCode =
  | "invalid-change"
  | "user-name-taken"
  | "accounts-full"
  | "no-such-account"
  | "last-administrator"
  | "already-bootstrapped"
  | "account-disabled"
  | "no-such-session"
  | "session-exists"
  | "sessions-full"
  | "password-length-conflict";

export const AUTH_RULE_CODES: readonly AuthRuleCode[] = Object.freeze([
  "invalid-change",
  "user-name-taken",
  "accounts-full",
  "no-such-account",
  "last-administrator",
  "already-bootstrapped",
  "account-disabled",
  "no-such-session",
  "session-exists",
  "sessions-full",
  "password-length-conflict",
]);

/** A change the rules refuse. Thrown before anything changed. */
export class AuthRuleViolation extends Error {
  readonly code: AuthRuleCode;

  constructor(code: AuthRuleCode, message: string) {
    super(message);
    this.name = "AuthRuleViolation";
    this.code = code;
  }
}

// ---------------------------------------------------------------- expiry

/**
 * How often the PoC commits a session's use: a quarter of the timeout (7.5 s at the 30 s
 * minimum, 450 s at the 1,800 s default). A session used all along is therefore committed
 * as used at most this long before its real last use, whatever PoC served it.
 */
export function sessionTouchIntervalMs(settings: AuthSettings): number {
  return Math.floor((settings.sessionTimeoutSeconds * 1000) / 4);
}

/**
 * When a session expires as far as the replicated state can tell. The real last use is at
 * most one touch interval after the committed `lastUsedAtMs` (a use later than that would
 * have committed a touch), so a session whose committed use is older than timeout + interval
 * is certainly idle for longer than the timeout. A PoC that saw the session's uses itself
 * knows better and applies the exact timeout (session-activity.ts); a new PoC after a
 * failover uses this bound, so a session lives at most one interval longer than it would have.
 */
export function sessionExpiresAtMs(session: SessionRecord, settings: AuthSettings): number {
  return session.lastUsedAtMs + settings.sessionTimeoutSeconds * 1000 + sessionTouchIntervalMs(settings);
}

// ---------------------------------------------------------------- the state

/** The read side every store offers; records are frozen. */
export interface AuthStateView {
  settings(): AuthSettings;
  /** By id, ascending numerically. */
  accounts(): readonly AccountRecord[];
  account(id: string): AccountRecord | undefined;
  accountByUserName(userName: string): AccountRecord | undefined;
  /** By creation time, then id. */
  sessions(): readonly SessionRecord[];
  session(id: string): SessionRecord | undefined;
  sessionByTokenHash(tokenHash: string): SessionRecord | undefined;
}

const SNAPSHOT_SCHEMA = Type.Object(
  {
    settings: Type.Object(
      { sessionTimeoutSeconds: SessionTimeout, minPasswordLength: PasswordLength, maxPasswordLength: PasswordLength },
      closed,
    ),
    nextAccountNumber: Type.Integer({ minimum: 1, maximum: 999_999_999 }),
    accounts: Type.Array(
      Type.Object(
        {
          id: AccountId,
          userName: UserName,
          roleId: Role,
          enabled: Type.Boolean(),
          passwordHash: PasswordHash,
          createdAtMs: TimeMs,
          passwordChangedAtMs: TimeMs,
        },
        closed,
      ),
      { maxItems: ACCOUNTS_MAX },
    ),
    sessions: Type.Array(
      Type.Object(
        {
          id: SessionId,
          accountId: AccountId,
          tokenHash: TokenHash,
          createdAtMs: TimeMs,
          lastUsedAtMs: TimeMs,
          clientOrigin: Type.Union([Type.String({ maxLength: CLIENT_ORIGIN_MAX_CHARS }), Type.Null()]),
          context: Type.Union([Type.String({ maxLength: SESSION_CONTEXT_MAX_CHARS }), Type.Null()]),
        },
        closed,
      ),
      { maxItems: SESSIONS_MAX },
    ),
  },
  closed,
);

/** The snapshot form: canonical-JSON-ready, records sorted by id. */
export type AuthStateSnapshot = Static<typeof SNAPSHOT_SCHEMA>;

export class AuthState implements AuthStateView {
  #settings: AuthSettings = DEFAULT_AUTH_SETTINGS;
  #nextAccountNumber = 1;
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #accountsByUserName = new Map<string, AccountRecord>();
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #sessionsByTokenHash = new Map<string, SessionRecord>();

  // ---------------------------------------------------------------- reading

  settings(): AuthSettings {
    return this.#settings;
  }

  accounts(): readonly AccountRecord[] {
    return [...this.#accounts.values()].sort((a, b) => Number(a.id) - Number(b.id));
  }

  account(id: string): AccountRecord | undefined {
    return this.#accounts.get(id);
  }

  accountByUserName(userName: string): AccountRecord | undefined {
    return this.#accountsByUserName.get(userName);
  }

  sessions(): readonly SessionRecord[] {
    return [...this.#sessions.values()].sort(bySessionAge);
  }

  session(id: string): SessionRecord | undefined {
    return this.#sessions.get(id);
  }

  sessionByTokenHash(tokenHash: string): SessionRecord | undefined {
    return this.#sessionsByTokenHash.get(tokenHash);
  }

  // ---------------------------------------------------------------- changing

  /** Applies one change or throws AuthRuleViolation having changed nothing. */
  apply(change: AuthChange): AuthChangeResult {
    const schema: TSchema | undefined = AUTH_CHANGE_BODIES[change.type];
    if (schema === undefined || !Value.Check(schema, change.body)) {
      throw new AuthRuleViolation("invalid-change", `${String(change.type)}: the body does not match its schema`);
    }
    switch (change.type) {
      case "account.bootstrap":
        return this.#bootstrap(change.body);
      case "account.create":
        return this.#createAccount(change.body);
      case "account.update":
        return this.#updateAccount(change.body);
      case "account.delete":
        return this.#deleteAccount(change.body.id);
      case "session.create":
        return this.#createSession(change.body);
      case "session.delete":
        return this.#deleteSession(change.body.id);
      case "session.touch":
        return this.#touchSession(change.body);
      case "auth.settings":
        return this.#changeSettings(change.body);
    }
  }

  #bootstrap(body: AuthChangeBody<"account.bootstrap">): AuthChangeResult {
    if (this.#accounts.size > 0) {
      throw new AuthRuleViolation("already-bootstrapped", "the cluster already has accounts");
    }
    return this.#createAccount({ ...body, roleId: "Administrator", enabled: true });
  }

  #createAccount(body: AuthChangeBody<"account.create">): AuthChangeResult {
    checkHash(body.passwordHash);
    if (this.#accountsByUserName.has(body.userName)) {
      throw new AuthRuleViolation("user-name-taken", `an account named ${body.userName} exists`);
    }
    if (this.#accounts.size >= ACCOUNTS_MAX) {
      throw new AuthRuleViolation("accounts-full", `the cluster holds ${ACCOUNTS_MAX} accounts (ACCOUNTS_MAX)`);
    }
    const account: AccountRecord = Object.freeze({
      id: String(this.#nextAccountNumber),
      userName: body.userName,
      roleId: body.roleId,
      enabled: body.enabled,
      passwordHash: body.passwordHash,
      createdAtMs: body.atMs,
      passwordChangedAtMs: body.atMs,
    });
    this.#nextAccountNumber++;
    this.#putAccount(account);
    return { id: account.id };
  }

  #updateAccount(body: AuthChangeBody<"account.update">): AuthChangeResult {
    const existing = this.#requireAccount(body.id);
    if (body.passwordHash !== undefined) checkHash(body.passwordHash);
    if (body.userName !== undefined && body.userName !== existing.userName) {
      if (this.#accountsByUserName.has(body.userName)) {
        throw new AuthRuleViolation("user-name-taken", `an account named ${body.userName} exists`);
      }
    }
    const updated: AccountRecord = Object.freeze({
      ...existing,
      userName: body.userName ?? existing.userName,
      roleId: body.roleId ?? existing.roleId,
      enabled: body.enabled ?? existing.enabled,
      passwordHash: body.passwordHash ?? existing.passwordHash,
      passwordChangedAtMs: body.passwordHash === undefined ? existing.passwordChangedAtMs : body.atMs,
    });
    if (isActiveAdministrator(existing) && !isActiveAdministrator(updated)) this.#keepOneAdministrator(existing);
    this.#accountsByUserName.delete(existing.userName);
    this.#putAccount(updated);
    // A disabled account's sessions end with it; a new role applies to open sessions at once
    // (privileges are looked up per request).
    const removedSessionIds = updated.enabled ? [] : this.#dropSessionsOf(updated.id);
    return { removedSessionIds };
  }

  #deleteAccount(id: string): AuthChangeResult {
    const existing = this.#requireAccount(id);
    if (isActiveAdministrator(existing)) this.#keepOneAdministrator(existing);
    this.#accounts.delete(id);
    this.#accountsByUserName.delete(existing.userName);
    return { removedSessionIds: this.#dropSessionsOf(id) };
  }

  #createSession(body: AuthChangeBody<"session.create">): AuthChangeResult {
    const account = this.#requireAccount(body.accountId);
    if (!account.enabled) throw new AuthRuleViolation("account-disabled", `account ${account.id} is disabled`);
    if (this.#sessions.has(body.id)) throw new AuthRuleViolation("session-exists", `session ${body.id} exists`);
    if (this.#sessionsByTokenHash.has(body.tokenHash)) {
      throw new AuthRuleViolation("session-exists", "a session with this token exists");
    }
    // Expired sessions (by the state's bound, at the time the change carries) go first.
    const expired = this.sessions().filter((session) => sessionExpiresAtMs(session, this.#settings) < body.atMs);
    const remaining = this.#sessions.size - expired.length;
    const ownRemaining = this.sessions().filter(
      (session) => session.accountId === account.id && !expired.includes(session),
    ).length;
    if (remaining >= SESSIONS_MAX) {
      throw new AuthRuleViolation("sessions-full", `${SESSIONS_MAX} sessions are open (SESSIONS_MAX)`);
    }
    if (ownRemaining >= SESSIONS_PER_ACCOUNT_MAX) {
      throw new AuthRuleViolation(
        "sessions-full",
        `account ${account.id} has ${SESSIONS_PER_ACCOUNT_MAX} sessions open (SESSIONS_PER_ACCOUNT_MAX)`,
      );
    }
    for (const session of expired) this.#removeSession(session);
    this.#putSession(
      Object.freeze({
        id: body.id,
        accountId: account.id,
        tokenHash: body.tokenHash,
        createdAtMs: body.atMs,
        lastUsedAtMs: body.atMs,
        clientOrigin: body.clientOrigin,
        context: body.context,
      }),
    );
    return { id: body.id, removedSessionIds: expired.map((session) => session.id) };
  }

  #deleteSession(id: string): AuthChangeResult {
    const session = this.#sessions.get(id);
    if (session === undefined) throw new AuthRuleViolation("no-such-session", `no session ${id}`);
    this.#removeSession(session);
    return { removedSessionIds: [id] };
  }

  #touchSession(body: AuthChangeBody<"session.touch">): AuthChangeResult {
    const session = this.#sessions.get(body.id);
    if (session === undefined) throw new AuthRuleViolation("no-such-session", `no session ${body.id}`);
    if (body.lastUsedAtMs > session.lastUsedAtMs) {
      this.#putSession(Object.freeze({ ...session, lastUsedAtMs: body.lastUsedAtMs }));
    }
    return {};
  }

  #changeSettings(body: AuthChangeBody<"auth.settings">): AuthChangeResult {
    const next: AuthSettings = Object.freeze({
      sessionTimeoutSeconds: body.sessionTimeoutSeconds ?? this.#settings.sessionTimeoutSeconds,
      minPasswordLength: body.minPasswordLength ?? this.#settings.minPasswordLength,
      maxPasswordLength: body.maxPasswordLength ?? this.#settings.maxPasswordLength,
    });
    if (next.minPasswordLength > next.maxPasswordLength) {
      throw new AuthRuleViolation(
        "password-length-conflict",
        `MinPasswordLength ${next.minPasswordLength} would exceed MaxPasswordLength ${next.maxPasswordLength}`,
      );
    }
    this.#settings = next;
    return {};
  }

  #requireAccount(id: string): AccountRecord {
    const account = this.#accounts.get(id);
    if (account === undefined) throw new AuthRuleViolation("no-such-account", `no account ${id}`);
    return account;
  }

  /** Refuses a change that would leave no enabled Administrator (nobody could manage users again). */
  #keepOneAdministrator(changing: AccountRecord): void {
    const others = [...this.#accounts.values()].filter(
      (account) => account.id !== changing.id && isActiveAdministrator(account),
    );
    if (others.length === 0) {
      throw new AuthRuleViolation(
        "last-administrator",
        `account ${changing.id} (${changing.userName}) is the last enabled Administrator`,
      );
    }
  }

  #putAccount(account: AccountRecord): void {
    this.#accounts.set(account.id, account);
    this.#accountsByUserName.set(account.userName, account);
  }

  #putSession(session: SessionRecord): void {
    this.#sessions.set(session.id, session);
    this.#sessionsByTokenHash.set(session.tokenHash, session);
  }

  #removeSession(session: SessionRecord): void {
    this.#sessions.delete(session.id);
    this.#sessionsByTokenHash.delete(session.tokenHash);
  }

  #dropSessionsOf(accountId: string): string[] {
    const dropped = this.sessions().filter((session) => session.accountId === accountId);
    for (const session of dropped) this.#removeSession(session);
    return dropped.map((session) => session.id);
  }

  // ---------------------------------------------------------------- snapshots

  toSnapshot(): AuthStateSnapshot {
    return {
      settings: { ...this.#settings },
      nextAccountNumber: this.#nextAccountNumber,
      accounts: this.accounts().map((account) => ({ ...account })),
      sessions: [...this.#sessions.values()]
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((session) => ({ ...session })),
    };
  }

  /** Strict: throws a TypeError naming the first problem. */
  static fromSnapshot(data: unknown): AuthState {
    if (!Value.Check(SNAPSHOT_SCHEMA, data)) {
      const first = [...Value.Errors(SNAPSHOT_SCHEMA, data)][0];
      throw new TypeError(`auth state: ${first ? `${first.instancePath || "(root)"} ${first.message}` : "invalid"}`);
    }
    const state = new AuthState();
    if (data.settings.minPasswordLength > data.settings.maxPasswordLength) {
      throw new TypeError("auth state: minPasswordLength exceeds maxPasswordLength");
    }
    state.#settings = Object.freeze({ ...data.settings });
    state.#nextAccountNumber = data.nextAccountNumber;
    for (const account of data.accounts) {
      if (state.#accounts.has(account.id) || state.#accountsByUserName.has(account.userName)) {
        throw new TypeError(`auth state: account ${account.id} (${account.userName}) appears twice`);
      }
      if (Number(account.id) >= data.nextAccountNumber) {
        throw new TypeError(`auth state: account ${account.id} is not below nextAccountNumber`);
      }
      state.#putAccount(Object.freeze({ ...account }));
    }
    for (const session of data.sessions) {
      if (state.#sessions.has(session.id) || state.#sessionsByTokenHash.has(session.tokenHash)) {
        throw new TypeError(`auth state: session ${session.id} appears twice`);
      }
      if (!state.#accounts.has(session.accountId)) {
        throw new TypeError(`auth state: session ${session.id} belongs to no account`);
      }
      state.#putSession(Object.freeze({ ...session }));
    }
    return state;
  }
}

export function isActiveAdministrator(account: AccountRecord): boolean {
  return account.enabled && account.roleId === "Administrator";
}

function checkHash(hash: string): void {
  if (!isPasswordHash(hash))
    throw new AuthRuleViolation("invalid-change", "the password hash is not a scrypt PHC string");
}

function bySessionAge(a: SessionRecord, b: SessionRecord): number {
  return a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
