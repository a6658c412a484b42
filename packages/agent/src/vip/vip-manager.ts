// The VIP: the floating address the PoC answers on. The daemon's loop calls claim() when this node
// is PoC and holds the lease, release() the moment either lapses; this file only does what it is
// told, in order, and logs every claim and release with the reason it was given.
//
//   interface  `ip addr add <vip>/<prefix> dev <iface>` (an existing address is fine), then
//              announce: IPv4 gratuitous ARP (`arping -U -c 1 -I <iface> <vip>`), IPv6 unsolicited
//              Neighbor Advertisement with the Override flag (`na6` from ipv6toolkit: neither
//              ndisc6 nor iputils can send one, and the kernel's ndisc_notify does not announce
//              an added address), ANNOUNCE_BURST_COUNT times ANNOUNCE_BURST_INTERVAL_MS apart,
//              then every ANNOUNCE_REFRESH_INTERVAL_MS while held. One more leaves first, started
//              by the runner the moment the add succeeds (`thenStart`): on a 32-BMC rack the new
//              PoC's loop took 50–170 ms to hear of the add, while neighbours still sent to the old
//              MAC. release: `ip addr del`.
//   loopback   the VIP is in 127.0.0.0/8, all of which Linux routes to `lo` (the local table's
//              `local 127.0.0.0/8 dev lo`), so nothing is added: claiming binds the facade listener
//              to the address through the given hook, releasing closes it. No root needed.
//   none       nothing happens; claims and releases are still logged and reported in status().
import { isIPv6 } from "node:net";
import type { VipMode } from "../config/schema.ts";
import {
  AgentError,
  CommandAbortedError,
  CommandFailedError,
  CommandNotFoundError,
  VipAddressInUseError,
  VipClaimError,
  VipInterfaceError,
  VipPermissionError,
  VipReleaseError,
} from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { CommandRunner } from "./command-runner.ts";
import { defaultPrefix, parseIpAddrShow, sameAddress } from "./ip-address.ts";
import type { LeaseGuard } from "./lease-guard.ts";
import { shellCommandRunner } from "./shell-command-runner.ts";

/** Announcements right after a claim: neighbours that missed one (a busy switch, a lost frame) get the next. */
export const ANNOUNCE_BURST_COUNT = 5;
export const ANNOUNCE_BURST_INTERVAL_MS = 200;
/** Re-announcement while the VIP is held, for neighbours that joined or flushed their cache since. */
export const ANNOUNCE_REFRESH_INTERVAL_MS = 30_000;
/** Where unsolicited Neighbor Advertisements go: all nodes on the link. */
export const IPV6_ALL_NODES = "ff02::1";

export interface AnnounceSchedule {
  readonly burstCount: number;
  readonly burstIntervalMs: number;
  readonly refreshIntervalMs: number;
}

export const DEFAULT_ANNOUNCE_SCHEDULE: AnnounceSchedule = Object.freeze({
  burstCount: ANNOUNCE_BURST_COUNT,
  burstIntervalMs: ANNOUNCE_BURST_INTERVAL_MS,
  refreshIntervalMs: ANNOUNCE_REFRESH_INTERVAL_MS,
});

/**
 * Loopback mode: starts and stops the facade listener on the VIP address. `bind` rejects with the
 * listen error (EADDRINUSE when another process holds address and port). See `serverListenerHook`.
 */
export interface VipListenerHook {
  bind(address: string): Promise<void>;
  unbind(address: string): Promise<void>;
}

