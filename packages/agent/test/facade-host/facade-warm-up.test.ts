// Proves when a node reads ahead for its facade: a standby voter now and then (root maps only),
// the PoC at once on taking over (collections too), one warm-up of each kind at a time.
import { afterEach, describe, expect, it } from "vitest";
import { type FacadeWarmUp, startFacadeWarmUp } from "../../src/facade-host/facade-warm-up.ts";

let warmUp: FacadeWarmUp | undefined;
afterEach(() => warmUp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recorder() {
  const calls: boolean[] = [];
  return {
    calls,
    warmUp: async (scope: { readonly collections: boolean }) => {
      calls.push(scope.collections);
      return { members: 3, answered: 3 };
    },
  };
}

describe("facade warm-up", () => {
  it("a standby voter reads root maps on its interval; a node that is not one does not", async () => {
    const standby = recorder();
    let isStandby = true;
    warmUp = startFacadeWarmUp({
      warmUp: standby.warmUp,
      isStandbyVoter: () => isStandby,
      intervalMs: 20,
      firstDelayMs: 5,
      random: () => 0,
    });
    await sleep(100);
    expect(standby.calls.length).toBeGreaterThanOrEqual(2);
    expect(standby.calls.every((collections) => !collections)).toBe(true);
    isStandby = false;
    await sleep(30);
    const count = standby.calls.length;
    await sleep(100);
    expect(standby.calls.length).toBe(count);
  });

  it("takes over with the collections, once while one is in flight, and never rejects", async () => {
    const calls: boolean[] = [];
    let finish: () => void = () => undefined;
    let failNext = false;
    warmUp = startFacadeWarmUp({
      warmUp: (scope) => {
        calls.push(scope.collections);
        if (failNext) return Promise.reject(new Error("member unreachable"));
        return new Promise((resolve) => {
          finish = () => resolve({ members: 3, answered: 2 });
        });
      },
      isStandbyVoter: () => false,
      intervalMs: 60_000,
      firstDelayMs: 60_000,
    });
    warmUp.takeover();
    warmUp.takeover();
    expect(calls).toEqual([true]);
    finish();
    await warmUp.idle();
    failNext = true;
    warmUp.takeover();
    await warmUp.idle();
    expect(calls).toEqual([true, true]);
  });

  it("does nothing once stopped", async () => {
    const calls: boolean[] = [];
    warmUp = startFacadeWarmUp({
      warmUp: async (scope) => {
        calls.push(scope.collections);
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
    expect(calls).toEqual([]);
  });
});
