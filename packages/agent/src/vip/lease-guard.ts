// The lease guard: takes the VIP off the interface when the lease has run out and this process has
// not done it, because its event loop is stalled (starved of CPU, a long garbage collection, a long
// synchronous task). The Raft loop releases the VIP as soon as it sees the lease lapse; a stalled
// loop sees nothing, and the address stays on the interface while a successor, rightly elected,
// claims it: two VIP holders for as long as the stall lasts (seconds on a starved machine).
//
// The guard runs on a worker thread, which has an event loop of its own and sleeps in the kernel
// until the lease's end plus `slackMs` (the agent's loop goes first when it can; the slack is a
// share of the lease safety margin, so the address is gone before a successor can claim it). The
// Raft driver publishes the lease's end after every turn; the VIP manager arms the guard before
// it adds the address and disarms it once a release has removed it (a starved release can take a
// second; the guard may get there first). When the guard fires it runs `ip addr
// del` through a shell started beforehand, then reports to the agent's thread.
//
// Cost: the worker is one more V8 isolate, about 10 MB of private memory, and wakes about once per
// lease while the VIP is held. It is started only in `interface` mode.
import { Worker } from "node:worker_threads";
import { type AgentLogger, silentLogger } from "../logger.ts";
import {
  GUARD_ARMED,
  GUARD_FIRED,
  GUARD_IDLE,
  type GuardFiredMessage,
  LEASE_END_CELL,
  LEASE_GUARD_WORKER_SOURCE,
  STATE_CELL,
} from "./lease-guard-worker.ts";
import { shellQuote } from "./shell-command-runner.ts";

/** The share of the lease safety margin the guard waits past the lease's end (see the top of this file). */
export const LEASE_GUARD_SLACK_SHARE_OF_MARGIN = 0.25;
/** How long close() waits for the worker to end on its own before terminating it. */
export const LEASE_GUARD_CLOSE_TIMEOUT_MS = 2_000;
/** The worker's heap bounds: it holds a timer, a shell and two numbers. */
const WORKER_RESOURCE_LIMITS = Object.freeze({ maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 });

export interface LeaseGuardInit {
  /** The command that takes the VIP off the interface, as words (`ip addr del <vip>/<prefix> dev <iface>`). */
  readonly command: readonly string[];
  /** How long past the lease's end the guard acts. */
  readonly slackMs: number;
  /** Error output that means the work was already done (the release's own `ip addr del` got there first). */
  readonly alreadyDone?: RegExp;
  /** The shell that runs the command. Default /bin/sh. */
  readonly shell?: string;
  readonly logger?: AgentLogger;
}

export interface LeaseGuardFiring {
  /** How long after the lease's end the command started. */
  readonly lateMs: number;
  readonly tookMs: number;
  /** True when the command exited 0. */
  readonly ok: boolean;
  /** The command's error output, or why it could not run. */
  readonly detail: string;
}

export interface LeaseGuard {
  /** The lease's remaining time as of now; 0 or less when no lease is held. After every Raft turn. */
  publishLeaseLeft(msLeft: number): void;
  /** The VIP is going onto the interface: from now on the guard removes it when the lease ends. */
  arm(): void;
  /** The VIP is off the interface by this process's hand: the guard stands down. True when it had fired. */
  disarm(): boolean;
  /** Resolves once the worker runs (it guards from then on; an arm() before is acted on then). */
  readonly ready: Promise<void>;
  /** True from the guard firing until the next arm() or disarm(). */
  readonly fired: boolean;
  /** Called on this thread after the guard ran its command. Returns the unsubscribe. */
  onFired(listener: (firing: LeaseGuardFiring) => void): () => void;
  /**
   * Moves the shell kept ready for the release command to this nice value: a process takes its
   * scheduling priority from the thread that starts it, and keeps it when that thread's changes
   * (`VoterPriority`). Moved, not replaced: a fork of the agent at a takeover costs its loop.
   */
  setNice(nice: number): void;
  /** Ends the worker and its shell. The guard does nothing afterwards. */
  close(): Promise<void>;
}

const nowUs = (): bigint => process.hrtime.bigint() / 1000n;
/** A lease end this much earlier than the last one published wakes the worker (see publishLeaseLeft). */
const EARLIER_END_THRESHOLD_US = 1_000n;

