// Proves the VIP manager's commands, idempotency, announcement schedule, release on stop, stale-VIP removal and error codes, with a fake command runner.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommandAbortedError } from "../../src/errors.ts";
import type { CommandRunOptions } from "../../src/vip/command-runner.ts";
import {
  ANNOUNCE_BURST_COUNT,
  ANNOUNCE_BURST_INTERVAL_MS,
  ANNOUNCE_REFRESH_INTERVAL_MS,
  createVipManager,
  type VipManagerInit,
} from "../../src/vip/index.ts";
import type { LeaseGuard, LeaseGuardFiring } from "../../src/vip/lease-guard.ts";
import { releaseStaleVip } from "../../src/vip/release-stale-vip.ts";
import { ipAddrDelCommand } from "../../src/vip/vip-manager.ts";
import { FakeRunner } from "./fake-runner.ts";

interface LogLine {
  level: string;
  object: Record<string, unknown>;
  message: string | undefined;
}

function recordingLogger() {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (object: object, message?: string): void => {
      lines.push({ level, object: object as Record<string, unknown>, message });
    };
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

let runner: FakeRunner;
let log: ReturnType<typeof recordingLogger>;

function manager(overrides: Partial<VipManagerInit> = {}) {
  return createVipManager({
    mode: "interface",
    address: "10.0.0.100",
    prefix: 24,
    interface: "eth0",
    runner,
    logger: log.logger,
    ...overrides,
  });
}

const ARPING = /^arping -U -c 1 -I eth0 10\.0\.0\.100$/;

beforeEach(() => {
  vi.useFakeTimers();
  runner = new FakeRunner();
  log = recordingLogger();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("interface mode", () => {
  it("adds the address, then announces in a burst and refreshes periodically", async () => {
    const vip = manager();
    await vip.claim("elected PoC with lease");
    expect(runner.lines(/^ip /)).toEqual(["ip addr add 10.0.0.100/24 dev eth0"]);
    // The first gratuitous ARP leaves with the add (its runner starts it), before the burst.
    expect(runner.followUps).toEqual(["arping -U -c 1 -I eth0 10.0.0.100"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.lines(ARPING)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(ANNOUNCE_BURST_INTERVAL_MS * (ANNOUNCE_BURST_COUNT - 1));
    expect(runner.lines(ARPING)).toHaveLength(ANNOUNCE_BURST_COUNT);
    await vi.advanceTimersByTimeAsync(ANNOUNCE_REFRESH_INTERVAL_MS - 1);
    expect(runner.lines(ARPING)).toHaveLength(ANNOUNCE_BURST_COUNT);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.lines(ARPING)).toHaveLength(ANNOUNCE_BURST_COUNT + 1);
    await vi.advanceTimersByTimeAsync(ANNOUNCE_REFRESH_INTERVAL_MS * 3);
    expect(runner.lines(ARPING)).toHaveLength(ANNOUNCE_BURST_COUNT + 4);
    expect(vip.status()).toMatchObject({ held: true, announcementsSent: ANNOUNCE_BURST_COUNT + 4 });
    await vip.stop();
  });

  it("moves its command shells to the agent's new priority", async () => {
    const vip = manager();
    vip.setNice(-10);
    vip.setNice(0);
    expect(runner.nices).toEqual([-10, 0]);
    await vip.stop();
  });

  it("is idempotent: a second claim does nothing, an address already there counts as claimed", async () => {
    runner.addresses.add("10.0.0.100/24"); // left by a crashed run
    const vip = manager();
    await vip.claim("first");
    await vip.claim("second");
    expect(runner.lines(/^ip addr add/)).toHaveLength(1);
    expect(vip.status().held).toBe(true);
    await vip.release("lease lapsed");
    await vip.release("lease lapsed again");
    expect(runner.addresses.size).toBe(0);
    expect(vip.status().held).toBe(false);
  });

  it("stops announcing when released, and a claim after that announces afresh", async () => {
    const vip = manager();
    await vip.claim("elected");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_BURST_INTERVAL_MS);
    await vip.release("lost lease");
    const sent = runner.lines(ARPING).length;
    await vi.advanceTimersByTimeAsync(ANNOUNCE_REFRESH_INTERVAL_MS * 2);
    expect(runner.lines(ARPING)).toHaveLength(sent);
    expect(runner.lines(/^ip addr del/)).toEqual(["ip addr del 10.0.0.100/24 dev eth0"]);
    await vip.claim("elected again");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_BURST_INTERVAL_MS * ANNOUNCE_BURST_COUNT);
    expect(runner.lines(ARPING)).toHaveLength(sent + ANNOUNCE_BURST_COUNT);
    await vip.stop();
  });

  it("releases the VIP on stop, and refuses claims afterwards", async () => {
    const vip = manager();
    await vip.claim("elected");
    await vip.stop("SIGTERM");
    expect(runner.addresses.size).toBe(0);
    expect(vip.status()).toMatchObject({ held: false, lastReason: "SIGTERM" });
    await expect(vip.claim("too late")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_CLAIM" });
  });

  it("logs every claim and release with its reason", async () => {
    const vip = manager();
    await vip.claim("won election in term 7");
    await vip.release("lease lapsed");
    const infos = log.lines.filter((line) => line.level === "info");
    expect(infos.map((line) => [line.message, line.object.reason])).toEqual([
      ["VIP claimed", "won election in term 7"],
      ["VIP released", "lease lapsed"],
    ]);
  });

  it("runs claims and releases in the order asked, one at a time", async () => {
    const vip = manager();
    await Promise.all([vip.claim("a"), vip.release("b"), vip.claim("c"), vip.release("d")]);
    expect(runner.lines(/^ip addr (add|del)/)).toEqual([
      "ip addr add 10.0.0.100/24 dev eth0",
      "ip addr del 10.0.0.100/24 dev eth0",
      "ip addr add 10.0.0.100/24 dev eth0",
      "ip addr del 10.0.0.100/24 dev eth0",
    ]);
    expect(vip.status().held).toBe(false);
  });

  it("removes every entry of the VIP, whatever its prefix, and says when there was none", async () => {
    runner.addresses.add("10.0.0.100/32");
    runner.addresses.add("10.0.0.100/24");
    runner.addresses.add("10.0.0.2/24");
    const vip = manager();
    expect(await vip.removeStaleVip("agent starting")).toBe(true);
    expect([...runner.addresses]).toEqual(["10.0.0.2/24"]);
    expect(await vip.removeStaleVip("again")).toBe(false);
    expect(log.lines.filter((line) => line.message === "stale VIP removed")).toHaveLength(1);
  });

  it("start() removes a stale VIP", async () => {
    runner.addresses.add("10.0.0.100/24");
    const vip = manager();
    await vip.start();
    expect(runner.addresses.size).toBe(0);
  });

  it("uses ip -6 with nodad and na6 unsolicited advertisements for IPv6", async () => {
    const vip = manager({ address: "fd00::100", prefix: undefined });
    await vip.claim("elected");
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.lines(/^ip /)).toEqual(["ip -6 addr add fd00::100/64 dev eth0 nodad"]);
    expect(runner.lines(/^na6/)).toEqual(["na6 -i eth0 -s fd00::100 -d ff02::1 -t fd00::100 -o -e"]);
    expect(runner.followUps).toEqual(["na6 -i eth0 -s fd00::100 -d ff02::1 -t fd00::100 -o -e"]);
    runner.addresses.clear();
    runner.addresses.add("fd00:0:0::100/64");
    await vip.release("lease lapsed");
    // The configured spelling, whatever the kernel lists (the fake does not normalise, so it is tried twice).
    expect(new Set(runner.lines(/addr del/))).toEqual(new Set(["ip -6 addr del fd00::100/64 dev eth0"]));
  });

  it("starts no announcement with an add that failed", async () => {
    runner.on(/^ip addr add/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } }, 1);
    await expect(manager().claim("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_PERMISSION" });
    expect(runner.followUps).toEqual([]);
  });

  it("maps ip failures to stable codes", async () => {
    runner.on(/^ip addr add/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } }, 1);
    await expect(manager().claim("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_PERMISSION" });
    runner.on(/^ip addr add/, { fail: { stderr: 'Cannot find device "eth0"' } }, 1);
    await expect(manager().claim("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_INTERFACE" });
    runner.on(/^ip addr add/, { fail: { stderr: "Error: something else" } }, 1);
    await expect(manager().claim("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_CLAIM" });
    runner.on(/^ip addr add/, "not-found", 1);
    await expect(manager().claim("x")).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_NOT_FOUND" });
    runner.addresses.add("10.0.0.100/24");
    runner.on(/^ip addr del/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } }, 1);
    await expect(manager().release("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_PERMISSION" });
    runner.on(/^ip addr del/, { fail: { stderr: "Error: weird" } }, 1);
    await expect(manager().release("x")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_RELEASE" });
    const failed = manager();
    runner.on(/^ip addr add/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } }, 1);
    await failed.claim("x").catch(() => undefined);
    expect(failed.status()).toMatchObject({ held: false, lastError: expect.stringContaining("CAP_NET_ADMIN") });
  });

  it("treats a missing interface on release as nothing to release", async () => {
    runner.on(/^ip -o addr show/, { fail: { exitCode: 1, stderr: 'Device "eth0" does not exist.' } });
    await expect(manager().release("x")).resolves.toBeUndefined();
  });

  it("keeps the VIP when an announcement fails, and stops announcing when arping is missing", async () => {
    runner.on(ARPING, { fail: { exitCode: 2, stderr: "arping: sendto: Network is down" } }, 1);
    const vip = manager();
    await vip.claim("elected");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_BURST_INTERVAL_MS * 2);
    expect(vip.status()).toMatchObject({ held: true, announcementFailures: 1, announcementsSent: 2 });
    await vip.release("test");

    runner.on(ARPING, "not-found");
    const bare = manager();
    await bare.claim("elected");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_REFRESH_INTERVAL_MS * 2);
    expect(bare.status()).toMatchObject({ held: true, announcementFailures: 1 });
    expect(log.lines.some((line) => line.level === "error" && /arping/.test(String(line.object.err)))).toBe(true);
    await bare.stop();
  });

  it("stops an announcement in flight before removing the address, without waiting out its second", async () => {
    const order: string[] = [];
    const slowRunner = {
      async run(command: string, args: readonly string[], options?: CommandRunOptions) {
        order.push(`${command} ${args[0]} ${args[1]}`);
        if (command === "arping") {
          // arping -U -c 1 sends at once, then waits a second for replies: only an abort ends it early.
          await new Promise<void>((_resolve, reject) =>
            options?.signal?.addEventListener("abort", () => {
              order.push("arping aborted");
              reject(new CommandAbortedError(command, args));
            }),
          );
        }
        return { stdout: "", stderr: "" };
      },
    };
    const vip = manager({ runner: slowRunner });
    await vip.claim("elected");
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["ip addr add", "arping -U -c"]);
    await vip.release("lease lapsed");
    expect(order.slice(2)).toEqual(["arping aborted", "ip addr del", "ip -o addr"]);
    expect(vip.status()).toMatchObject({ held: false, announcementFailures: 0 });
  });
});

