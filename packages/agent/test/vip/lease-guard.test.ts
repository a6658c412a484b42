// Proves the lease guard on its real worker thread: it runs its command once the lease's end plus
// the slack has passed while armed, even while this thread is blocked; it does nothing while the
// lease is renewed, when disarmed, or when never armed; it reports a failing command; and close()
// ends the worker and its shell.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { getPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LeaseGuard, type LeaseGuardFiring, startLeaseGuard } from "../../src/vip/lease-guard.ts";

/** Bound on any wait for the guard in these tests. */
const WAIT_LIMIT_MS = 5_000;
const SLACK_MS = 10;

let dir: string;
let marker: string;
const guards: LeaseGuard[] = [];

/** A guard whose command appends the wall-clock time (ms) to the marker file. */
function markerGuard(command?: string[]): LeaseGuard {
  const guard = startLeaseGuard({
    command: command ?? ["sh", "-c", `date +%s%3N >> '${marker}'`],
    slackMs: SLACK_MS,
  });
  guards.push(guard);
  return guard;
}

function firings(guard: LeaseGuard): LeaseGuardFiring[] {
  const seen: LeaseGuardFiring[] = [];
  guard.onFired((firing) => seen.push(firing));
  return seen;
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!condition() && Date.now() < deadline) await sleep(5);
}

function markerTimes(): number[] {
  if (!existsSync(marker)) return [];
  return readFileSync(marker, "utf8").trim().split("\n").filter(Boolean).map(Number);
}

/** Blocks this thread (its event loop included) for `ms`. */
function blockThisThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Shells that are children of this process, by pid. */
function childShells(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
      const ppid = Number(rest?.split(" ")[1]);
      if (ppid === process.pid && (comm === "sh" || comm === "dash" || comm === "bash")) pids.add(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-lease-guard-"));
  marker = join(dir, "fired");
});

afterEach(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== "linux")("lease guard", () => {
  it("runs its command once the lease's end plus the slack has passed, while this thread is blocked", async () => {
    const guard = markerGuard();
    const seen = firings(guard);
    await guard.ready;
    guard.publishLeaseLeft(50);
    guard.arm();
    const blockedFrom = Date.now();
    blockThisThread(1_500);
    const blockedTo = Date.now();
    // The command ran while this thread could not have run anything.
    const [firedAt] = markerTimes();
    expect(firedAt).toBeDefined();
    expect(firedAt!).toBeGreaterThanOrEqual(blockedFrom + 50 + SLACK_MS - 5);
    expect(firedAt!).toBeLessThan(blockedTo);
    expect(guard.fired).toBe(true);
    await waitFor(() => seen.length > 0);
    expect(seen).toEqual([expect.objectContaining({ ok: true, detail: "" })]);
    expect(seen[0]!.lateMs).toBeGreaterThanOrEqual(SLACK_MS - 1);
    // A release after the guard fired learns of it, and the guard stands down.
    expect(guard.disarm()).toBe(true);
    expect(guard.fired).toBe(false);
  });

  it("does nothing while the lease is renewed, and nothing once disarmed", async () => {
    const guard = markerGuard();
    const seen = firings(guard);
    await guard.ready;
    guard.publishLeaseLeft(300);
    guard.arm();
    for (let i = 0; i < 30; i++) {
      guard.publishLeaseLeft(300);
      await sleep(10);
    }
    expect(guard.disarm()).toBe(false);
    guard.publishLeaseLeft(0);
    await sleep(200);
    expect(markerTimes()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("an end moved earlier (a lease lost before its time) wakes the guard", async () => {
    const guard = markerGuard();
    const seen = firings(guard);
    await guard.ready;
    guard.publishLeaseLeft(60_000);
    guard.arm();
    await sleep(50);
    guard.publishLeaseLeft(0);
    await waitFor(() => seen.length === 1);
    expect(markerTimes()).toHaveLength(1);
  });

  it("never fires unarmed, however long ago the lease ended", async () => {
    const guard = markerGuard();
    await guard.ready;
    guard.publishLeaseLeft(1);
    await sleep(200);
    guard.publishLeaseLeft(0);
    await sleep(100);
    expect(markerTimes()).toEqual([]);
    expect(guard.fired).toBe(false);
  });

  it("armed without a lease, fires at once; armed again after a release, fires again", async () => {
    const guard = markerGuard();
    const seen = firings(guard);
    guard.publishLeaseLeft(0);
    guard.arm();
    await waitFor(() => seen.length === 1);
    expect(markerTimes()).toHaveLength(1);
    expect(guard.disarm()).toBe(true);
    // The next claim: a fresh lease, then it runs out.
    guard.publishLeaseLeft(30);
    guard.arm();
    await waitFor(() => seen.length === 2);
    expect(markerTimes()).toHaveLength(2);
  });

  it("reports a command that fails, with its error output", async () => {
    const guard = markerGuard(["sh", "-c", "echo 'RTNETLINK answers: Operation not permitted' >&2; exit 2"]);
    const seen = firings(guard);
    guard.publishLeaseLeft(0);
    guard.arm();
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ ok: false, detail: "RTNETLINK answers: Operation not permitted" });
  });

  it("counts a failure that means the work was already done as done", async () => {
    const guard = startLeaseGuard({
      command: ["sh", "-c", "echo 'RTNETLINK answers: Cannot assign requested address' >&2; exit 2"],
      slackMs: SLACK_MS,
      alreadyDone: /Cannot assign requested address/,
    });
    guards.push(guard);
    const seen = firings(guard);
    guard.publishLeaseLeft(0);
    guard.arm();
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ ok: true, detail: "RTNETLINK answers: Cannot assign requested address" });
  });

  it("close() ends the worker and its standby shell", async () => {
    const before = childShells();
    const guard = markerGuard();
    await waitFor(() => [...childShells()].some((pid) => !before.has(pid)));
    expect([...childShells()].filter((pid) => !before.has(pid))).toHaveLength(1);
    await guard.close();
    await waitFor(() => [...childShells()].every((pid) => before.has(pid)));
    expect([...childShells()].filter((pid) => !before.has(pid))).toEqual([]);
    // Closed, it neither arms nor fires.
    guard.publishLeaseLeft(0);
    guard.arm();
    await sleep(100);
    expect(markerTimes()).toEqual([]);
  });

  it("setNice() moves the standby shell (the same one) to that priority, and it still fires", async () => {
    const before = childShells();
    const guard = markerGuard();
    const fired = firings(guard);
    await guard.ready;
    await waitFor(() => [...childShells()].some((pid) => !before.has(pid)));
    const [shell] = [...childShells()].filter((pid) => !before.has(pid));
    if (shell === undefined) throw new Error("the guard started no standby shell");
    // A weaker priority than this process's: lowering one's own priority needs no privilege.
    const nice = Math.min(getPriority() + 3, 19);
    guard.setNice(nice);
    await waitFor(() => getPriority(shell) === nice);
    expect([...childShells()].filter((pid) => !before.has(pid))).toEqual([shell]);
    guard.publishLeaseLeft(20);
    guard.arm();
    await waitFor(() => fired.length === 1);
    expect(fired[0]?.ok).toBe(true);
    expect(markerTimes()).toHaveLength(1);
  });

  it("rejects a guard without a command or with a negative slack", () => {
    expect(() => startLeaseGuard({ command: [], slackMs: 10 })).toThrow(/needs a command/);
    expect(() => startLeaseGuard({ command: ["true"], slackMs: -1 })).toThrow(/slack must be 0 or more, got -1/);
  });
});
