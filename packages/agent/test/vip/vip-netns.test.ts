// Proves, in real network namespaces on a bridge, that a claimed VIP answers ping and ARP from a neighbour, that moving it to another node updates the neighbour's cache through the announcements (IPv4 gratuitous ARP, IPv6 unsolicited NA), and that the supervisor's cleanup removes a crashed agent's VIP.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { execFileRunner } from "../../src/vip/command-runner.ts";
import { startLeaseGuard } from "../../src/vip/lease-guard.ts";
import { releaseStaleVip } from "../../src/vip/release-stale-vip.ts";
import { type ShellCommandRunner, shellCommandRunner } from "../../src/vip/shell-command-runner.ts";
import { createVipManager, ipAddrDelCommand, type VipManager } from "../../src/vip/vip-manager.ts";
import { inNamespace, Lab, type Namespace, namespaceSupportProblem } from "./netns.ts";

const VIP4 = "10.231.0.100";
const VIP6 = "fd31::100";
/** Linux ignores an ARP update for an entry changed less than `locktime` (1 s by default) ago. */
const NEIGHBOUR_LOCKTIME_MS = 1_100;
const POLL_LIMIT_MS = 3_000;

const problem = namespaceSupportProblem(["arping", "ping"]);
const ipv6Problem = problem ?? namespaceSupportProblem(["na6"]);
if (problem !== undefined) {
  // biome-ignore lint/suspicious/noConsole: the skip reason must reach the CI log
  console.warn(`vip-netns.test.ts skipped: ${problem}`);
} else if (ipv6Problem !== undefined) {
  // biome-ignore lint/suspicious/noConsole: the skip reason must reach the CI log
  console.warn(`vip-netns.test.ts: IPv6 part skipped: ${ipv6Problem}`);
}

/** Shells started for the tests' managers (the agent's runner), ended after all. */
const shells: ShellCommandRunner[] = [];

function shellsIn(namespace: Namespace): ShellCommandRunner {
  const runner = shellCommandRunner({ prefix: ["ip", "netns", "exec", namespace.name] });
  shells.push(runner);
  return runner;
}

function managerIn(namespace: Namespace, address: string, prefix: number): VipManager {
  return createVipManager({
    mode: "interface",
    address,
    prefix,
    interface: "eth0",
    runner: shellsIn(namespace),
    announce: { burstIntervalMs: 100 },
  });
}

function neighbourMac(namespace: Namespace, address: string): string | undefined {
  const line = inNamespace(namespace.name, ["ip", "neigh", "show", address, "dev", "eth0"], { allowFail: true });
  return /lladdr ([0-9a-f:]{17})/.exec(line)?.[1];
}

async function waitForNeighbourMac(namespace: Namespace, address: string, mac: string): Promise<string | undefined> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let seen = neighbourMac(namespace, address);
  while (seen !== mac && Date.now() < deadline) {
    await sleep(50);
    seen = neighbourMac(namespace, address);
  }
  return seen;
}

function hasAddress(namespace: Namespace, address: string): boolean {
  return inNamespace(namespace.name, ["ip", "-o", "addr", "show", "dev", "eth0"]).includes(` ${address}/`);
}

