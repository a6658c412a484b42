// Accounts, sessions and authentication: X-Auth-Token sessions (POST Sessions) and Basic auth,
// with roles deciding who may change what. Passwords live here only, never in a resource.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { baseMessage, RedfishError } from "./errors.ts";
import type { AccountOptions } from "./options.ts";
import { isObject, type Resource, type ResourceStore } from "./store.ts";

export const SESSION_SERVICE_URI = "/redfish/v1/SessionService";
export const SESSIONS_URI = "/redfish/v1/SessionService/Sessions";
export const ACCOUNTS_URI = "/redfish/v1/AccountService/Accounts";

export type RoleId = AccountOptions["roleId"];

export interface Principal {
  userName: string;
  roleId: RoleId;
  /** Set when the request came with an X-Auth-Token. */
  sessionId?: string;
}

interface Session {
  id: string;
  token: Buffer;
  userName: string;
  roleId: RoleId;
  lastUsedMs: number;
}

function sameSecret(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class AuthService {
  private readonly passwords = new Map<string, Buffer>();
  private readonly roles = new Map<string, RoleId>();
  private readonly sessions = new Map<string, Session>();
  private readonly store: ResourceStore;
  private readonly maxSessions: number;
  private readonly nowMs: () => number;

  constructor(
    store: ResourceStore,
    accounts: readonly AccountOptions[],
    maxSessions: number,
    nowMs: () => number = Date.now,
  ) {
    this.store = store;
    this.maxSessions = maxSessions;
    this.nowMs = nowMs;
    for (const account of accounts) {
      this.passwords.set(account.userName, Buffer.from(account.password));
      this.roles.set(account.userName, account.roleId);
    }
  }

  accountNames(): string[] {
    return [...this.roles.keys()];
  }

  roleOf(userName: string): RoleId | undefined {
    return this.roles.get(userName);
  }

  setPassword(userName: string, password: string): void {
    this.passwords.set(userName, Buffer.from(password));
  }

  setRole(userName: string, roleId: RoleId): void {
    this.roles.set(userName, roleId);
  }

  private accountEnabled(userName: string): boolean {
    for (const uri of this.store.members(ACCOUNTS_URI)) {
      const account = this.store.peek(uri);
      if (account?.UserName === userName) return account.Enabled !== false && account.Locked !== true;
    }
    return true;
  }

  checkPassword(userName: string, password: string): RoleId | undefined {
    const expected = this.passwords.get(userName);
    if (expected === undefined || !sameSecret(expected, Buffer.from(password))) return undefined;
    if (!this.accountEnabled(userName)) return undefined;
    return this.roles.get(userName);
  }

  private timeoutMs(): number {
    const timeout = this.store.peek(SESSION_SERVICE_URI)?.SessionTimeout;
    return (typeof timeout === "number" ? timeout : 1800) * 1000;
  }

  private expireIdle(): void {
    const cutoff = this.nowMs() - this.timeoutMs();
    for (const session of [...this.sessions.values()]) if (session.lastUsedMs < cutoff) this.remove(session.id);
  }

  /** Authenticates by X-Auth-Token first, then Basic; undefined when neither is valid. */
  authenticate(headers: Record<string, string | string[] | undefined>): Principal | undefined {
    const token = headers["x-auth-token"];
    if (typeof token === "string" && token !== "") {
      this.expireIdle();
      const given = Buffer.from(token);
      for (const session of this.sessions.values()) {
        if (sameSecret(session.token, given)) {
          session.lastUsedMs = this.nowMs();
          return { userName: session.userName, roleId: session.roleId, sessionId: session.id };
        }
      }
      return undefined;
    }
    const authorization = headers.authorization;
    if (typeof authorization === "string" && /^basic /i.test(authorization)) {
      const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) return undefined;
      const userName = decoded.slice(0, colon);
      const roleId = this.checkPassword(userName, decoded.slice(colon + 1));
      return roleId === undefined ? undefined : { userName, roleId };
    }
    return undefined;
  }

  /** Logs in; the token is returned once and is never part of any resource. */
  createSession(userName: string, password: string): { id: string; uri: string; token: string; resource: Resource } {
    const roleId = this.checkPassword(userName, password);
    if (roleId === undefined) {
      throw new RedfishError(401, [baseMessage("NoValidSession")], { "WWW-Authenticate": 'Basic realm="Redfish"' });
    }
    this.expireIdle();
    if (this.sessions.size >= this.maxSessions) throw new RedfishError(503, [baseMessage("SessionLimitExceeded")]);
    const id = randomBytes(8).toString("hex");
    const token = randomBytes(24).toString("base64url");
    this.sessions.set(id, { id, token: Buffer.from(token), userName, roleId, lastUsedMs: this.nowMs() });
    const uri = `${SESSIONS_URI}/${id}`;
    const resource: Resource = {
      "@odata.type": "#Session.v1_8_0.Session",
      "@odata.id": uri,
      Id: id,
      Name: "User Session",
      Description: "Manager User Session",
      UserName: userName,
      Password: null,
      SessionType: "Redfish",
      CreatedTime: new Date(this.nowMs()).toISOString(),
    };
    this.store.put(resource);
    this.store.addMember(SESSIONS_URI, uri);
    return { id, uri, token, resource };
  }

  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  sessionOwner(id: string): string | undefined {
    return this.sessions.get(id)?.userName;
  }

  remove(id: string): boolean {
    const existed = this.sessions.delete(id);
    const uri = `${SESSIONS_URI}/${id}`;
    this.store.delete(uri);
    this.store.removeMember(SESSIONS_URI, uri);
    return existed;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}

/**
 * Whether a role may perform a request, after the Redfish privilege registry's broad lines:
 * ReadOnly reads (and logs itself out), Operator also acts on hardware, Administrator does all.
 */
export function mayPerform(principal: Principal, method: string, uri: string): boolean {
  if (method === "GET" || method === "HEAD") return true;
  if (principal.roleId === "Administrator") return true;
  if (method === "DELETE" && principal.sessionId !== undefined && uri === `${SESSIONS_URI}/${principal.sessionId}`) {
    return true;
  }
  if (principal.roleId === "ReadOnly") return false;
  // Operator: ConfigureComponents, not ConfigureUsers or ConfigureManager.
  return !uri.startsWith("/redfish/v1/AccountService") && !uri.startsWith("/redfish/v1/Managers");
}

export function accountUriFor(store: ResourceStore, userName: string): string | undefined {
  return store.members(ACCOUNTS_URI).find((uri) => {
    const account = store.peek(uri);
    return isObject(account) && account.UserName === userName;
  });
}
