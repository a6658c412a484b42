// Timing profiles, resolved into the Raft core's tick settings in one place.

export type TimingProfile = "lan" | "fast";

export interface RaftTiming {
  readonly profile: TimingProfile;
  /** Real time between two calls of `RaftNode.tick()`. */
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  /** Learners get every n-th heartbeat round (see LEARNER_HEARTBEAT_ROUNDS). */
  readonly learnerHeartbeatRounds: number;
  /** Base election timeout T: each election waits a random time in [T, 2T) ticks. */
  readonly electionTicks: number;
  /** How long a leader's lease lasts after a quorum acknowledged it (leader's ticks). */
  readonly leaseTicks: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMinMs: number;
  /** Exclusive upper bound of the randomized election timeout. */
  readonly electionTimeoutMaxMs: number;
  readonly leaseMs: number;
  /**
   * Real time by which the lease ends before any follower can vote again, in the worst case
   * of tick phase (see `resolveTiming`). The daemon must treat a tick that arrives later than
   * this behind schedule as the loss of the lease: a stalled leader's ticks stretch its lease.
   */
  readonly leaseSafetyMarginMs: number;
}

/**
 * `lan`: ticks of 50 ms so that a 100 ms heartbeat is 2 ticks and the minimum election timeout
 * 500 ms is 10 ticks. `fast`: ticks of 20 ms (a 40 ms heartbeat) and elections from 8 ticks
 * (160 ms). VRRP at `advert_int 0.1` declares its master down after three missed adverts plus a
 * skew (300 to 400 ms of silence); `fast` waits for four to eight missed heartbeats, and the first
 * of four followers' timers in [160, 320) ms fires after 192 ms on average, which leaves the
 * election, the claim and the announcement inside what that VRRP takes to notice. Its lease
 * (5 ticks, 100 ms) keeps the 40 ms margin for stalls it had with elections from 10 ticks, and
 * outlives two heartbeat rounds.
 */
const PROFILE_TICKS: Readonly<Record<TimingProfile, { readonly tickMs: number; readonly electionTicks: number }>> =
  Object.freeze({
    lan: { tickMs: 50, electionTicks: 10 },
    fast: { tickMs: 20, electionTicks: 8 },
  });
const HEARTBEAT_TICKS = 2;
/**
 * Learners (every member past the five voters) get every second heartbeat round: at 32 BMCs that
 * halves the heartbeats the leader sends and the answers it handles. Twice the heartbeat interval
 * stays inside what the PoC calls silence (the minimum election timeout, at least twice as long),
 * so a learner never looks gone between two of its heartbeats.
 */
const LEARNER_HEARTBEAT_ROUNDS = 2;
/** A follower's first tick after it heard the leader may come at once: it can lose one tick of its timeout. */
const TICK_PHASE_TICKS = 1;

export const TIMING_PROFILES: readonly TimingProfile[] = Object.freeze(["lan", "fast"]);

/**
 * The lease arithmetic. A follower that hears the leader at real time t refuses to vote until it
 * has counted `electionTicks` ticks of its own; its first tick may fall just after t, so that is
 * at least (electionTicks - 1) x tickMs after t. The leader stamps each message with its tick at
 * send time s <= t and holds the lease until `leaseTicks` more of its own ticks have passed:
 * at most leaseTicks x tickMs after s. So no new leader can exist before the lease ends as long as
 *
 *   leaseTicks x tickMs  <  (electionTicks - 1) x tickMs,
 *
 * and the difference is what absorbs clock drift between the two nodes (crystals: ~100 ppm, so
 * well under a millisecond here) and the leader's tick timer running late (event-loop stalls,
 * GC). We keep a fifth of the election timeout of it: lease = 10 - 1 - 2 = 7 ticks, 350 ms on
 * `lan`, which still spans three heartbeat rounds, so one lost heartbeat does not drop the VIP
 * (`fast`: 8 - 1 - 2 = 5 ticks, 100 ms, two heartbeat rounds and a half).
 */
export function resolveTiming(profile: TimingProfile): RaftTiming {
  const ticks = PROFILE_TICKS[profile];
  if (ticks === undefined) throw new RangeError(`unknown timing profile ${JSON.stringify(profile)}`);
  const { tickMs, electionTicks } = ticks;
  // Ticks of the election timeout kept free of the lease for clock drift and a late leader timer:
  // 20% of the minimum election timeout, rounded up (100 ms on `lan`, 40 ms on `fast`).
  const driftMarginTicks = Math.ceil(electionTicks / 5);
  const leaseTicks = electionTicks - TICK_PHASE_TICKS - driftMarginTicks;
  const leaseSafetyMarginMs = (electionTicks - TICK_PHASE_TICKS - leaseTicks) * tickMs;
  if (leaseTicks <= HEARTBEAT_TICKS || leaseSafetyMarginMs <= 0) {
    throw new RangeError("timing: the lease must outlast a heartbeat and end before the shortest election timeout");
  }
  return Object.freeze({
    profile,
    tickMs,
    heartbeatTicks: HEARTBEAT_TICKS,
    learnerHeartbeatRounds: LEARNER_HEARTBEAT_ROUNDS,
    electionTicks,
    leaseTicks,
    heartbeatIntervalMs: HEARTBEAT_TICKS * tickMs,
    electionTimeoutMinMs: electionTicks * tickMs,
    electionTimeoutMaxMs: 2 * electionTicks * tickMs,
    leaseMs: leaseTicks * tickMs,
    leaseSafetyMarginMs,
  });
}

/** One line per profile, for the config reference. */
export function describeTimingProfile(profile: TimingProfile): string {
  const timing = resolveTiming(profile);
  return `${timing.heartbeatIntervalMs} ms heartbeat, election timeout in [${timing.electionTimeoutMinMs}, ${timing.electionTimeoutMaxMs}) ms, ${timing.leaseMs} ms leader lease`;
}