export function startLeaseGuard(init: LeaseGuardInit): LeaseGuard {
  if (init.command.length === 0) throw new RangeError("the lease guard needs a command");
  if (!(init.slackMs >= 0)) throw new RangeError(`lease guard slack must be 0 or more, got ${init.slackMs}`);
  const logger = init.logger ?? silentLogger;
  const view = new BigInt64Array(new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT));
  const listeners = new Set<(firing: LeaseGuardFiring) => void>();
  const worker = new Worker(LEASE_GUARD_WORKER_SOURCE, {
    eval: true,
    workerData: {
      view,
      line: `exec ${init.command.map(shellQuote).join(" ")}`,
      shell: init.shell ?? "/bin/sh",
      slackUs: Math.round(init.slackMs * 1000),
    },
    resourceLimits: WORKER_RESOURCE_LIMITS,
    stdout: false,
    stderr: false,
  });
  // The guard must never keep the agent alive on its own.
  worker.unref();
  let closed = false;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  worker.on("error", (error) => {
    // The VIP is still released by the Raft loop; only the stall cover is gone.
    logger.error({ err: error }, "the lease guard stopped: a stalled agent can no longer be kept from holding the VIP");
  });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  void exit.then(() => markReady());
  worker.on("message", (message: GuardFiredMessage | "ready") => {
    if (message === "ready") {
      markReady();
      return;
    }
    if (message?.type !== "fired") return;
    const ok = message.error === undefined && (message.code === 0 || init.alreadyDone?.test(message.stderr) === true);
    const firing: LeaseGuardFiring = {
      lateMs: Math.round(message.lateMs * 10) / 10,
      tookMs: Math.round(message.tookMs * 10) / 10,
      ok,
      detail: message.error ?? (message.stderr.trim() || (ok ? "" : `exit ${message.code ?? message.signal}`)),
    };
    if (ok) {
      logger.warn(
        { lateMs: firing.lateMs, tookMs: firing.tookMs, ...(firing.detail === "" ? {} : { detail: firing.detail }) },
        "the lease ran out while this agent was stalled: the lease guard removed the VIP",
      );
    } else {
      logger.error(
        { lateMs: firing.lateMs, detail: firing.detail },
        "the lease ran out while this agent was stalled, and the lease guard could not remove the VIP",
      );
    }
    for (const listener of listeners) listener(firing);
  });

  return {
    ready,
    publishLeaseLeft(msLeft) {
      const endUs = msLeft > 0 ? nowUs() + BigInt(Math.round(msLeft * 1000)) : 0n;
      const previousUs = Atomics.exchange(view, LEASE_END_CELL, endUs);
      // The worker sleeps until the end it last read; an end moved earlier (a lease lost before
      // its time) must wake it. Later ends, every turn, need not: it rereads when it wakes. (The
      // same end, recomputed each turn from two clocks, wobbles by microseconds: not a move.)
      const movedEarlier = endUs + EARLIER_END_THRESHOLD_US < previousUs;
      if (movedEarlier && Atomics.load(view, STATE_CELL) === GUARD_ARMED) worker.postMessage("check");
    },
    arm() {
      if (closed) return;
      Atomics.store(view, STATE_CELL, GUARD_ARMED);
      worker.postMessage("check");
    },
    disarm() {
      return Atomics.exchange(view, STATE_CELL, GUARD_IDLE) === GUARD_FIRED;
    },
    get fired() {
      return Atomics.load(view, STATE_CELL) === GUARD_FIRED;
    },
    setNice(nice) {
      if (!closed) worker.postMessage({ setNice: nice });
    },
    onFired(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return exit;
      closed = true;
      Atomics.store(view, STATE_CELL, GUARD_IDLE);
      listeners.clear();
      if (!exited) {
        worker.ref(); // so that awaiting the exit keeps this process's loop alive
        worker.postMessage("close");
      }
      const timeout = setTimeout(() => void worker.terminate(), LEASE_GUARD_CLOSE_TIMEOUT_MS);
      timeout.unref();
      await exit;
      clearTimeout(timeout);
    },
  };
}
