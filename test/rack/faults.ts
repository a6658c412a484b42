// The fault library of the chaos suite. Each fault acts on a converged rack (its PoC known),
// returns how to heal, and says whether the PoC is expected to change. The rack's own
// supervisor duties are played here as systemd would play them: a crashed agent's
// `ExecStopPost` removes the VIP from the interface, and `Restart=always` starts it again.
import { appendFileSync, closeSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Rack, RackNode } from "./rack.ts";
import type { VipWatch } from "./vip-watch.ts";

/** How long a paused PoC stays stopped (issue 6: 5 s). */
export const PAUSE_MS = 5_000;
/** How long partitions, isolation and packet loss last before healing. */
export const PARTITION_HOLD_MS = 6_000;
/** Random loss applied to every BMC namespace by the `packet-loss` fault. */
export const LOSS_PERCENT = 20;
/** A local BMC answering this slowly is unreachable to the health probe (2 s deadline). */
export const SLOW_BMC_LATENCY_MS = 5_000;
/** Bytes appended to a WAL segment by `wal-tail-corrupt`: a torn, garbage record. */
const WAL_GARBAGE_BYTES = 97;
/** Bound on the bytes the disk-full fault writes (the state tmpfs is smaller). */
const DISK_FILL_MAX_BYTES = 512 * 1024 * 1024;
/**
 * How long the disk-full fault's heal waits for the agent to exit before deciding whether to
 * restart it as systemd would: longer when it logged a fatal storage error (it shuts down in
 * order), briefly otherwise (the fatal line may still be on its way to the log file).
 */
const STORAGE_FATAL_EXIT_WAIT_MS = 15_000;
const STORAGE_EXIT_GRACE_MS = 3_000;

export type FaultName =
  | "kill-process"
  | "bmc-death"
  | "pause"
  | "isolate"
  | "partition-minority"
  | "partition-majority"
  | "one-way"
  | "packet-loss"
  | "restart-follower"
  | "restart-rack"
  | "disk-full"
  | "wal-tail-corrupt"
  | "bmc-down"
  | "bmc-slow";

/** What the PoC does under the fault: `moves` (a new PoC), `stays`, or `either` (packet loss). */
export type PocExpectation = "moves" | "stays" | "either";

export interface FaultContext {
  readonly rack: Rack;
  readonly watch: VipWatch;
  readonly poc: RackNode;
  /** Deterministic choices (which follower, which side) from the run's seed. */
  readonly random: () => number;
}

export interface Injected {
  /** Undoes the fault: restarts what was stopped, removes rules, clears BMC faults. */
  heal(): Promise<void>;
  /** Nodes whose term must not grow when they come back (a rejoining node does not raise the term). */
  readonly rejoining: readonly RackNode[];
}