describe("none mode", () => {
  it("runs nothing but reports", async () => {
    const vip = manager({ mode: "none", address: undefined, interface: undefined });
    await vip.start();
    await vip.claim("elected");
    expect(vip.status()).toMatchObject({ mode: "none", held: true, lastReason: "elected" });
    await vip.release("stepped down");
    expect(vip.status()).toMatchObject({ held: false, lastReason: "stepped down" });
    expect(runner.calls).toEqual([]);
  });
});

describe("loopback mode with a fake hook", () => {
  it("binds on claim, unbinds on release, and maps EADDRINUSE", async () => {
    const events: string[] = [];
    const hook = {
      bind: async (address: string) => void events.push(`bind ${address}`),
      unbind: async (address: string) => void events.push(`unbind ${address}`),
    };
    const vip = manager({ mode: "loopback", address: "127.0.0.42", interface: undefined, listener: hook });
    await vip.claim("elected");
    await vip.claim("elected");
    await vip.release("lost lease");
    await vip.release("lost lease");
    expect(events).toEqual(["bind 127.0.0.42", "unbind 127.0.0.42"]);
    expect(runner.calls).toEqual([]);

    const busy = manager({
      mode: "loopback",
      address: "127.0.0.42",
      listener: {
        bind: async () => Promise.reject(Object.assign(new Error("busy"), { code: "EADDRINUSE" })),
        unbind: async () => {},
      },
    });
    await expect(busy.claim("elected")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_ADDRESS_IN_USE" });
    expect(busy.status().held).toBe(false);
  });

  it("refuses to be created without what its mode needs", () => {
    expect(() => manager({ mode: "loopback", address: "127.0.0.42" })).toThrow(/listener hook/);
    expect(() => manager({ interface: undefined })).toThrow(/needs an interface/);
    expect(() => manager({ address: undefined })).toThrow(/needs an address/);
  });
});

describe("releaseStaleVip (conclave vip release)", () => {
  it("removes the VIP from the configured interface, idempotently", async () => {
    runner.addresses.add("10.0.0.100/24");
    const config = { vip: { mode: "interface" as const, address: "10.0.0.100", prefix: 24 }, interface: "eth0" };
    const first = await releaseStaleVip(config, { runner });
    expect(first).toMatchObject({ removed: true, message: "VIP 10.0.0.100 removed from eth0" });
    const second = await releaseStaleVip(config, { runner });
    expect(second).toMatchObject({ removed: false, message: "VIP 10.0.0.100 was not on eth0: nothing to release" });
  });

  it("has nothing to do in loopback and none modes", async () => {
    const loopback = await releaseStaleVip(
      { vip: { mode: "loopback", address: "127.0.0.9" }, interface: undefined },
      { runner },
    );
    expect(loopback.removed).toBe(false);
    expect(loopback.message).toMatch(/nothing to release/);
    const none = await releaseStaleVip({ vip: { mode: "none" }, interface: undefined }, { runner });
    expect(none.message).toMatch(/no VIP/);
    expect(runner.calls).toEqual([]);
  });
});

/** A lease guard driven by the test: fire() does what the worker would (removes the address) and reports. */
class FakeLeaseGuard implements LeaseGuard {
  readonly ready = Promise.resolve();
  armed = false;
  arms = 0;
  #fired = false;
  readonly #listeners = new Set<(firing: LeaseGuardFiring) => void>();
  readonly #addresses: Set<string>;
  constructor(addresses: Set<string>) {
    this.#addresses = addresses;
  }
  publishLeaseLeft(): void {}
  setNice(): void {}
  arm(): void {
    this.armed = true;
    this.#fired = false;
    this.arms++;
  }
  disarm(): boolean {
    const fired = this.#fired;
    this.armed = false;
    this.#fired = false;
    return fired;
  }
  get fired(): boolean {
    return this.#fired;
  }
  /** The lease ran out while armed: the worker's `ip addr del`, then its report (if `report`). */
  fire(report = true): void {
    if (!this.armed) throw new Error("the guard fires only while armed");
    this.armed = false;
    this.#fired = true;
    this.#addresses.delete("10.0.0.100/24");
    if (report) for (const listener of this.#listeners) listener({ lateMs: 20, tookMs: 3, ok: true, detail: "" });
  }
  onFired(listener: (firing: LeaseGuardFiring) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  async close(): Promise<void> {}
}

describe("interface mode with the lease guard", () => {
  it("arms the guard before the address goes on and keeps it armed until the address is off", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const armedAt: string[] = [];
    const run = runner.run.bind(runner);
    runner.run = async (command: string, args: readonly string[]) => {
      if (command === "ip" && (args[1] === "add" || args[1] === "del")) armedAt.push(`${args[1]} ${guard.armed}`);
      return run(command, args);
    };
    const vip = manager({ leaseGuard: guard });
    await vip.claim("PoC");
    expect(guard.armed).toBe(true);
    expect(runner.addresses.has("10.0.0.100/24")).toBe(true);
    await vip.release("lease lost");
    expect(guard.armed).toBe(false);
    expect(runner.addresses.has("10.0.0.100/24")).toBe(false);
    expect(armedAt).toEqual(["add true", "del true"]);
    await vip.stop();
  });

  it("a claim that fails disarms the guard", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    runner.on(/^ip addr add/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } });
    const vip = manager({ leaseGuard: guard });
    await expect(vip.claim("PoC")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_PERMISSION" });
    expect(guard.armed).toBe(false);
    await vip.stop();
  });

  it("once the guard has fired, the VIP is not held, announcements stop, and the next claim adds it again", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const vip = manager({ leaseGuard: guard });
    await vip.claim("PoC");
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.lines(ARPING)).toHaveLength(1);
    guard.fire();
    expect(vip.status()).toMatchObject({ held: false, lastReason: expect.stringMatching(/lease guard removed/) });
    await vi.advanceTimersByTimeAsync(ANNOUNCE_BURST_INTERVAL_MS * ANNOUNCE_BURST_COUNT);
    expect(runner.lines(ARPING)).toHaveLength(1);
    await vip.claim("PoC again: lease acquired");
    expect(runner.addresses.has("10.0.0.100/24")).toBe(true);
    expect(vip.status().held).toBe(true);
    expect(guard.arms).toBe(2);
    await vip.stop();
  });

  it("learns that the guard fired even before its report arrives (status, the next claim)", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const vip = manager({ leaseGuard: guard });
    await vip.claim("PoC");
    guard.fire(false);
    expect(vip.status().held).toBe(false);
    await vip.stop();
  });

  it("a guard that fired while the address was going on: the address is taken off again and the claim fails", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    // The guard's `ip addr del` ran before this process's `ip addr add` landed.
    runner.on(/^ip addr add/, { stdout: "", stderr: "" }, 1);
    const add = runner.run.bind(runner);
    runner.run = async (command: string, args: readonly string[]) => {
      const result = await add(command, args);
      if (args[1] === "add") {
        guard.fire();
        runner.addresses.add("10.0.0.100/24");
      }
      return result;
    };
    const vip = manager({ leaseGuard: guard });
    await expect(vip.claim("PoC")).rejects.toThrow(/lease ran out while VIP 10\.0\.0\.100 was being claimed/);
    expect(runner.addresses.has("10.0.0.100/24")).toBe(false);
    expect(guard.armed).toBe(false);
    expect(guard.fired).toBe(false);
    expect(vip.status().held).toBe(false);
    await vip.stop();
  });

  it("a release that fails leaves the guard armed", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const vip = manager({ leaseGuard: guard });
    await vip.claim("PoC");
    runner.on(/^ip addr del/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } }, 1);
    await expect(vip.release("lease lost")).rejects.toMatchObject({ code: "AGENT_ERR_VIP_PERMISSION" });
    expect(guard.armed).toBe(true);
    await vip.stop();
  });

  it("a release after the guard fired is quiet about the missing address and says the guard fired", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const vip = manager({ leaseGuard: guard });
    await vip.claim("PoC");
    guard.fire(false);
    await vip.release("lease lost in term 3 (stall)");
    expect(log.lines.filter((line) => line.level === "error")).toEqual([]);
    expect(log.lines.find((line) => line.message === "VIP released")?.object).toMatchObject({ guardFired: true });
    expect(guard.fired).toBe(false);
    await vip.stop();
  });

  it("loopback mode never arms a guard", async () => {
    const guard = new FakeLeaseGuard(runner.addresses);
    const vip = manager({
      mode: "loopback",
      address: "127.0.0.42",
      listener: { bind: async () => {}, unbind: async () => {} },
      leaseGuard: guard,
    });
    await vip.claim("PoC");
    expect(guard.arms).toBe(0);
    await vip.stop();
  });
});

describe("ipAddrDelCommand", () => {
  it("spells the release's command for IPv4 and IPv6, with the default prefixes", () => {
    expect(ipAddrDelCommand("10.0.0.100", 24, "eth0")).toEqual(["ip", "addr", "del", "10.0.0.100/24", "dev", "eth0"]);
    expect(ipAddrDelCommand("10.0.0.100", undefined, "eth1")).toEqual([
      "ip",
      "addr",
      "del",
      "10.0.0.100/24",
      "dev",
      "eth1",
    ]);
    expect(ipAddrDelCommand("fd00::5", undefined, "eth0")).toEqual([
      "ip",
      "-6",
      "addr",
      "del",
      "fd00::5/64",
      "dev",
      "eth0",
    ]);
  });
});