describe.skipIf(problem !== undefined)("VIP in network namespaces (root)", () => {
  let lab: Lab | undefined;
  let a: Namespace;
  let b: Namespace;
  let c: Namespace;
  const managers: VipManager[] = [];

  beforeAll(() => {
    lab = new Lab();
    try {
      a = lab.addNamespace("a", ["10.231.0.1/24", "fd31::1/64"]);
      b = lab.addNamespace("b", ["10.231.0.2/24", "fd31::2/64"]);
      c = lab.addNamespace("c", ["10.231.0.3/24", "fd31::3/64"]);
    } catch (err) {
      lab.cleanup();
      lab = undefined;
      throw err;
    }
  });

  afterAll(async () => {
    for (const manager of managers) await manager.stop().catch(() => undefined);
    for (const runner of shells) runner.close();
    lab?.cleanup();
  });

  it("IPv4: the VIP answers from A, then moves to C and B's neighbour table follows the gratuitous ARP", async () => {
    const onA = managerIn(a, VIP4, 24);
    const onC = managerIn(c, VIP4, 24);
    managers.push(onA, onC);
    await onA.start();
    await onA.claim("test: A elected");
    expect(hasAddress(a, VIP4)).toBe(true);

    inNamespace(b.name, ["ping", "-c", "1", "-W", "2", VIP4]);
    const arping = inNamespace(b.name, ["arping", "-c", "1", "-w", "2", "-I", "eth0", VIP4]);
    expect(arping.toLowerCase()).toContain(a.mac);
    expect(neighbourMac(b, VIP4)).toBe(a.mac);

    await sleep(NEIGHBOUR_LOCKTIME_MS);
    await onA.release("test: A lost the lease");
    expect(hasAddress(a, VIP4)).toBe(false);
    await onC.claim("test: C elected");
    // No traffic from B in between: only C's announcement can have changed B's entry.
    expect(await waitForNeighbourMac(b, VIP4, c.mac)).toBe(c.mac);
    inNamespace(b.name, ["ping", "-c", "1", "-W", "2", VIP4]);
    await vi.waitFor(() => expect(onC.status().announcementsSent).toBeGreaterThanOrEqual(2), POLL_LIMIT_MS);
    await onC.release("test: done");
  });

  it.skipIf(ipv6Problem !== undefined)(
    "IPv6: the VIP moves from A to C and B's neighbour table follows the unsolicited NA",
    async () => {
      const onA = managerIn(a, VIP6, 64);
      const onC = managerIn(c, VIP6, 64);
      managers.push(onA, onC);
      await onA.claim("test: A elected");
      inNamespace(b.name, ["ping", "-6", "-c", "1", "-W", "2", VIP6]);
      expect(neighbourMac(b, VIP6)).toBe(a.mac);

      await onA.release("test: A lost the lease");
      await onC.claim("test: C elected");
      expect(await waitForNeighbourMac(b, VIP6, c.mac)).toBe(c.mac);
      inNamespace(b.name, ["ping", "-6", "-c", "1", "-W", "2", VIP6]);
      await onC.release("test: done");
    },
  );

  it("conclave vip release removes the VIP a killed agent left on the interface, and is idempotent", async () => {
    const crashed = managerIn(a, VIP4, 24);
    await crashed.claim("test: A elected, then SIGKILLed");
    expect(hasAddress(a, VIP4)).toBe(true);
    const config = { vip: { mode: "interface" as const, address: VIP4, prefix: 24 }, interface: "eth0" };
    const runner = execFileRunner({ prefix: ["ip", "netns", "exec", a.name] });
    expect((await releaseStaleVip(config, { runner })).removed).toBe(true);
    expect(hasAddress(a, VIP4)).toBe(false);
    expect((await releaseStaleVip(config, { runner })).removed).toBe(false);
    await crashed.stop(); // stops its announcement timer; the address is already gone
  });

  it("a stalled agent's VIP comes off when its lease ends: the lease guard acts while this thread is blocked", async () => {
    const guard = startLeaseGuard({
      command: ["ip", "netns", "exec", a.name, ...ipAddrDelCommand(VIP4, 24, "eth0")],
      slackMs: 10,
    });
    try {
      const stalled = createVipManager({
        mode: "interface",
        address: VIP4,
        prefix: 24,
        interface: "eth0",
        runner: shellsIn(a),
        leaseGuard: guard,
      });
      managers.push(stalled);
      await guard.ready;
      guard.publishLeaseLeft(1_000);
      await stalled.claim("test: A elected");
      expect(hasAddress(a, VIP4)).toBe(true);
      // The last Raft turn saw 50 ms of lease left; then this process's loop stops for 600 ms.
      guard.publishLeaseLeft(50);
      const blockedUntil = Date.now() + 600;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      expect(Date.now()).toBeGreaterThanOrEqual(blockedUntil - 1);
      // Checked before this thread has run anything else: the guard removed the address on its own.
      expect(hasAddress(a, VIP4)).toBe(false);
      await vi.waitFor(() => expect(stalled.status()).toMatchObject({ held: false }), POLL_LIMIT_MS);
      // The late loop's own release finds nothing left to remove, and says so quietly.
      await stalled.release("test: lease lost (stall)");
      expect(hasAddress(a, VIP4)).toBe(false);
    } finally {
      await guard.close();
    }
  });

  it("reports a missing interface and a missing command with their codes", async () => {
    const wrong = createVipManager({
      mode: "interface",
      address: VIP4,
      interface: "nosuch0",
      runner: shellsIn(b),
    });
    await expect(wrong.claim("test")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_INTERFACE" });
    for (const runner of [execFileRunner({ prefix: ["ip", "netns", "exec", b.name] }), shellsIn(b)]) {
      await expect(runner.run("conclave-no-such-command", [])).rejects.toMatchObject({
        code: "AGENT_ERR_COMMAND_NOT_FOUND",
      });
    }
  });
});
