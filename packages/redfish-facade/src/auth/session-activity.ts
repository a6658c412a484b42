// When each session was last used, as this PoC saw it, and the bounded rate at which that use
// is committed to the replicated state.
//
// Committing every request would put a Raft entry (a disk sync on a quorum of BMCs) behind
// every GET. Instead the PoC keeps each session's last use in memory and commits a
// `session.touch` only when the committed use is at least one touch interval (a quarter of
// SessionTimeout) old. Per session that is at most 4 commits per SessionTimeout, whatever the
// request rate: with SESSIONS_MAX = 64 sessions at the 30 s minimum timeout, at most
// 64 x 4 / 30 ≈ 8.5 entries/s; at the 1,800 s default, 0.14/s.
//
// Failover: a new PoC has no memory of uses, only the committed one, which is at most one
// interval older than the real last use (a later use would have committed a touch). So the
// state's bound, committed + timeout + interval (sessionExpiresAtMs), never ends a session
// that was in use: a session used within its timeout survives the failover, and an idle one
// lives at most a quarter timeout longer than it would have on the old PoC.

import { SESSIONS_MAX } from "./auth-limits.ts";
import { type AuthSettings, type SessionRecord, sessionExpiresAtMs, sessionTouchIntervalMs } from "./auth-state.ts";
import type { AuthStore } from "./auth-store.ts";

/** Remembered uses beyond this are pruned to the sessions the state still holds. */
const REMEMBERED_USES_MAX = SESSIONS_MAX * 2;

export interface SessionActivityInit {
  readonly store: AuthStore;
  readonly now: () => number;
  /** Told when a touch could not be committed (it is retried on the next use). */
  readonly onTouchFailed?: (sessionId: string, error: unknown) => void;
}

export class SessionActivity {
  readonly #store: AuthStore;
  readonly #now: () => number;
  readonly #onTouchFailed: (sessionId: string, error: unknown) => void;
  readonly #lastUseMs = new Map<string, number>();
  readonly #touching = new Set<string>();

  constructor(init: SessionActivityInit) {
    this.#store = init.store;
    this.#now = init.now;
    this.#onTouchFailed = init.onTouchFailed ?? (() => {});
  }

  /** When the session expires: exact if this PoC saw its uses, else the state's bound. */
  expiresAtMs(session: SessionRecord, settings: AuthSettings): number {
    const seen = this.#lastUseMs.get(session.id);
    // A committed use newer than ours means another PoC served the session meanwhile (leadership
    // moved away and back): its uses are known only through the state's bound.
    if (seen !== undefined && seen >= session.lastUsedAtMs) return seen + settings.sessionTimeoutSeconds * 1000;
    return sessionExpiresAtMs(session, settings);
  }

  isLive(session: SessionRecord, settings: AuthSettings): boolean {
    return this.#now() <= this.expiresAtMs(session, settings);
  }

  /** A session was just created here: its use is known exactly from now on. */
  created(session: SessionRecord): void {
    this.#remember(session.id, session.lastUsedAtMs);
  }

  /** A request used the session: remember it and commit a touch if the committed use is an interval old. */
  used(session: SessionRecord, settings: AuthSettings): void {
    const now = this.#now();
    this.#remember(session.id, now);
    if (now - session.lastUsedAtMs < sessionTouchIntervalMs(settings) || this.#touching.has(session.id)) return;
    this.#touching.add(session.id);
    this.#store
      .commit({ type: "session.touch", body: { id: session.id, lastUsedAtMs: Math.floor(now) } })
      .catch((error: unknown) => this.#onTouchFailed(session.id, error))
      .finally(() => this.#touching.delete(session.id));
  }

  forget(sessionId: string): void {
    this.#lastUseMs.delete(sessionId);
  }

  #remember(sessionId: string, atMs: number): void {
    this.#lastUseMs.set(sessionId, Math.max(atMs, this.#lastUseMs.get(sessionId) ?? 0));
    if (this.#lastUseMs.size > REMEMBERED_USES_MAX) {
      for (const id of this.#lastUseMs.keys()) if (this.#store.session(id) === undefined) this.#lastUseMs.delete(id);
    }
  }
}
