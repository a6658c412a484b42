// Proves when a node reads ahead for its facade: a standby voter on its interval, the PoC a delay
// after taking over, one warm-up of each kind at a time, and the interval inside the facade's
// stale-while-revalidate window (what makes a new PoC's first answers immediate).
import { DEFAULT_FACADE_TIMEOUTS, type WarmUpOptions } from "@conclave/redfish-facade";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type FacadeWarmUp,
  STANDBY_WARM_UP_INTERVAL_MS,
  STANDBY_WARM_UP_RETRIES_MAX,
  startFacadeWarmUp,
} from "../../src/facade-host/facade-warm-up.ts";

let warmUp: FacadeWarmUp | undefined;
afterEach(() => warmUp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("facade warm-up", () => {
  it("a standby voter reads on its interval; a node that is not one does not", async () => {
    let calls = 0;
    let isStandby = true;
    warmUp = startFacadeWarmUp({
      warmUp: async () => {
        calls++;
        return { members: 3, answered: 3 };
      },
      isStandbyVoter: () => isStandby,
      intervalMs: 20,
      firstDelayMs: 5,
      random: () => 0,
    });
    await sleep(100);
    expect(calls).toBeGreaterThanOrEqual(2);
    isStandby = false;
    await sleep(30);
    const count = calls;
    await sleep(100);
    expect(calls).toBe(count);
  });

  it("takes over after the delay, once for several takeovers within it, and not once stopped", async () => {
    let calls = 0;
    warmUp = startFacadeWarmUp({
      warmUp: async () => {
        calls++;
        return { members: 3, answered: 3 };
      },
      isStandbyVoter: () => false,
      intervalMs: 60_000,
      firstDelayMs: 60_000,
      takeoverDelayMs: 40,
    });
    warmUp.takeover();
    warmUp.takeover();
    expect(calls).toBe(0);
    await sleep(120);
    expect(calls).toBe(1);
    warmUp.takeover();
    warmUp.stop();
    await sleep(120);
    expect(calls).toBe(1);
  });

  it("with no delay takes over at once, once while one is in flight, and never rejects", async () => {
    let calls = 0;
    let finish: () => void = () => undefined;
    let failNext = false;
    warmUp = startFacadeWarmUp({
      warmUp: () => {
        calls++;
        if (failNext) return Promise.reject(new Error("member unreachable"));
        return new Promise((resolve) => {
          finish = () => resolve({ members: 3, answered: 2 });
        });
      },
      isStandbyVoter: () => false,
      intervalMs: 60_000,
      firstDelayMs: 60_000,
      takeoverDelayMs: 0,
    });
    warmUp.takeover();
    warmUp.takeover();
    expect(calls).toBe(1);
    finish();
    await warmUp.idle();
    failNext = true;
    warmUp.takeover();
    await warmUp.idle();
    expect(calls).toBe(2);
  });

  it("does nothing once stopped", async () => {
    let calls = 0;
    warmUp = startFacadeWarmUp({
      warmUp: async () => {
        calls++;
        return { members: 0, answered: 0 };
      },
      isStandbyVoter: () => true,
      intervalMs: 10,
      firstDelayMs: 5,
      random: () => 0,
    });
    warmUp.stop();
    warmUp.takeover();
    await sleep(60);
    expect(calls).toBe(0);
  });

  it("rereads within the time the facade serves a root collection while it reads it again", () => {
    expect(STANDBY_WARM_UP_INTERVAL_MS).toBeLessThan(DEFAULT_FACADE_TIMEOUTS.discoveryTtlMs);
  });
});

describe("facade warm-up before the first complete read", () => {
  it("looks again every retry until a standby warm-up reaches every member, then keeps to the interval", async () => {
    const results = [
      { members: 4, answered: 0 }, // not a standby yet would not even run; here: members missing
      { members: 4, answered: 3 },
      { members: 4, answered: 4 },
    ];
    let calls = 0;
    let standby = false;
    const options: WarmUpOptions[] = [];
    warmUp = startFacadeWarmUp({
      warmUp: async (given) => {
        options.push(given);
        return results[Math.min(calls++, results.length - 1)]!;
      },
      isStandbyVoter: () => standby,
      intervalMs: 60_000,
      firstDelayMs: 5,
      retryMs: 15,
      random: () => 0,
    });
    // Not a standby voter yet (still joining): nothing read, but looked at again soon.
    await sleep(40);
    expect(calls).toBe(0);
    standby = true;
    // Two incomplete reads, one complete, then the interval (60 s) takes over.
    await vi.waitFor(() => expect(calls).toBe(3), { timeout: 5_000 });
    await sleep(100);
    expect(calls).toBe(3);
    // The first read takes every member; the retries only those not answered within an interval.
    expect(options).toEqual([{}, { skipAnsweredWithinMs: 60_000 }, { skipAnsweredWithinMs: 60_000 }]);
  });

  it("gives up retrying after STANDBY_WARM_UP_RETRIES_MAX incomplete reads", async () => {
    let calls = 0;
    warmUp = startFacadeWarmUp({
      warmUp: async () => {
        calls++;
        if (calls % 2 === 0) throw new Error("member unreachable");
        return { members: 4, answered: 1 };
      },
      isStandbyVoter: () => true,
      intervalMs: 60_000,
      firstDelayMs: 1,
      retryMs: 5,
      random: () => 0,
    });
    await vi.waitFor(() => expect(calls).toBe(STANDBY_WARM_UP_RETRIES_MAX), { timeout: 5_000 });
    await sleep(100);
    expect(calls).toBe(STANDBY_WARM_UP_RETRIES_MAX);
  });
});
