// Keeps a would-be PoC ready to answer. A node that takes over starts with an empty member cache:
// its first `GET /redfish/v1/Systems` would read every member's service root and each root link
// (about ten reads per member), then the collection itself, while the console waits. So:
//   - a standby voter (one that may be elected) reads every member's root map and root
//     collections (Systems, Chassis, Managers: lists of links) every STANDBY_WARM_UP_INTERVAL_MS,
//     in the background. Until one such read has reached every member, it looks again every
//     STANDBY_WARM_UP_RETRY_MS instead, reading only the members missed: a node that just started
//     (a BMC rebooted after a fault) may be elected within seconds, and a cold cache made the
//     console's first answers wait for every member (up to half a second on the 2-core rack; the
//     facade now waits collectionWaitMs at most, then names the member missing). The facade
//     serves a root collection that old while it reads it again (as long as it trusts a root
//     map), so if this node takes over, the console's first polls are answered at once;
//   - once this node has claimed the VIP, it reads them again, TAKEOVER_WARM_UP_DELAY_MS later:
//     the console's first answers come from the standby reads, and reading every member at the
//     moment of the takeover made those answers wait (on the 2-core rack, the first answer's
//     median rose from about 20 to 45 ms).
// The cost on each BMC: three GETs per standby voter per interval (four standbys in a five-voter
// cluster: 0.6 a second). One warm-up of each kind runs at a time; neither ever rejects.
import type { WarmUpOptions, WarmUpResult } from "@conclave/redfish-facade";
import { type AgentLogger, silentLogger } from "../logger.ts";

/**
 * How often a standby voter rereads every member's root collections. Shorter than the facade's
 * default discoveryTtlMs (30 s), how old a root collection it serves while reading it again.
 */
export const STANDBY_WARM_UP_INTERVAL_MS = 20_000;
/** The first standby warm-up waits this long plus up to as much again, so a rack booting together does not read at once. */
export const STANDBY_WARM_UP_FIRST_DELAY_MS = 1_000;
/** Until a standby warm-up has reached every member: how soon to look again (not a standby yet, or members missing). */
export const STANDBY_WARM_UP_RETRY_MS = 1_000;
/** Warm-ups that missed a member, retried at STANDBY_WARM_UP_RETRY_MS before the interval takes over. */
export const STANDBY_WARM_UP_RETRIES_MAX = 10;
/** How long a new PoC lets the console's first requests through before it reads every member again. */
export const TAKEOVER_WARM_UP_DELAY_MS = 1_000;

export interface FacadeWarmUpInit {
  /** The facade's warm-up (warmUpFacade of @conclave/redfish-facade, bound to the node's app). */
  readonly warmUp: (options: WarmUpOptions) => Promise<WarmUpResult>;
  /** True while this node is a voter that may be elected and is not the PoC. */
  readonly isStandbyVoter: () => boolean;
  readonly logger?: AgentLogger;
  readonly intervalMs?: number;
  readonly firstDelayMs?: number;
  readonly retryMs?: number;
  /** Default: TAKEOVER_WARM_UP_DELAY_MS; 0 reads at once. */
  readonly takeoverDelayMs?: number;
  /** Default: Math.random (the first delay's jitter). */
  readonly random?: () => number;
}

export interface FacadeWarmUp {
  /** This node just took over: read the root collections again after the takeover delay. */
  takeover(): void;
  stop(): void;
  /** Settles once the warm-ups in flight have (tests). */
  idle(): Promise<void>;
}

export function startFacadeWarmUp(init: FacadeWarmUpInit): FacadeWarmUp {
  const logger = init.logger ?? silentLogger;
  const intervalMs = init.intervalMs ?? STANDBY_WARM_UP_INTERVAL_MS;
  const firstDelayMs = init.firstDelayMs ?? STANDBY_WARM_UP_FIRST_DELAY_MS;
  const retryMs = init.retryMs ?? STANDBY_WARM_UP_RETRY_MS;
  const random = init.random ?? Math.random;
  const takeoverDelayMs = init.takeoverDelayMs ?? TAKEOVER_WARM_UP_DELAY_MS;
  let takeoverTimer: NodeJS.Timeout | undefined;
  const inFlight = new Map<"standby" | "takeover", Promise<void>>();
  let stopped = false;
  /** A standby warm-up has reached every member (from then on, the interval). */
  let reachedEveryMember = false;
  let incompleteStandbyRuns = 0;

  const run = (kind: "standby" | "takeover", options: WarmUpOptions = {}): void => {
    if (stopped || inFlight.has(kind)) return;
    const startedMs = performance.now();
    const done = init
      .warmUp(options)
      .then(
        (result) => {
          if (kind === "standby") {
            if (result.members > 0 && result.answered === result.members) reachedEveryMember = true;
            else incompleteStandbyRuns++;
          }
          logger.debug(
            {
              kind,
              members: result.members,
              answered: result.answered,
              tookMs: Math.round(performance.now() - startedMs),
            },
            "facade warmed up",
          );
        },
        (error: unknown) => {
          if (kind === "standby") incompleteStandbyRuns++;
          logger.warn({ err: error, kind }, "facade warm-up failed");
        },
      )
      .finally(() => inFlight.delete(kind));
    inFlight.set(kind, done);
  };

  // The next look is scheduled once this one's warm-up has settled: its outcome picks the delay.
  const tick = async (): Promise<void> => {
    if (init.isStandbyVoter()) {
      // A retry reads only the members the last runs missed: those answered within an interval
      // are as fresh as the interval would keep them, and rereading all of them every retry
      // (32 members, about a hundred reads) loaded every BMC while one member was down.
      const retrying = !reachedEveryMember && incompleteStandbyRuns > 0;
      run("standby", retrying ? { skipAnsweredWithinMs: intervalMs } : {});
      await inFlight.get("standby");
    }
    if (stopped) return;
    const settled = reachedEveryMember || incompleteStandbyRuns >= STANDBY_WARM_UP_RETRIES_MAX;
    timer = setTimeout(tick, settled ? intervalMs : retryMs);
    timer.unref();
  };
  let timer: NodeJS.Timeout = setTimeout(tick, firstDelayMs + Math.floor(random() * firstDelayMs));
  timer.unref();

  return {
    takeover: () => {
      if (takeoverDelayMs <= 0) {
        run("takeover");
        return;
      }
      if (stopped || takeoverTimer !== undefined) return;
      takeoverTimer = setTimeout(() => {
        takeoverTimer = undefined;
        run("takeover");
      }, takeoverDelayMs);
      takeoverTimer.unref();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(takeoverTimer);
    },
    idle: async () => {
      await Promise.all(inFlight.values());
    },
  };
}
