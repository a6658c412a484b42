// Every timeout and limit of the facade, named and bounded. Timeouts are options (tests and slow
// BMCs need other values); limits are constants a request cannot exceed.

export interface FacadeTimeouts {
  /** Deadline for one GET forwarded to a member's BMC; past it the member counts as missing. */
  readonly memberReadTimeoutMs: number;
  /** Deadline for one PATCH/POST/DELETE forwarded to a member (actions can be slow on a BMC). */
  readonly memberWriteTimeoutMs: number;
  /** How long a member's answer to a GET is reused before the member is asked again. */
  readonly memberCacheTtlMs: number;
  /** How long what a member serves at its root (its collections) is trusted before it is rediscovered. */
  readonly discoveryTtlMs: number;
  /**
   * How long a merged answer (a collection, the service root) waits for a member it has nothing
   * cached from; past it the member is named missing and its read goes on, so a later request
   * includes it. A node that just took over answers the console's first polls in bounded time even
   * when some members were never read (a BMC that rebooted, a standby whose warm-up had not
   * finished). Root maps and collections are waited for in turn: at most twice this in all.
   */
  readonly collectionWaitMs: number;
}

export const DEFAULT_FACADE_TIMEOUTS: FacadeTimeouts = Object.freeze({
  memberReadTimeoutMs: 3_000,
  memberWriteTimeoutMs: 30_000,
  memberCacheTtlMs: 2_000,
  discoveryTtlMs: 30_000,
  collectionWaitMs: 250,
});

/** Bounds each timeout option must fall in (a zero TTL turns caching off). */
export const FACADE_TIMEOUT_BOUNDS: Readonly<Record<keyof FacadeTimeouts, readonly [number, number]>> = Object.freeze({
  memberReadTimeoutMs: [10, 120_000],
  memberWriteTimeoutMs: [10, 600_000],
  memberCacheTtlMs: [0, 60_000],
  discoveryTtlMs: [0, 3_600_000],
  collectionWaitMs: [10, 120_000],
});

/**
 * The facade's own timer on top of a forward's `timeoutMs`: the agent's forward is trusted to
 * honour its deadline, and this grace bounds the wait even if it does not.
 */
export const FORWARD_DEADLINE_GRACE_MS = 250;
/** Retry-After (seconds) on 503 answers: no quorum, no cluster UUID yet, member unreachable. */
export const RETRY_AFTER_SECONDS = 5;
/** Largest request body the facade reads (413 PayloadTooLarge beyond). */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
/**
 * Requests to one member in flight at once. Beyond it the facade answers 503 at once: a console
 * asking a hung BMC for many different URIs cannot pile up waiting requests without bound.
 */
export const MAX_FORWARDS_IN_FLIGHT_PER_MEMBER = 64;
/**
 * Members a warm-up reads at once. A new PoC read all 32 members of a rack at once (about a
 * hundred reads, on its own event loop and every member's CPU) a second after it took over, and
 * on a 2-core simulated rack that was when new PoCs lost their lease and dropped the VIP.
 */
export const WARM_UP_MEMBERS_IN_PARALLEL = 4;
/**
 * How many members are read again at once for a stale-while-revalidate (a cached answer past its
 * TTL, served while it is read again), one read each; the other reads wait their turn. A console
 * polling an aggregated collection made every member's answer expire together: at 32 BMCs that
 * was 32 reads at once, every 2 s and at the very first request a new PoC served.
 */
export const BACKGROUND_REFRESHES_IN_PARALLEL = 4;
/** Background reads waiting for a turn; past it, a stale answer is read again at the next request instead. */
export const BACKGROUND_REFRESH_QUEUE_MAX = 1_024;
/** Largest member answer the facade accepts; a larger one counts as a failed member read. */
export const MAX_UPSTREAM_BODY_BYTES = 16 * 1024 * 1024;
/** Longest request path (400 beyond), and most segments in it. */
export const MAX_PATH_BYTES = 2_048;
export const MAX_PATH_SEGMENTS = 32;
/** Longest query string (400 beyond). */
export const MAX_QUERY_BYTES = 2_048;
/** Member answers kept in the cache; the least recently used go first beyond it. */
export const MAX_CACHED_MEMBER_ANSWERS = 8_192;
/** Resources one `$expand` may pull in; beyond it the request is refused (400 QueryParameterOutOfRange). */
export const MAX_EXPANDED_RESOURCES = 1_024;
/** `$levels` the facade expands to (ProtocolFeaturesSupported.ExpandQuery.MaxLevels). */
export const MAX_EXPAND_LEVELS = 1;
/** Properties one `$select` may name. */
export const MAX_SELECT_PROPERTIES = 64;
