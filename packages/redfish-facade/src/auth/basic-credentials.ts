// Checking passwords: HTTP Basic on any request, and the UserName/Password of a session login.
//
// scrypt is meant to be slow (password-hash.ts), and Basic auth sends the password with every
// request, so a credential verified once is remembered for BASIC_AUTH_REMEMBER_MS, keyed by an
// HMAC of the header under a key drawn at start (the password is not kept, and the key never
// leaves the process). A remembered credential counts only while the account still has the
// same password hash and is enabled. At most PASSWORD_CHECKS_CONCURRENT_MAX scrypt runs (checks
// and the hashing of new passwords alike) happen at once (16 MiB each) and at most
// PASSWORD_CHECKS_QUEUED_MAX wait; beyond that the request is answered 503 rather than queued
// without bound.
import { createHmac, randomBytes } from "node:crypto";
import type { AccountRecord, AuthStateView } from "./auth-state.ts";
import { hashPassword, verifyPassword } from "./password-hash.ts";

export const BASIC_AUTH_REMEMBER_MS = 60_000;
export const BASIC_AUTH_REMEMBERED_MAX = 256;
export const PASSWORD_CHECKS_CONCURRENT_MAX = 2;
export const PASSWORD_CHECKS_QUEUED_MAX = 32;
/** Longest Authorization header read. */
export const AUTHORIZATION_HEADER_MAX_CHARS = 1024;

/** Too many password checks at once: answer 503 with Retry-After. */
export class PasswordChecksBusyError extends Error {
  constructor() {
    super(`more than ${PASSWORD_CHECKS_QUEUED_MAX} password checks are waiting`);
    this.name = "PasswordChecksBusyError";
  }
}

interface Remembered {
  readonly accountId: string;
  readonly passwordHash: string;
  readonly verifiedAtMs: number;
}

export class PasswordChecker {
  readonly #now: () => number;
  readonly #key = randomBytes(32);
  readonly #remembered = new Map<string, Remembered>();
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Checked against when the user does not exist, so a wrong name costs what a wrong password costs. */
  #decoyHash: Promise<string> | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The account whose enabled login `userName`/`password` is, or undefined. Throws PasswordChecksBusyError. */
  async check(view: AuthStateView, userName: string, password: string): Promise<AccountRecord | undefined> {
    const account = view.accountByUserName(userName);
    const hash = account?.passwordHash ?? (await this.#decoy());
    const matches = await this.#limited(() => verifyPassword(password, hash));
    return matches && account?.enabled === true ? account : undefined;
  }

  /** Hashes a new password under the same bound as checks (each scrypt run takes 16 MiB). Throws PasswordChecksBusyError. */
  hash(password: string): Promise<string> {
    return this.#limited(() => hashPassword(password));
  }

  /** Basic auth: the account for an `Authorization: Basic …` header, remembered briefly once verified. */
  async checkBasic(view: AuthStateView, header: string): Promise<AccountRecord | undefined> {
    const credentials = parseBasic(header);
    if (credentials === undefined) return undefined;
    const fingerprint = createHmac("sha256", this.#key).update(header).digest("base64url");
    const remembered = this.#remembered.get(fingerprint);
    if (remembered !== undefined && this.#now() - remembered.verifiedAtMs < BASIC_AUTH_REMEMBER_MS) {
      const account = view.account(remembered.accountId);
      if (account?.enabled && account.passwordHash === remembered.passwordHash) return account;
    }
    this.#remembered.delete(fingerprint);
    const account = await this.check(view, credentials.userName, credentials.password);
    if (account !== undefined) {
      if (this.#remembered.size >= BASIC_AUTH_REMEMBERED_MAX) {
        const oldest = this.#remembered.keys().next().value;
        if (oldest !== undefined) this.#remembered.delete(oldest);
      }
      this.#remembered.set(fingerprint, {
        accountId: account.id,
        passwordHash: account.passwordHash,
        verifiedAtMs: this.#now(),
      });
    }
    return account;
  }

  #decoy(): Promise<string> {
    this.#decoyHash ??= hashPassword(randomBytes(16).toString("hex"));
    return this.#decoyHash;
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= PASSWORD_CHECKS_CONCURRENT_MAX) {
      if (this.#waiting.length >= PASSWORD_CHECKS_QUEUED_MAX) throw new PasswordChecksBusyError();
      // The finishing check hands its slot straight to the first waiter.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}

/** `Basic base64(user:password)` (RFC 7617), or undefined when the header is not that. */
export function parseBasic(header: string): { userName: string; password: string } | undefined {
  if (header.length > AUTHORIZATION_HEADER_MAX_CHARS) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { userName: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