export interface VipManagerInit {
  readonly mode: VipMode;
  /** Required unless mode is `none`. */
  readonly address?: string | undefined;
  /** Default: 24 for IPv4, 64 for IPv6. */
  readonly prefix?: number | undefined;
  /** Required in `interface` mode. */
  readonly interface?: string | undefined;
  /** Required in `loopback` mode. */
  readonly listener?: VipListenerHook | undefined;
  /**
   * Runs ip, arping and na6. Default: long-lived shells on this host (`shellCommandRunner`), closed
   * by stop(); a runner passed in is the caller's to close.
   */
  readonly runner?: CommandRunner | undefined;
  /**
   * Interface mode: removes the address if the lease runs out while this process is stalled
   * (`lease-guard.ts`). Armed before each claim's `ip addr add`, disarmed once a release removed it.
   * The caller starts it with `ipAddrDelCommand` and closes it.
   */
  readonly leaseGuard?: LeaseGuard | undefined;
  readonly announce?: Partial<AnnounceSchedule> | undefined;
  readonly logger?: AgentLogger | undefined;
  readonly nowMs?: (() => number) | undefined;
}

export interface VipStatus {
  readonly mode: VipMode;
  readonly address: string | undefined;
  /** True while this node holds the VIP (in `none` mode: while it would). */
  readonly held: boolean;
  readonly heldSinceMs: number | undefined;
  /** The reason given with the last claim or release. */
  readonly lastReason: string | undefined;
  readonly announcementsSent: number;
  readonly announcementFailures: number;
  readonly lastError: string | undefined;
}

export interface VipManager {
  /** Removes a VIP left behind by an earlier run: at start-up no node is PoC yet. */
  start(): Promise<void>;
  /** Stops announcing and releases the VIP if held. */
  stop(reason?: string): Promise<void>;
  /** Takes the VIP. Idempotent. Rejects with an AgentError (the VIP is then not held). */
  claim(reason: string): Promise<void>;
  /** Gives the VIP up. Idempotent: the address is removed even when this process did not add it. */
  release(reason: string): Promise<void>;
  /** Removes the VIP if this host has it (interface mode). Resolves true when something was removed. */
  removeStaleVip(reason: string): Promise<boolean>;
  /**
   * The agent's scheduling priority changed: the processes kept for the VIP's commands (the `ip`
   * and `arping` shells) follow it, so a claim does not wait for CPU at the old priority.
   */
  setNice(nice: number): void;
  status(): VipStatus;
}

/** The words of `ip addr del` for the VIP: what a release runs, and what the lease guard runs. */
export function ipAddrDelCommand(vip: string, prefix: number | undefined, iface: string): string[] {
  const length = prefix ?? defaultPrefix(vip);
  return ["ip", ...(isIPv6(vip) ? ["-6"] : []), "addr", "del", `${vip}/${length}`, "dev", iface];
}

const ADDRESS_EXISTS = /File exists|already assigned/i;
/** What `ip addr del` says when the address is not there (a release that found it gone already). */
export const ADDRESS_ABSENT = /Cannot assign requested address|address not found/i;
const NOT_PERMITTED = /Operation not permitted|Permission denied/i;
const NO_DEVICE = /Cannot find device|does not exist/i;

