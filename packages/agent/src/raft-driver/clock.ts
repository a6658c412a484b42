// The driver's two sources of time, injected so tests can stall a loop deterministically:
// a monotonic clock for ticks, lease and timeouts, and timers to wake the loop.

/** Milliseconds from an arbitrary origin that never jumps (not the wall clock). */
export interface MonotonicClock {
  now(): number;
}

export interface LoopTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Runs `callback` once the event loop has read what is waiting in its sockets (Node's
   * `setImmediate`: after the poll phase that follows the timer now running).
   */
  afterPendingIo(callback: () => void): void;
}

export const systemClock: MonotonicClock = Object.freeze({ now: () => performance.now() });

export const systemTimers: LoopTimers = Object.freeze({
  setTimeout: (callback: () => void, delayMs: number) => setTimeout(callback, delayMs),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
  afterPendingIo: (callback: () => void) => {
    setImmediate(callback);
  },
});

/** A clock and timers that move only when told to: `advance(ms)` runs what falls due, in time order. */
export class ManualTime implements MonotonicClock, LoopTimers {
  #now = 0;
  #nextHandle = 1;
  readonly #pending = new Map<number, { at: number; seq: number; callback: () => void }>();
  #seq = 0;
  /** Timers of a paused owner do not run (a stalled process); `resume` lets them. */
  readonly paused = new Set<ManualTimers>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = this.#nextHandle++;
    this.#pending.set(handle, { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Runs at the current instant, after the timers already due (tests deliver held messages before `runDue`). */
  afterPendingIo(callback: () => void): void {
    this.setTimeout(callback, 0);
  }

  /** Timers for one driver that can be paused on their own; they share this clock. */
  timersFor(): ManualTimers {
    return new ManualTimers(this);
  }

  /** Moves time forward by `ms`, one millisecond at a time, running every timer that falls due. */
  advance(ms: number): void {
    const end = this.#now + ms;
    while (this.#now < end) {
      this.#now++;
      this.runDue();
    }
  }

  /** Runs due timers (and those they schedule at the same instant); bounded so a busy loop cannot hang a test. */
  runDue(): void {
    for (let round = 0; round < 100_000; round++) {
      let next: [number, { at: number; seq: number; callback: () => void }] | undefined;
      for (const entry of this.#pending) {
        if (entry[1].at > this.#now) continue;
        if (
          next === undefined ||
          entry[1].at < next[1].at ||
          (entry[1].at === next[1].at && entry[1].seq < next[1].seq)
        ) {
          next = entry;
        }
      }
      if (next === undefined) return;
      this.#pending.delete(next[0]);
      next[1].callback();
    }
    throw new Error("manual timers did not settle");
  }
}

export class ManualTimers implements LoopTimers {
  readonly #time: ManualTime;
  readonly #held: (() => void)[] = [];

  constructor(time: ManualTime) {
    this.#time = time;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    return this.#time.setTimeout(() => {
      if (this.#time.paused.has(this)) this.#held.push(callback);
      else callback();
    }, delayMs);
  }

  clearTimeout(handle: unknown): void {
    this.#time.clearTimeout(handle);
  }

  afterPendingIo(callback: () => void): void {
    this.setTimeout(callback, 0);
  }

  pause(): void {
    this.#time.paused.add(this);
  }

  /** Runs what fell due while paused, as a process does when it is continued. */
  resume(): void {
    this.#time.paused.delete(this);
    for (const callback of this.#held.splice(0)) callback();
  }
}
