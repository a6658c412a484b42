// Proves, with a hand-driven clock and timers, that a driver judges its lease by the monotonic clock: a stall shorter than what is left of the lease keeps it, a stall that outlasts it reports the lease lost before anything else, and a stall long enough for a new leader never leaves two lease holders.

import { MemoryStorage, type Message } from "@conclave/consensus";
import { afterEach, describe, expect, it } from "vitest";
import { ManualTime, type ManualTimers } from "../../src/raft-driver/clock.ts";
import { MemoryRaftNetwork } from "../../src/raft-driver/memory-transport.ts";
import { TestCluster } from "./support.ts";

let cluster: TestCluster | undefined;
afterEach(() => {
  cluster?.cleanup();
  cluster = undefined;
});

function manualCluster() {
  const time = new ManualTime();
  const timers = new Map<string, ManualTimers>();
  const sent: Message[] = [];
  cluster = new TestCluster({
    ids: ["a", "b", "c"],
    network: new MemoryRaftNetwork({ delivery: "immediate", onSend: (message) => sent.push(message) }),
    clock: time,
    timersFor: (id) => {
      const own = time.timersFor();
      timers.set(id, own);
      return own;
    },
    wallClock: () => 1_700_000_000_000 + time.now(),
    storageFor: () => new MemoryStorage(),
  });
  for (const id of ["a", "b", "c"]) cluster.start(id);
  return { c: cluster, time, timers, sent };
}

function leaseHolderAfter(c: TestCluster, time: ManualTime, maxMs: number) {
  for (let elapsed = 0; elapsed < maxMs; elapsed += 10) {
    time.advance(10);
    const holder = c.leaseHolder();
    if (holder) return holder;
  }
  throw new Error(`no lease holder within ${maxMs} ms of manual time`);
}