export function createVipManager(init: VipManagerInit): VipManager {
  const mode = init.mode;
  const logger = init.logger ?? silentLogger;
  const nowMs = init.nowMs ?? Date.now;
  const schedule: AnnounceSchedule = { ...DEFAULT_ANNOUNCE_SCHEDULE, ...init.announce };
  const address = init.address;
  if (mode !== "none" && address === undefined) throw new VipClaimError(`vip mode ${mode} needs an address`);
  if (mode === "interface" && init.interface === undefined) {
    throw new VipClaimError("vip mode interface needs an interface");
  }
  if (mode === "loopback" && init.listener === undefined) {
    throw new VipClaimError("vip mode loopback needs a listener hook to bind the facade to the VIP");
  }
  const iface = init.interface ?? "";
  const vip = address ?? "";
  const ipv6 = isIPv6(vip);
  const prefix = init.prefix ?? defaultPrefix(vip);
  // The runner starts a shell only for the first command it runs: loopback and none modes run none.
  const ownRunner = init.runner === undefined ? shellCommandRunner() : undefined;
  const runner: CommandRunner = init.runner ?? ownRunner!;
  const listener = init.listener;
  const guard = mode === "interface" ? init.leaseGuard : undefined;

  let held = false;
  let heldSinceMs: number | undefined;
  let lastReason: string | undefined;
  let lastError: string | undefined;
  let announcementsSent = 0;
  let announcementFailures = 0;
  let stopped = false;

  // Claims and releases run one at a time, in the order they were asked for.
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(operation: () => Promise<T>): Promise<T> => {
    const result = queue.then(operation, operation);
    queue = result.catch(() => undefined);
    return result;
  };

  // --- announcements (interface mode) ---
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  let announcing: Promise<void> | undefined;
  /** Kills the announcement in flight: `arping -U -c 1` waits a whole second for replies that never come. */
  let announceAbort: AbortController | undefined;
  let announceGeneration = 0;

  const announceCommand = (): [string, string[]] =>
    ipv6
      ? ["na6", ["-i", iface, "-s", vip, "-d", IPV6_ALL_NODES, "-t", vip, "-o", "-e"]]
      : ["arping", ["-U", "-c", "1", "-I", iface, vip]];

  const announceOnce = async (generation: number): Promise<boolean> => {
    const [command, args] = announceCommand();
    const abort = new AbortController();
    announceAbort = abort;
    try {
      await runner.run(command, args, { signal: abort.signal });
      announcementsSent += 1;
      return true;
    } catch (err) {
      if (generation !== announceGeneration || err instanceof CommandAbortedError) return false;
      announcementFailures += 1;
      if (err instanceof CommandNotFoundError) {
        lastError = err.message;
        logger.error(
          { err, vip, interface: iface },
          `VIP announcement not sent: ${err.message}; neighbours keep the old MAC until their cache entries expire`,
        );
        return false;
      }
      lastError = err instanceof Error ? err.message : String(err);
      logger.warn({ err, vip, interface: iface }, "VIP announcement failed; the next one is scheduled");
      return true;
    }
  };

  const scheduleAnnouncements = (generation: number, sentSoFar: number): void => {
    const delayMs = sentSoFar < schedule.burstCount ? schedule.burstIntervalMs : schedule.refreshIntervalMs;
    const firstOfBurst = sentSoFar === 0;
    const fire = (): void => {
      announceTimer = undefined;
      if (generation !== announceGeneration || guard?.fired === true) return;
      const run = announceOnce(generation).then((keepGoing) => {
        if (keepGoing && generation === announceGeneration) scheduleAnnouncements(generation, sentSoFar + 1);
      });
      announcing = run;
    };
    if (firstOfBurst) {
      fire();
      return;
    }
    announceTimer = setTimeout(fire, delayMs);
    announceTimer.unref?.();
  };

  /** Stops the schedule and aborts the announcement in flight, without waiting for it to end. */
  const cancelAnnouncements = (): void => {
    announceGeneration += 1;
    if (announceTimer !== undefined) clearTimeout(announceTimer);
    announceTimer = undefined;
    // An arping in flight would announce our MAC after the address is gone: stop it (it has sent its
    // one packet within milliseconds; the rest of its second is spent waiting for replies).
    announceAbort?.abort();
    announceAbort = undefined;
  };

  const stopAnnouncements = async (): Promise<void> => {
    cancelAnnouncements();
    if (announcing !== undefined) await announcing;
    announcing = undefined;
  };

  // --- interface mode commands ---
  const describeIpFailure = (err: unknown, action: string): AgentError => {
    if (err instanceof CommandFailedError) {
      if (NOT_PERMITTED.test(err.stderr)) {
        return new VipPermissionError(
          `cannot ${action} VIP ${vip} on ${iface}: not permitted (the agent needs root or CAP_NET_ADMIN)`,
          { cause: err },
        );
      }
      if (NO_DEVICE.test(err.stderr)) {
        return new VipInterfaceError(`cannot ${action} VIP ${vip}: interface ${iface} does not exist`, { cause: err });
      }
    }
    if (err instanceof AgentError && !(err instanceof CommandFailedError)) return err;
    const message = `cannot ${action} VIP ${vip} on ${iface}: ${err instanceof Error ? err.message : String(err)}`;
    return action === "add" ? new VipClaimError(message, { cause: err }) : new VipReleaseError(message, { cause: err });
  };

  const addAddress = async (): Promise<void> => {
    const args = ipv6
      ? ["-6", "addr", "add", `${vip}/${prefix}`, "dev", iface, "nodad"]
      : ["addr", "add", `${vip}/${prefix}`, "dev", iface];
    // The first announcement leaves with the add itself: neighbours still send to the old PoC's MAC
    // until they hear one, and this loop is at its busiest right now. The burst below still runs.
    const [announce, announceArgs] = announceCommand();
    try {
      await runner.run("ip", args, { thenStart: { command: announce, args: announceArgs } });
    } catch (err) {
      if (err instanceof CommandFailedError && ADDRESS_EXISTS.test(err.stderr)) return;
      throw describeIpFailure(err, "add");
    }
  };

  /** The VIP's entries on the interface (normally one; several if its prefix changed between runs). */
  const findAddresses = async (): Promise<{ address: string; prefix: number }[] | undefined> => {
    try {
      const { stdout } = await runner.run("ip", ["-o", "addr", "show", "dev", iface]);
      return parseIpAddrShow(stdout).filter((entry) => sameAddress(entry.address, vip));
    } catch (err) {
      if (err instanceof CommandFailedError && NO_DEVICE.test(err.stderr)) return [];
      throw describeIpFailure(err, "look up");
    }
  };

  const deleteAddress = async (entryPrefix: number): Promise<boolean> => {
    try {
      const [command, ...args] = ipAddrDelCommand(vip, entryPrefix, iface);
      await runner.run(command!, args);
      return true;
    } catch (err) {
      if (err instanceof CommandFailedError && (ADDRESS_ABSENT.test(err.stderr) || NO_DEVICE.test(err.stderr))) {
        return false;
      }
      throw describeIpFailure(err, "remove");
    }
  };

  /**
   * Removes every entry of the VIP from the interface; true when one was there. The entry this
   * manager adds goes first, with one command: while it is there the old PoC still answers ARP
   * for the VIP, and a successor may already be claiming it. Leftovers with another prefix (from a
   * run with another config) are looked for afterwards.
   */
  const removeFromInterface = async (): Promise<boolean> => {
    let removed = await deleteAddress(prefix);
    let entries: { address: string; prefix: number }[];
    try {
      entries = (await findAddresses()) ?? [];
    } catch (err) {
      logger.warn(
        { err, vip, interface: iface },
        "cannot list the interface's addresses to look for leftover VIP entries",
      );
      return removed;
    }
    for (const entry of entries) {
      if (removed && entry.prefix === prefix) continue; // the same entry, spelled differently (IPv6)
      removed = (await deleteAddress(entry.prefix)) || removed;
    }
    return removed;
  };

  // --- loopback mode ---
  const bindListener = async (): Promise<void> => {
    try {
      await listener!.bind(vip);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (code === "EADDRINUSE") {
        throw new VipAddressInUseError(
          `loopback VIP ${vip} is already bound by another process (another agent on this host holds it, or a stale one does; look with: ss -ltnp src ${vip})`,
          { cause: err },
        );
      }
      if (code === "EADDRNOTAVAIL") {
        throw new VipClaimError(
          `loopback VIP ${vip} is not a local address here: Linux routes all of 127.0.0.0/8 to lo, other systems need it added as an alias`,
          { cause: err },
        );
      }
      throw new VipClaimError(
        `cannot bind the facade to loopback VIP ${vip}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  };

  // --- the lease guard (interface mode) ---
  /** The guard took the address off while this process was stalled: it no longer holds the VIP. */
  const noticeGuardFired = (): void => {
    if (!held || guard?.fired !== true) return;
    held = false;
    heldSinceMs = undefined;
    lastReason = "the lease ran out while this agent was stalled: the lease guard removed the VIP";
    cancelAnnouncements();
  };
  guard?.onFired(noticeGuardFired);

  // --- operations ---
  const doClaim = async (reason: string): Promise<void> => {
    if (stopped) throw new VipClaimError(`cannot claim VIP ${vip}: the VIP manager is stopped`);
    noticeGuardFired();
    if (held) return;
    const startedMs = nowMs();
    try {
      if (mode === "interface") {
        guard?.arm();
        try {
          await addAddress();
        } catch (err) {
          guard?.disarm();
          throw err;
        }
        if (guard?.fired === true) {
          // The lease ran out while the address was going on, and this process was too late to see
          // it: the guard's `ip addr del` may have run before the add. Take it off again.
          await removeFromInterface();
          guard.disarm();
          throw new VipClaimError(
            `the lease ran out while VIP ${vip} was being claimed (this agent was stalled): it was removed again`,
          );
        }
      } else if (mode === "loopback") await bindListener();
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      logger.error({ err, vip: address, mode, reason }, "VIP claim failed");
      throw err;
    }
    held = true;
    heldSinceMs = nowMs();
    lastReason = reason;
    lastError = undefined;
    logger.info({ vip: address, mode, interface: init.interface, reason, tookMs: nowMs() - startedMs }, "VIP claimed");
    if (mode === "interface") scheduleAnnouncements(announceGeneration, 0);
  };

  const doRelease = async (reason: string): Promise<void> => {
    const wasHeld = held;
    // The guard stays armed until the address is gone: on a starved machine this release's own
    // `ip addr del` can take a second, and the guard may get there first (then ours finds nothing).
    await stopAnnouncements();
    const startedMs = nowMs();
    let removed = false;
    try {
      if (mode === "interface") removed = await removeFromInterface();
      else if (mode === "loopback" && wasHeld) {
        await listener!.unbind(vip);
        removed = true;
      }
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      logger.error({ err, vip: address, mode, reason }, "VIP release failed");
      throw err instanceof AgentError
        ? err
        : new VipReleaseError(`cannot release VIP ${vip}: ${lastError}`, { cause: err });
    }
    const guardFired = guard?.disarm() === true;
    held = false;
    heldSinceMs = undefined;
    if (wasHeld || removed) {
      lastReason = reason;
      logger.info(
        { vip: address, mode, reason, tookMs: nowMs() - startedMs, ...(guardFired ? { guardFired } : {}) },
        "VIP released",
      );
    } else {
      logger.debug({ vip: address, mode, reason }, "VIP release: not held");
    }
  };

  const doRemoveStale = async (reason: string): Promise<boolean> => {
    if (mode !== "interface" || held) return false;
    const removed = await removeFromInterface();
    if (removed) logger.warn({ vip: address, interface: iface, reason }, "stale VIP removed");
    return removed;
  };

  return {
    start: () =>
      serialize(async () => {
        // The shells a claim uses are started now, not in the middle of a failover.
        if (mode === "interface") runner.prepare?.(["ip", announceCommand()[0]]);
        await doRemoveStale("agent starting: not PoC yet");
      }),
    stop: (reason = "agent stopping") =>
      serialize(async () => {
        stopped = true;
        try {
          if (held) await doRelease(reason);
          else await stopAnnouncements();
        } finally {
          ownRunner?.close();
        }
      }),
    claim: (reason) => serialize(() => doClaim(reason)),
    release: (reason) => serialize(() => doRelease(reason)),
    removeStaleVip: (reason) => serialize(() => doRemoveStale(reason)),
    setNice: (nice) => {
      try {
        runner.setNice?.(nice);
      } catch (err) {
        logger.warn({ err, nice }, "could not move the VIP's command shells to the agent's priority");
      }
    },
    status: () => {
      noticeGuardFired();
      return {
        mode,
        address,
        held,
        heldSinceMs,
        lastReason,
        announcementsSent,
        announcementFailures,
        lastError,
      };
    },
  };
}
