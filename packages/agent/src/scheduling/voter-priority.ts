// A voter's scheduling priority. The PoC's lease lives on the acknowledgements of a quorum of
// voters, each within a few hundred milliseconds of its heartbeat, and the PoC's own loop must
// run on time to keep it: a voter that waits for CPU behind other work costs the console an
// outage (the VIP is dropped when the lease runs out). So while this node is a voter, the
// agent runs at `voterNice` (keepalived's `vrrp_priority` does the same for VRRP); a learner,
// whose timing no lease depends on, goes back to the priority the agent started with. The PoC runs
// higher still, at `pocNice`: in its first second it claims the VIP, answers the console's first
// requests and sends every member its first append, and its lease ends if its own loop waits.
//
// On a 32-BMC rack simulated on two cores, every agent waited for CPU 100-250 ms at once after a
// PoC died, and new PoCs lost their lease in their first seconds; with the five voters at nice
// -10 that happened less often (console gap p99 3.5-7.5 s before, 2.5-4.2 s after; bench/rack.ts).
// With the PoC at -15 as well, its claim took 18-93 ms instead of 16-325, no new PoC lost its
// lease in a 10-death run, and 5 deaths in 60 left the console without answers over 1.5 s.
//
// Linux keeps a nice value per thread, and `os.setPriority()` on a thread id sets that thread's:
// every thread of the agent is set, the event loop's (the Raft loop, the VIP follower) and the
// lease guard's worker above all: the guard takes the VIP off when the loop stalls, so it must
// never wait for CPU behind the loops it guards against. Threads started later inherit the value
// of the thread that starts them. Raising a priority needs CAP_SYS_NICE (the systemd unit grants
// it); without it the agent says so once and runs as it is.
import { readdirSync } from "node:fs";
import { getPriority as osGetPriority, setPriority as osSetPriority } from "node:os";
import type { AgentLogger } from "../logger.ts";

/** The nice value a voter's threads run at unless configured otherwise. */
export const DEFAULT_VOTER_NICE = -10;
/** The nice value the PoC's threads run at unless configured otherwise. */
export const DEFAULT_POC_NICE = -15;
/** Linux nice values: -20 (most favoured) to 19. */
export const NICE_MIN = -20;
export const NICE_MAX = 19;

export interface VoterPriorityInit {
  /** The nice value while a voter (NICE_MIN..NICE_MAX). Never weaker than the one the agent started with. */
  readonly voterNice: number;
  /** The nice value while the PoC (default DEFAULT_POC_NICE). Never weaker than `voterNice`. */
  readonly pocNice?: number;
  readonly logger: AgentLogger;
  /** This thread's nice value (default: os.getPriority()). */
  readonly getNice?: () => number;
  /** Sets the nice value (default: every thread's, setEveryThreadsNice); throws when not allowed. */
  readonly setNice?: (nice: number) => void;
  /** Told after every change: processes started before it (the lease guard's shell) keep the old value. */
  readonly onChanged?: (nice: number) => void;
}

export class VoterPriority {
  readonly #voterNice: number;
  readonly #pocNice: number;
  readonly #startNice: number;
  readonly #logger: AgentLogger;
  readonly #setNice: (nice: number) => void;
  readonly #onChanged: (nice: number) => void;
  #current: number;
  #isVoter = false;
  #isPoc = false;
  #refusalReported = false;

  constructor(init: VoterPriorityInit) {
    const pocNice = init.pocNice ?? DEFAULT_POC_NICE;
    for (const [name, nice] of [
      ["voterNice", init.voterNice],
      ["pocNice", pocNice],
    ] as const) {
      if (!Number.isInteger(nice) || nice < NICE_MIN || nice > NICE_MAX) {
        throw new RangeError(`${name} must be an integer from ${NICE_MIN} to ${NICE_MAX}, not ${nice}`);
      }
    }
    this.#voterNice = init.voterNice;
    this.#pocNice = Math.min(pocNice, init.voterNice);
    this.#logger = init.logger;
    this.#setNice = init.setNice ?? setEveryThreadsNice;
    this.#onChanged = init.onChanged ?? (() => undefined);
    this.#startNice = (init.getNice ?? (() => osGetPriority()))();
    this.#current = this.#startNice;
  }

  /** The nice value this thread runs at now. */
  get nice(): number {
    return this.#current;
  }

  /** Follows this node's membership: a voter's priority while it votes, the starting one otherwise. */
  update(isVoter: boolean): void {
    this.#isVoter = isVoter;
    this.#apply();
  }

  /** Follows this node's leadership: the PoC's priority while it leads. */
  setPoc(isPoc: boolean): void {
    this.#isPoc = isPoc;
    this.#apply();
  }

  #apply(): void {
    const role = this.#isPoc ? "poc" : this.#isVoter ? "voter" : "learner";
    const roleNice = { poc: this.#pocNice, voter: this.#voterNice, learner: this.#startNice }[role];
    const wanted = Math.min(roleNice, this.#startNice);
    if (wanted === this.#current) return;
    try {
      this.#setNice(wanted);
    } catch (error) {
      // Refused once, refused every time (no CAP_SYS_NICE): one warning, not one per role change.
      if (!this.#refusalReported) {
        this.#refusalReported = true;
        this.#logger.warn(
          { err: error, nice: wanted, current: this.#current },
          "could not change this agent's scheduling priority (CAP_SYS_NICE is needed to raise it): it keeps running as it is",
        );
      }
      return;
    }
    this.#logger.info({ nice: wanted, previous: this.#current, role }, "scheduling priority follows this node's role");
    this.#current = wanted;
    this.#onChanged(wanted);
  }
}

/** Sets the nice value of every thread of this process (Linux: /proc/self/task), else of this thread. */
export function setEveryThreadsNice(nice: number): void {
  // The calling thread (the event loop's) first: if that is refused, nothing was changed.
  osSetPriority(nice);
  let threadIds: number[];
  try {
    threadIds = readdirSync("/proc/self/task").map(Number);
  } catch {
    return; // no /proc: this thread is all we can reach
  }
  for (const id of threadIds) {
    if (id === process.pid) continue; // the event loop's thread, done
    try {
      osSetPriority(id, nice);
    } catch {
      // A thread that ended meanwhile (libuv's pool and V8's helpers come and go).
    }
  }
}
