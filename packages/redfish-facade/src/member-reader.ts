// Reading from members: every request to a member goes through here, with the loop-guard header,
// a deadline the facade enforces itself, and (for GETs) a short-lived cache with single flight,
// so a console polling an aggregated collection does not reach every BMC on every poll.

import {
  type FacadeCluster,
  type FacadeMember,
  UpstreamError,
  type UpstreamFailureKind,
  type UpstreamRequest,
  type UpstreamResponse,
} from "./facade-cluster.ts";
import {
  BACKGROUND_REFRESH_QUEUE_MAX,
  BACKGROUND_REFRESHES_IN_PARALLEL,
  type FacadeTimeouts,
  FORWARD_DEADLINE_GRACE_MS,
  MAX_CACHED_MEMBER_ANSWERS,
  MAX_FORWARDS_IN_FLIGHT_PER_MEMBER,
  MAX_UPSTREAM_BODY_BYTES,
} from "./facade-limits.ts";
import { FACADE_MARKER_HEADER, FACADE_MARKER_VALUE } from "./loop-guard.ts";

/**
 * Why a member gave no usable answer. `bad-answer`: a 5xx, or a body that is not JSON or too
 * large; `busy`: MAX_FORWARDS_IN_FLIGHT_PER_MEMBER requests to it are already waiting.
 */
export type MissingReason = UpstreamFailureKind | "bad-answer" | "busy";

/** The member already has MAX_FORWARDS_IN_FLIGHT_PER_MEMBER requests in flight. */
export class MemberBusyError extends Error {
  readonly code = "FACADE_ERR_MEMBER_BUSY";
  readonly memberId: string;
  constructor(memberId: string, memberName: string) {
    super(`${memberName} already has ${MAX_FORWARDS_IN_FLIGHT_PER_MEMBER} requests in flight`);
    this.name = "MemberBusyError";
    this.memberId = memberId;
  }
}

export interface MemberAnswer {
  readonly kind: "answer";
  readonly statusCode: number;
  readonly headers: UpstreamResponse["headers"];
  /** The parsed body, undefined when there is none. */
  readonly json: unknown;
  readonly etag: string | undefined;
  readonly fetchedAtMs: number;
  /** Derived views of this answer (e.g. the rewritten body), computed once per answer. */
  readonly memo: Map<string, unknown>;
}

export interface MemberMissing {
  readonly kind: "missing";
  readonly reason: MissingReason;
  readonly memberId: string;
  readonly detail: string;
  /** A 5xx from the BMC: its status and its own Redfish messages, when it gave any. */
  readonly serverError?: { readonly statusCode: number; readonly messages: readonly unknown[] };
}

export type MemberRead = MemberAnswer | MemberMissing;

export function headerValue(headers: UpstreamResponse["headers"], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(", ");
}

export interface MemberReaderOptions {
  readonly cluster: FacadeCluster;
  readonly timeouts: FacadeTimeouts;
  /** A monotonic clock in ms (performance.now by default). */
  readonly nowMs?: () => number;
}

/** What a forward sends besides the caller's own headers: the loop guard and JSON. */
function baseHeaders(): Record<string, string> {
  return { [FACADE_MARKER_HEADER]: FACADE_MARKER_VALUE, accept: "application/json" };
}

export class MemberReader {
  private readonly cluster: FacadeCluster;
  private readonly timeouts: FacadeTimeouts;
  private readonly nowMs: () => number;
  /** Answers and failures alike: a member that failed is asked again only after the TTL too. */
  private readonly cache = new Map<string, { readonly read: MemberRead; readonly atMs: number }>();
  private readonly inFlight = new Map<string, Promise<MemberRead>>();
  private readonly forwardsInFlight = new Map<string, number>();
  /** Bumped by invalidate(): a read started before a write must not refill the cache with old state. */
  private readonly generation = new Map<string, number>();
  /** Members with a stale-while-revalidate read running now (one each; at most BACKGROUND_REFRESHES_IN_PARALLEL). */
  private readonly backgroundMembers = new Set<string>();
  /** Those waiting for a turn, by cache key (oldest first; at most BACKGROUND_REFRESH_QUEUE_MAX). */
  private readonly backgroundQueue = new Map<string, { readonly member: FacadeMember; readonly path: string }>();

