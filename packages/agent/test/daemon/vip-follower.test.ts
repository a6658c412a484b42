// Proves the VIP follows the lease even when every `ip` command is slow: claims and releases run
// in order, and a claim whose turn comes after the lease lapsed, or after a release was asked for,
// is skipped — a node whose lease flapped under load must not put the VIP back after it lost it.
import { describe, expect, it } from "vitest";
import { createVipFollower } from "../../src/daemon/vip-follower.ts";
import { silentLogger } from "../../src/logger.ts";
import type { VipStatus } from "../../src/vip/vip-manager.ts";

/** A VIP manager whose claims and releases finish only when the test lets them. */
function slowVip() {
  const log: string[] = [];
  const pending: (() => void)[] = [];
  let held = false;
  const step = (what: string, apply: () => void) =>
    new Promise<void>((resolve) => {
      log.push(`start ${what}`);
      pending.push(() => {
        apply();
        log.push(`done ${what}`);
        resolve();
      });
    });
  return {
    log,
    /** Finishes the oldest command in flight; false when none is. */
    finishOne: async (): Promise<boolean> => {
      const next = pending.shift();
      if (next === undefined) return false;
      next();
      await new Promise((resolve) => setImmediate(resolve));
      return true;
    },
    get held() {
      return held;
    },
    vip: {
      claim: (reason: string) => step(`claim (${reason})`, () => (held = true)),
      release: (reason: string) => step(`release (${reason})`, () => (held = false)),
      status: (): VipStatus => ({
        mode: "interface",
        address: "10.0.0.100",
        held,
        heldSinceMs: undefined,
        lastReason: undefined,
        announcementsSent: 0,
        announcementFailures: 0,
        lastError: undefined,
      }),
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function drain(fake: ReturnType<typeof slowVip>, bound = 50): Promise<void> {
  for (let i = 0; i < bound; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!(await fake.finishOne())) return;
  }
  throw new Error(`more than ${bound} VIP commands`);
}

describe("the VIP follower", () => {
  it("skips claims queued behind a release: a flapping lease ends with the VIP released", async () => {
    const fake = slowVip();
    let lease = true;
    const follower = createVipFollower({ vip: fake.vip, leaseHeldNow: () => lease, logger: silentLogger });
    // The lease flaps while the first claim's `ip addr add` is still running.
    follower.claim("acquired 1");
    await tick();
    follower.release("lost 1").catch(() => undefined);
    follower.claim("acquired 2");
    follower.release("lost 2").catch(() => undefined);
    lease = false; // and the node is a follower by the time the commands run
    await drain(fake);
    await follower.settled();
    expect(fake.held).toBe(false);
    expect(fake.log.filter((line) => line.startsWith("start claim"))).toEqual(["start claim (acquired 1)"]);
    expect(follower.skippedClaims).toBe(1);
    expect(follower.wanted).toBe(false);
  });

  it("skips a claim whose turn comes after the lease ran out", async () => {
    const fake = slowVip();
    let lease = true;
    const follower = createVipFollower({ vip: fake.vip, leaseHeldNow: () => lease, logger: silentLogger });
    follower.release("an earlier loss").catch(() => undefined);
    follower.claim("acquired");
    lease = false; // the lease lapses while the release's `ip addr del` runs
    await drain(fake);
    await follower.settled();
    expect(fake.held).toBe(false);
    expect(fake.log.some((line) => line.startsWith("start claim"))).toBe(false);
    expect(follower.skippedClaims).toBe(1);
  });

  it("gives the address up at once when the lease ran out while it was being added", async () => {
    const fake = slowVip();
    let lease = true;
    let bound = false;
    const follower = createVipFollower({
      vip: fake.vip,
      leaseHeldNow: () => lease,
      listener: {
        bind: async () => {
          bound = true;
        },
        unbind: async () => undefined,
        listening: () => bound,
      },
      logger: silentLogger,
    });
    follower.claim("acquired");
    await tick();
    lease = false; // `ip addr add` is slow; the lease runs out before it returns
    await drain(fake);
    await follower.settled();
    expect(fake.log).toEqual([
      "start claim (acquired)",
      "done claim (acquired)",
      "start release (the lease ran out while the VIP was being claimed)",
      "done release (the lease ran out while the VIP was being claimed)",
    ]);
    expect(fake.held).toBe(false);
    expect(bound).toBe(false);
  });

  it("claims, binds the facade listener, and on release removes the address before closing it", async () => {
    const fake = slowVip();
    let listening = false;
    const order: string[] = [];
    const follower = createVipFollower({
      vip: fake.vip,
      leaseHeldNow: () => true,
      listener: {
        bind: async () => {
          order.push(`bind (address held: ${fake.held})`);
          listening = true;
        },
        unbind: async () => {
          order.push(`unbind (address held: ${fake.held})`);
          listening = false;
        },
        listening: () => listening,
      },
      logger: silentLogger,
    });
    follower.claim("acquired");
    await drain(fake);
    await follower.settled();
    expect(fake.held).toBe(true);
    expect(listening).toBe(true);
    const released = follower.release("lost");
    await drain(fake);
    await released;
    expect(order).toEqual(["bind (address held: true)", "unbind (address held: false)"]);
  });

  it("reconciles only when nothing is queued, toward what the lease says", async () => {
    const fake = slowVip();
    const follower = createVipFollower({ vip: fake.vip, leaseHeldNow: () => true, logger: silentLogger });
    follower.reconcile(true);
    await tick();
    follower.reconcile(true); // the first claim is still running: nothing more is queued
    await tick();
    expect(fake.log).toEqual(["start claim (PoC with lease: retrying the claim)"]);
    await drain(fake);
    await follower.settled();
    follower.reconcile(true); // held and serving: nothing to do
    expect(fake.log).toHaveLength(2);
    follower.reconcile(false);
    await drain(fake);
    await follower.settled();
    expect(fake.held).toBe(false);
    expect(fake.log.at(-1)).toBe("done release (no lease)");
  });

  it("rejects a release that failed, and the next claim still runs", async () => {
    let failRelease = true;
    let held = false;
    const follower = createVipFollower({
      vip: {
        claim: async () => {
          held = true;
        },
        release: async () => {
          if (failRelease) throw new Error("ip: permission denied");
          held = false;
        },
        status: () => ({ ...slowVip().vip.status(), held }),
      },
      leaseHeldNow: () => true,
      logger: silentLogger,
    });
    await expect(follower.release("lost")).rejects.toThrow(/permission denied/);
    failRelease = false;
    follower.claim("acquired");
    await follower.settled();
    expect(held).toBe(true);
  });
});