describe("stall detection", () => {
  it("keeps the lease through a stall shorter than what is left of it", () => {
    const { c, time, timers } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    time.advance(100);
    expect(leader.status().lease.held).toBe(true);

    // Heartbeats every 20 ms acknowledged at once keep at least 80 ms of the 100 ms lease ahead:
    // 60 ms without a turn is past the 40 ms margin (a stall, counted) and still inside the lease.
    timers.get(leader.selfId)!.pause();
    time.advance(60);
    expect(leader.leaseHeldNow()).toBe(true);
    const before = c.events.length;
    timers.get(leader.selfId)!.resume();

    const after = c.events.slice(before).filter((event) => event.node === leader.selfId);
    expect(after.map((event) => event.event)).toContain("stalled");
    expect(after.map((event) => event.event)).not.toContain("leaseLost");
    expect(leader.status()).toMatchObject({ role: "leader", lease: { held: true }, stalls: 1 });
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("drops the lease first when a stall outlasts it, then re-acquires it on fresh acknowledgements", () => {
    const { c, time, timers } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    time.advance(100);
    expect(leader.status().lease.held).toBe(true);

    // 120 ms without a turn: longer than the whole 100 ms lease, shorter than the 150 ms election timeout.
    timers.get(leader.selfId)!.pause();
    time.advance(120);
    // Before the late turn has run, the loop's own view is stale; the clock says the lease is gone.
    expect(leader.status().lease.held).toBe(true);
    expect(leader.leaseHeldNow()).toBe(false);
    const before = c.events.length;
    timers.get(leader.selfId)!.resume();

    const after = c.events.slice(before).filter((event) => event.node === leader.selfId);
    expect(after[0]).toMatchObject({ event: "leaseLost", payload: { reason: "stall" } });
    expect(after[0]?.payload).toMatchObject({ stalledMs: expect.any(Number) });
    expect(leader.status()).toMatchObject({ role: "leader", stalls: 1 });
    // The light accessors agree with status(): a leader without its lease is nobody's PoC yet.
    expect([leader.pocId(), leader.leaseHeld, leader.term]).toEqual([null, false, leader.status().term]);

    // Still leader: a heartbeat round later the lease is back.
    time.advance(100);
    expect(leader.status().lease.held).toBe(true);
    expect([leader.pocId(), leader.leaseHeld]).toEqual([leader.selfId, true]);
    for (const follower of c.running().filter((driver) => driver !== leader)) {
      expect(follower.pocId()).toBe(leader.selfId);
      expect(follower.term).toBe(follower.status().term);
    }
    const leaseEvents = c.events
      .slice(before)
      .filter((event) => event.event === "leaseLost" || event.event === "leaseAcquired")
      .map((event) => `${event.node}:${event.event}`);
    expect(leaseEvents).toEqual([`${leader.selfId}:leaseLost`, `${leader.selfId}:leaseAcquired`]);
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("after a stall long enough for a new leader, the old one drops the lease before it even learns it was deposed", () => {
    const { c, time, timers } = manualCluster();
    const old = leaseHolderAfter(c, time, 2_000);
    timers.get(old.selfId)!.pause();
    const successor = leaseHolderAfter(
      { leaseHolder: () => c.running().find((d) => d !== old && d.status().lease.held) } as TestCluster,
      time,
      2_000,
    );
    expect(successor.selfId).not.toBe(old.selfId);
    const before = c.events.length;
    timers.get(old.selfId)!.resume();
    time.runDue();

    const after = c.events.slice(before).filter((event) => event.node === old.selfId);
    expect(after[0]).toMatchObject({ event: "leaseLost", payload: { reason: "stall" } });
    expect(after.findIndex((event) => event.event === "leadershipChanged")).toBeGreaterThan(0);
    time.advance(50);
    expect(old.status()).toMatchObject({ role: "follower", leaderId: successor.selfId, lease: { held: false } });
  });

  it("catches up ticks by the clock and bounds the catch-up after a very long stall", () => {
    const { c, time, timers } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    const ticksBefore = leader.status().ticks;
    timers.get(leader.selfId)!.pause();
    time.advance(60_000);
    timers.get(leader.selfId)!.resume();
    time.runDue();
    // At most 2 x electionTicks are replayed: enough for every timeout to fire.
    expect(leader.status().ticks - ticksBefore).toBeLessThanOrEqual(2 * 15);
    time.advance(500);
    expect(c.leaseHolder()).toBeDefined();
    expect(c.errors()).toEqual([]);
  });
});

describe("what arrived during a stall is stepped before the stall's ticks", () => {
  // The network holds a node's messages while it is stalled (its sockets unread); `release` hands
  // them over before the node's first turn resumes, as the kernel's buffers do. Without this, the
  // replayed ticks judged that silence: a leader stepped itself down for lack of acknowledgements
  // that were waiting, and a follower campaigned against a leader whose heartbeats were waiting.

  it("a leader stalled across a whole quorum-check round keeps leading on the acknowledgements that waited", () => {
    // The leader checks its quorum every 150 ms (electionTicks). 60 ms of acknowledgements held,
    // then a 110 ms stall: 170 ms in which the leader read nothing, so at some start phase a whole
    // round passes unread. Every phase of the round is tried.
    for (let offsetMs = 0; offsetMs < 150; offsetMs += 10) {
      cluster?.cleanup();
      const { c, time, timers } = manualCluster();
      const leader = leaseHolderAfter(c, time, 2_000);
      const term = leader.status().term;
      time.advance(offsetMs);
      c.network.hold(leader.selfId);
      time.advance(60);
      timers.get(leader.selfId)!.pause();
      time.advance(110);
      const before = c.events.length;
      expect(c.network.release(leader.selfId)).toBeGreaterThan(0);
      timers.get(leader.selfId)!.resume();
      time.runDue();
      time.advance(100);

      const changes = c.events.slice(before).filter((event) => event.event === "leadershipChanged");
      expect(changes, `offset ${offsetMs} ms`).toEqual([]);
      expect(leader.status(), `offset ${offsetMs} ms`).toMatchObject({ role: "leader", term, lease: { held: true } });
      expect(c.leaseOverlaps).toEqual([]);
    }
  });

  it("a follower stalled past its election timeout does not campaign when the leader's heartbeats were waiting", () => {
    const { c, time, timers, sent } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    const follower = c.running().find((driver) => driver !== leader)!;
    const term = leader.status().term;
    c.network.hold(follower.selfId);
    timers.get(follower.selfId)!.pause();
    // Longer than the largest election timeout (300 ms); the other follower keeps the quorum.
    time.advance(400);
    const before = c.events.length;
    const sentBefore = sent.length;
    expect(c.network.release(follower.selfId)).toBeGreaterThan(0);
    timers.get(follower.selfId)!.resume();
    time.runDue();
    time.advance(100);

    // Not even a pre-vote went out: a pre-candidate that hears the leader in the same turn is
    // back to follower before any event, but its requests have left.
    const campaigns = sent.slice(sentBefore).filter((m) => m.from === follower.selfId && m.type.endsWith("ote"));
    expect(campaigns).toEqual([]);
    const own = c.events.slice(before).filter((event) => event.node === follower.selfId);
    expect(own.map((event) => event.event)).toContain("stalled");
    expect(own.filter((event) => event.event === "leadershipChanged")).toEqual([]);
    expect(follower.status()).toMatchObject({ role: "follower", leaderId: leader.selfId, term });
    expect(leader.status()).toMatchObject({ role: "leader", term, lease: { held: true } });
  });

  it("a follower that finds nothing waiting after the stall counts its ticks: the silence was real", () => {
    const { c, time, timers, sent } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    const follower = c.running().find((driver) => driver !== leader)!;
    timers.get(follower.selfId)!.pause();
    c.stop(leader.selfId);
    time.advance(400);
    const before = c.events.length;
    const sentBefore = sent.length;
    timers.get(follower.selfId)!.resume();
    time.runDue();

    // No time has passed since the stall ended: the replayed ticks alone started the election.
    const own = c.events.slice(before).filter((event) => event.node === follower.selfId);
    expect(own.filter((event) => event.event === "leadershipChanged").map((event) => event.payload)).toContainEqual(
      expect.objectContaining({ role: "preCandidate" }),
    );
    expect(
      sent
        .slice(sentBefore)
        .filter((m) => m.from === follower.selfId)
        .map((m) => m.type),
    ).toContain("preVote");
  });
});

describe("lease fence", () => {
  // Transfers here abort after one election timeout (150 ms): every check below comes before that.
  it("holds the TimeoutNow of a transfer until the fence of the lease loss resolves", async () => {
    const { c, time } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    let releaseVip: (() => void) | undefined;
    const fenced: string[] = [];
    leader.setLeaseFence(
      (reason) =>
        new Promise<void>((resolve) => {
          fenced.push(reason);
          releaseVip = resolve;
        }),
    );
    const target = c.running().find((driver) => driver !== leader)!;
    const termBefore = target.status().term;
    const transfer = leader.transferLeadership(target.selfId);
    for (let i = 0; i < 8; i++) time.advance(10);
    // The lease is gone, the VIP not yet: the target has not been told to take over.
    expect(fenced).toEqual(["transfer"]);
    expect(leader.status()).toMatchObject({ role: "leader", lease: { held: false } });
    expect(target.status().term).toBe(termBefore);

    releaseVip?.();
    await Promise.resolve();
    for (let i = 0; i < 5; i++) time.advance(10);
    await expect(transfer).resolves.toMatchObject({ leaderId: target.selfId });
    for (let i = 0; i < 10; i++) time.advance(10);
    expect(c.leaseHolder()).toBe(target);
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("drops the TimeoutNow when the fence fails: the target is never told to skip its election timeout", async () => {
    const { c, time } = manualCluster();
    const leader = leaseHolderAfter(c, time, 2_000);
    leader.setLeaseFence(async () => {
      throw new Error("ip addr del failed");
    });
    const target = c.running().find((driver) => driver !== leader)!;
    const termBefore = target.status().term;
    void leader.transferLeadership(target.selfId).catch(() => undefined);
    for (let i = 0; i < 14; i++) {
      time.advance(10);
      await Promise.resolve();
    }
    expect(target.status().term).toBe(termBefore);
    expect(c.running().filter((driver) => driver !== leader && driver.status().role === "leader")).toEqual([]);
  });
});

describe("lease watcher (the lease guard's input)", () => {
  type Seen = { kind: "publish"; msLeft: number; atMs: number } | { kind: "acquired" | "lost" };

  function watchAll(c: TestCluster, time: ManualTime): Map<string, Seen[]> {
    const seen = new Map<string, Seen[]>();
    for (const id of ["a", "b", "c"]) {
      const log: Seen[] = [];
      seen.set(id, log);
      const driver = c.driver(id);
      driver.setLeaseWatcher((msLeft) => log.push({ kind: "publish", msLeft, atMs: time.now() }));
      driver.on("leaseAcquired", () => log.push({ kind: "acquired" }));
      driver.on("leaseLost", () => log.push({ kind: "lost" }));
    }
    return seen;
  }

  it("is told the lease's end before a lease acquired or lost is reported, and keeps it ahead of the clock while held", () => {
    const { c, time, timers } = manualCluster();
    const seen = watchAll(c, time);
    const leader = leaseHolderAfter(c, time, 2_000);
    const log = seen.get(leader.selfId)!;
    const acquired = log.findIndex((entry) => entry.kind === "acquired");
    expect(acquired).toBeGreaterThan(0);
    expect(log[acquired - 1]).toMatchObject({ kind: "publish", msLeft: expect.any(Number) });
    expect((log[acquired - 1] as { msLeft: number }).msLeft).toBeGreaterThan(0);
    // Nodes without the lease are told 0, every time.
    for (const [id, other] of seen) {
      if (id === leader.selfId) continue;
      expect(other.filter((entry) => entry.kind === "publish" && entry.msLeft !== 0)).toEqual([]);
    }

    // Steady state: each turn moves the end forward, and it stays ahead of the clock.
    const from = log.length;
    for (let i = 0; i < 30; i++) {
      time.advance(10);
      const last = log.filter((entry) => entry.kind === "publish").at(-1) as { msLeft: number; atMs: number };
      expect(last.atMs + last.msLeft).toBeGreaterThan(time.now());
    }
    const ends = log
      .slice(from)
      .filter((entry) => entry.kind === "publish")
      .map((entry) => (entry as { msLeft: number; atMs: number }).atMs + (entry as { msLeft: number }).msLeft);
    expect(ends.length).toBeGreaterThan(10);
    expect(ends).toEqual([...ends].sort((x, y) => x - y));

    // A stall that outlasts the lease: the late turn reports 0 before it reports the loss.
    timers.get(leader.selfId)!.pause();
    time.advance(120);
    const beforeResume = log.length;
    timers.get(leader.selfId)!.resume();
    const afterResume = log.slice(beforeResume);
    const lost = afterResume.findIndex((entry) => entry.kind === "lost");
    expect(lost).toBeGreaterThan(0);
    expect(afterResume[lost - 1]).toMatchObject({ kind: "publish", msLeft: 0 });
  });
});