  constructor(options: MemberReaderOptions) {
    this.cluster = options.cluster;
    this.timeouts = options.timeouts;
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  /**
   * One request to a member, bounded by `timeoutMs` plus a grace the facade enforces itself, and
   * by MAX_FORWARDS_IN_FLIGHT_PER_MEMBER (MemberBusyError beyond it).
   */
  async send(member: FacadeMember, request: UpstreamRequest): Promise<UpstreamResponse> {
    const inFlight = this.forwardsInFlight.get(member.id) ?? 0;
    if (inFlight >= MAX_FORWARDS_IN_FLIGHT_PER_MEMBER) throw new MemberBusyError(member.id, member.name);
    this.forwardsInFlight.set(member.id, inFlight + 1);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UpstreamError("timeout", member.id, `${member.name} did not answer within ${request.timeoutMs} ms`),
          ),
        request.timeoutMs + FORWARD_DEADLINE_GRACE_MS,
      );
    });
    try {
      return await Promise.race([
        this.cluster.forward(member.id, { ...request, headers: { ...request.headers, ...baseHeaders() } }),
        deadline,
      ]);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw new UpstreamError("unreachable", member.id, `forward to ${member.name} failed`, { cause: error });
    } finally {
      clearTimeout(timer);
      const left = (this.forwardsInFlight.get(member.id) ?? 1) - 1;
      if (left === 0) this.forwardsInFlight.delete(member.id);
      else this.forwardsInFlight.set(member.id, left);
    }
  }

  /**
   * A GET of `path` (unprefixed, on the member), from the cache while it is fresh; past the TTL,
   * the last answer while one refresh runs, for at most one read deadline more, or for
   * `staleForMs` when the caller allows longer (a root collection's list of links).
   */
  get(member: FacadeMember, path: string, options: { readonly staleForMs?: number } = {}): Promise<MemberRead> {
    // The cluster's word that a BMC is gone beats a cached answer from before it went.
    if (!member.hasBmc || !member.bmcReachable) return this.fetch(member, path);
    const key = `${member.id} ${path}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      const ageMs = this.nowMs() - cached.atMs;
      if (ageMs < this.timeouts.memberCacheTtlMs) return Promise.resolve(cached.read);
      // Stale while revalidating: one request refreshes, the others keep getting the last answer
      // for at most one read deadline more, so a cache expiry never stalls a console's polling.
      const staleForMs = Math.max(
        this.timeouts.memberCacheTtlMs + this.timeouts.memberReadTimeoutMs + FORWARD_DEADLINE_GRACE_MS,
        options.staleForMs ?? 0,
      );
      if (ageMs < staleForMs) {
        this.refreshInBackground(member, path, key);
        return Promise.resolve(cached.read);
      }
      this.cache.delete(key);
    }
    return this.refresh(member, path, key);
  }

  /**
   * A GET of `path` that waits for the member once the cached answer is past its TTL (the one
   * read in flight, which refills the cache), where `get` would answer from the stale one. For
   * reading ahead at a bounded pace: waiting is what bounds it.
   */
  getFresh(member: FacadeMember, path: string): Promise<MemberRead> {
    if (!member.hasBmc || !member.bmcReachable) return this.fetch(member, path);
    const key = `${member.id} ${path}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && this.nowMs() - cached.atMs < this.timeouts.memberCacheTtlMs) {
      return Promise.resolve(cached.read);
    }
    return this.refresh(member, path, key);
  }

  /**
   * Reads `path` again without anyone waiting: now if a turn is free, else once one is. One member
   * has one turn at most, so a member that stopped answering holds one turn until its read's
   * deadline, not all of them.
   */
  private refreshInBackground(member: FacadeMember, path: string, key: string): void {
    if (this.inFlight.has(this.flightKey(member, key)) || this.backgroundQueue.has(key)) return;
    if (this.backgroundMembers.size < BACKGROUND_REFRESHES_IN_PARALLEL && !this.backgroundMembers.has(member.id)) {
      this.backgroundMembers.add(member.id);
      const done = (): void => {
        this.backgroundMembers.delete(member.id);
        this.nextBackgroundRefresh();
      };
      this.refresh(member, path, key).then(done, done);
    } else if (this.backgroundQueue.size < BACKGROUND_REFRESH_QUEUE_MAX) {
      this.backgroundQueue.set(key, { member, path });
    }
  }

  private nextBackgroundRefresh(): void {
    for (const [key, { member, path }] of this.backgroundQueue) {
      if (this.backgroundMembers.size >= BACKGROUND_REFRESHES_IN_PARALLEL) return;
      if (this.backgroundMembers.has(member.id)) continue; // its turn is taken: it waits
      this.backgroundQueue.delete(key);
      // Read meanwhile by a request that could not wait (or dropped by invalidate): nothing to do.
      const cached = this.cache.get(key);
      if (cached === undefined || this.nowMs() - cached.atMs < this.timeouts.memberCacheTtlMs) continue;
      this.refreshInBackground(member, path, key);
    }
  }

  /** A read's key among those in flight: keyed by generation too, so a read started before a write is not handed to readers after it. */
  private flightKey(member: FacadeMember, key: string): string {
    return `${key} ${this.generation.get(member.id) ?? 0}`;
  }

  /** The one read of `path` in flight (started if there is none); its result refills the cache. */
  private refresh(member: FacadeMember, path: string, key: string): Promise<MemberRead> {
    const generation = this.generation.get(member.id) ?? 0;
    const flightKey = this.flightKey(member, key);
    const pending = this.inFlight.get(flightKey);
    if (pending !== undefined) return pending;
    const read = (async () => {
      try {
        const result = await this.fetch(member, path);
        if (this.timeouts.memberCacheTtlMs > 0 && (this.generation.get(member.id) ?? 0) === generation) {
          this.remember(key, result);
        }
        return result;
      } finally {
        this.inFlight.delete(flightKey);
      }
    })();
    this.inFlight.set(flightKey, read);
    return read;
  }

  /** The cache holds an answer (not a failure) from `member` for `path` stored less than `ms` ago. */
  answeredWithin(member: FacadeMember, path: string, ms: number): boolean {
    const cached = this.cache.get(`${member.id} ${path}`);
    return cached !== undefined && cached.read.kind === "answer" && this.nowMs() - cached.atMs < ms;
  }

  /** Forgets everything cached from a member (after a write to it, its state may have changed). */
  invalidate(memberId: string): void {
    this.generation.set(memberId, (this.generation.get(memberId) ?? 0) + 1);
    const prefix = `${memberId} `;
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) this.cache.delete(key);
  }

  private remember(key: string, read: MemberRead): void {
    // Re-inserted, so the eviction below (oldest first in Map order) drops the least recently stored.
    this.cache.delete(key);
    this.cache.set(key, { read, atMs: this.nowMs() });
    while (this.cache.size > MAX_CACHED_MEMBER_ANSWERS) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }

  private async fetch(member: FacadeMember, path: string): Promise<MemberRead> {
    if (!member.hasBmc) return { kind: "missing", reason: "unknown-member", memberId: member.id, detail: "no BMC" };
    if (!member.bmcReachable) {
      return {
        kind: "missing",
        reason: "unreachable",
        memberId: member.id,
        detail: `${member.name}'s BMC is unreachable`,
      };
    }
    let response: UpstreamResponse;
    try {
      response = await this.send(member, {
        method: "GET",
        path,
        headers: {},
        timeoutMs: this.timeouts.memberReadTimeoutMs,
      });
    } catch (error) {
      if (error instanceof MemberBusyError) {
        return { kind: "missing", reason: "busy", memberId: member.id, detail: error.message };
      }
      const upstream = error as UpstreamError;
      return { kind: "missing", reason: upstream.kind, memberId: member.id, detail: upstream.message };
    }
    return toAnswer(member, response, this.nowMs());
  }
}