export interface Fault {
  readonly name: FaultName;
  readonly poc: PocExpectation;
  /** The fault needs this many BMC namespaces at least. */
  readonly minSize: number;
  inject(context: FaultContext): Promise<Injected>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fatal lines (pino level 60) in a node's agent log so far. */
function fatalLines(node: RackNode): number {
  return node.agent
    .log()
    .split("\n")
    .filter((line) => line.startsWith('{"level":60')).length;
}

function followers(rack: Rack, poc: RackNode): RackNode[] {
  return rack.nodes.filter((node) => node !== poc && node.agent.running);
}

function pick<T>(items: readonly T[], random: () => number): T {
  if (items.length === 0) throw new Error("nothing to pick from");
  return items[Math.floor(random() * items.length)] as T;
}

/** What `ExecStopPost` does after the agent died: take the VIP off the interface at once. */
export function supervisorReleasesVip(rack: Rack, node: RackNode): void {
  rack.network.exec(node.host.namespace, ["ip", "addr", "del", `${rack.vip}/24`, "dev", "eth0"], { allowFail: true });
}

/** Drops every packet between the two sides (both directions), leaving the console alone. */
function partition(rack: Rack, sideA: readonly RackNode[], sideB: readonly RackNode[]): void {
  const addresses = (nodes: readonly RackNode[]) => nodes.map((node) => node.host.address);
  for (const node of sideA)
    rack.network.setFaultRules(node.host.namespace, { dropFrom: addresses(sideB), dropTo: addresses(sideB) });
  for (const node of sideB)
    rack.network.setFaultRules(node.host.namespace, { dropFrom: addresses(sideA), dropTo: addresses(sideA) });
}

function clearRules(rack: Rack): void {
  for (const node of rack.nodes) rack.network.clearFaultRules(node.host.namespace);
}

const noRejoin: readonly RackNode[] = [];

export const FAULTS: readonly Fault[] = [
  {
    name: "kill-process",
    poc: "moves",
    minSize: 3,
    async inject({ rack, poc }) {
      await poc.agent.kill("SIGKILL");
      supervisorReleasesVip(rack, poc);
      return { rejoining: [poc], heal: async () => poc.agent.start() };
    },
  },
  {
    name: "bmc-death",
    poc: "moves",
    minSize: 3,
    async inject({ rack, watch, poc }) {
      // The BMC loses power: its network goes first, then everything on it.
      rack.network.setLink(poc.host.namespace, false);
      watch.record({ atMs: Date.now(), namespace: poc.host.namespace, kind: "link-down" });
      rack.network.killEverythingIn(poc.host.namespace);
      return {
        rejoining: [poc],
        heal: async () => {
          await Promise.all([poc.agent.exit, poc.simulator?.exit]);
          // It boots again: no address survives a power cycle but the configured one.
          rack.network.exec(poc.host.namespace, ["ip", "addr", "del", `${rack.vip}/24`, "dev", "eth0"], {
            allowFail: true,
          });
          rack.network.setLink(poc.host.namespace, true);
          watch.linkUp(poc.host.namespace);
          poc.simulator?.start();
          poc.agent.start();
        },
      };
    },
  },
  {
    name: "pause",
    poc: "moves",
    minSize: 3,
    async inject({ watch, poc }) {
      await poc.agent.kill("SIGSTOP");
      poc.frozen = true;
      watch.record({ atMs: Date.now(), namespace: poc.host.namespace, kind: "frozen" });
      await sleep(PAUSE_MS);
      await poc.agent.kill("SIGCONT");
      poc.frozen = false;
      watch.record({ atMs: Date.now(), namespace: poc.host.namespace, kind: "thawed" });
      return { rejoining: noRejoin, heal: async () => {} };
    },
  },
  {
    name: "isolate",
    poc: "moves",
    minSize: 3,
    async inject({ rack, poc }) {
      const others = rack.nodes.filter((node) => node !== poc).map((node) => node.host.address);
      const everyone = [...others, rack.console.address];
      rack.network.setFaultRules(poc.host.namespace, { dropFrom: everyone, dropTo: everyone });
      await sleep(PARTITION_HOLD_MS);
      return { rejoining: noRejoin, heal: async () => rack.network.clearFaultRules(poc.host.namespace) };
    },
  },
  {
    name: "partition-minority",
    poc: "moves",
    minSize: 5,
    async inject({ rack, poc, random }) {
      const companion = pick(followers(rack, poc), random);
      const minority = [poc, companion];
      partition(
        rack,
        minority,
        rack.nodes.filter((node) => !minority.includes(node)),
      );
      await sleep(PARTITION_HOLD_MS);
      return { rejoining: noRejoin, heal: async () => clearRules(rack) };
    },
  },
  {
    name: "partition-majority",
    poc: "stays",
    minSize: 5,
    async inject({ rack, poc, random }) {
      const others = followers(rack, poc);
      const first = pick(others, random);
      const second = pick(
        others.filter((node) => node !== first),
        random,
      );
      const majority = [poc, first, second];
      partition(
        rack,
        majority,
        rack.nodes.filter((node) => !majority.includes(node)),
      );
      await sleep(PARTITION_HOLD_MS);
      return { rejoining: noRejoin, heal: async () => clearRules(rack) };
    },
  },
  {
    name: "one-way",
    poc: "moves",
    minSize: 3,
    async inject({ rack, poc }) {
      // The PoC hears the others; they no longer hear it.
      const others = rack.nodes.filter((node) => node !== poc).map((node) => node.host.address);
      rack.network.setFaultRules(poc.host.namespace, { dropTo: others });
      await sleep(PARTITION_HOLD_MS);
      return { rejoining: noRejoin, heal: async () => rack.network.clearFaultRules(poc.host.namespace) };
    },
  },
  {
    name: "packet-loss",
    poc: "either",
    minSize: 3,
    async inject({ rack }) {
      for (const node of rack.nodes) rack.network.setFaultRules(node.host.namespace, { lossPercent: LOSS_PERCENT });
      await sleep(PARTITION_HOLD_MS);
      return { rejoining: noRejoin, heal: async () => clearRules(rack) };
    },
  },
  {
    name: "restart-follower",
    poc: "stays",
    minSize: 3,
    async inject({ rack, poc, random }) {
      const follower = pick(followers(rack, poc), random);
      await follower.agent.kill("SIGTERM");
      follower.agent.start();
      return { rejoining: [follower], heal: async () => {} };
    },
  },
  {
    name: "restart-rack",
    poc: "either",
    minSize: 3,
    async inject({ rack }) {
      await Promise.all(rack.nodes.map((node) => node.agent.kill("SIGTERM")));
      for (const node of rack.nodes) node.agent.start();
      return { rejoining: noRejoin, heal: async () => {} };
    },
  },
  {
    name: "disk-full",
    poc: "moves",
    minSize: 3,
    async inject({ rack, poc }) {
      // The agent may stop on the storage error: systemd's ExecStopPost then removes the VIP.
      void poc.agent.exit?.then(() => supervisorReleasesVip(rack, poc));
      const fatalsBefore = fatalLines(poc);
      const filler = join(poc.stateDir, "filler");
      const fd = openSync(filler, "w");
      const block = Buffer.alloc(1024 * 1024);
      try {
        for (let written = 0; written < DISK_FILL_MAX_BYTES; written += block.length) writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      } finally {
        closeSync(fd);
      }
      return {
        rejoining: noRejoin,
        heal: async () => {
          const { rmSync } = await import("node:fs");
          rmSync(filler, { force: true });
          // An agent that stopped on a storage error is restarted, as systemd would: one that
          // logged the error and is still shutting down is waited for first.
          if (poc.agent.running) {
            const waitMs = fatalLines(poc) > fatalsBefore ? STORAGE_FATAL_EXIT_WAIT_MS : STORAGE_EXIT_GRACE_MS;
            await Promise.race([poc.agent.exit, sleep(waitMs)]);
          }
          if (!poc.agent.running) poc.agent.start();
        },
      };
    },
  },
  {
    name: "wal-tail-corrupt",
    poc: "stays",
    minSize: 3,
    async inject({ rack, poc, random }) {
      const follower = pick(followers(rack, poc), random);
      await follower.agent.kill("SIGKILL");
      const raftDir = join(follower.stateDir, "raft");
      const segments = readdirSync(raftDir)
        .filter((name) => /^wal-[0-9a-f]{16}-[0-9a-f]{16}\.log$/.test(name))
        .sort();
      const last = segments.at(-1);
      if (last === undefined) throw new Error(`no WAL segment in ${raftDir}`);
      appendFileSync(join(raftDir, last), Buffer.alloc(WAL_GARBAGE_BYTES, 0xa5));
      follower.agent.start();
      return { rejoining: [follower], heal: async () => {} };
    },
  },
  {
    name: "bmc-down",
    poc: "moves",
    minSize: 3,
    async inject({ poc }) {
      poc.simulatorAdmin("POST", "/_sim/faults", { down: "reset" });
      return { rejoining: noRejoin, heal: async () => void poc.simulatorAdmin("DELETE", "/_sim/faults") };
    },
  },
  {
    name: "bmc-slow",
    poc: "moves",
    minSize: 3,
    async inject({ poc }) {
      poc.simulatorAdmin("POST", "/_sim/faults", { latencyMs: SLOW_BMC_LATENCY_MS });
      return { rejoining: noRejoin, heal: async () => void poc.simulatorAdmin("DELETE", "/_sim/faults") };
    },
  },
];

export function faultNamed(name: string): Fault {
  const fault = FAULTS.find((candidate) => candidate.name === name);
  if (fault === undefined) {
    throw new Error(`unknown fault "${name}"; known: ${FAULTS.map((f) => f.name).join(", ")}`);
  }
  return fault;
}