/** UTF-8 size of a text, counted only when its length leaves any doubt (a char is 1 to 3 bytes). */
function utf8Bytes(text: string): number {
  return text.length * 3 <= MAX_UPSTREAM_BODY_BYTES ? text.length : Buffer.byteLength(text);
}

/** Bounded like any member answer: the messages of a Redfish error body, or none. */
function redfishMessagesIn(text: string): unknown[] {
  if (utf8Bytes(text) > MAX_UPSTREAM_BODY_BYTES) return [];
  try {
    const body = JSON.parse(text) as { error?: { "@Message.ExtendedInfo"?: unknown } };
    const messages = body?.error?.["@Message.ExtendedInfo"];
    return Array.isArray(messages)
      ? messages.filter((m) => typeof m === "object" && m !== null && "MessageId" in m)
      : [];
  } catch {
    return [];
  }
}

/** A member's HTTP answer, checked: a 5xx or an unreadable body is a missing answer. */
export function toAnswer(member: FacadeMember, response: UpstreamResponse, nowMs: number): MemberRead {
  if (response.statusCode >= 500) {
    return {
      kind: "missing",
      reason: "bad-answer",
      memberId: member.id,
      detail: `${member.name} answered ${response.statusCode}`,
      serverError: { statusCode: response.statusCode, messages: redfishMessagesIn(response.text) },
    };
  }
  if (utf8Bytes(response.text) > MAX_UPSTREAM_BODY_BYTES) {
    return { kind: "missing", reason: "bad-answer", memberId: member.id, detail: `${member.name} answered too much` };
  }
  let json: unknown;
  if (response.text.trim() !== "") {
    try {
      json = JSON.parse(response.text);
    } catch {
      return {
        kind: "missing",
        reason: "bad-answer",
        memberId: member.id,
        detail: `${member.name} answered ${response.statusCode} with a body that is not JSON`,
      };
    }
  }
  return {
    kind: "answer",
    statusCode: response.statusCode,
    headers: response.headers,
    json,
    etag: headerValue(response.headers, "etag"),
    fetchedAtMs: nowMs,
    memo: new Map(),
  };
}
