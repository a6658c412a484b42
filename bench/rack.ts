// `pnpm bench rack` (root, Linux): failover measured from a console in network namespaces, Conclave
// side by side with keepalived (VRRP) on the same namespaces, by the same probe (a GET through the
// VIP every 20 ms). A BMC death is the namespace's link going down with everything in it.
//
//   Conclave `lan`, 5 BMCs:   RACK_KILLS BMC deaths of the PoC and RACK_TRANSFERS CLI transfers
//   keepalived defaults:      RACK_KILLS deaths of the master (advert_int 1, VRRPv2)
//   keepalived advert 0.1:    RACK_KILLS deaths (VRRPv3)
//   Conclave `fast`, 5 BMCs:  RACK_KILLS deaths
//   Conclave `lan`, 32 BMCs:  RACK_N32_KILLS deaths (5 voters, 27 learners); RACK_N32=0 skips it.
//                             Agents, CLI and simulators run as bundles (deploy/bundle), as a BMC
//                             image carries them: 64 processes starting from source on a 2-core
//                             machine spend minutes type-stripping before the first mDNS answer.
//
// RACK_ONLY=n32,lan,keepalived,fast runs only the named configurations (the others report NaN).
//
// The failover time of one death is the console's gap around it: from the last successful read
// before the fault to the first one after. Dual-VIP time is the total time two namespaces with
// their link up held the VIP (ip monitor, see test/rack/vip-watch.ts).
// Summary line `rack:` and bench/results/rack.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConsoleProbe, outageAround, PROBE_TIMEOUT_MS, type ProbeRecord } from "../test/rack/console-probe.ts";
import { type FailoverStory, failoverStory, parseAgentLog } from "../test/rack/failover-story.ts";
import { ensureKeepalived, KeepalivedLab } from "../test/rack/keepalived-lab.ts";
import { rackSupportProblem } from "../test/rack/network.ts";
import { eventually, Rack, type RackNode } from "../test/rack/rack.ts";
import { type Overlap, VipWatch } from "../test/rack/vip-watch.ts";
import { percentile, round, writeResults } from "./results.ts";

/** Bound on the measured cycles per configuration. */
const CYCLES_MAX = 1_000;
function count(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > CYCLES_MAX) {
    console.error(`${name} must be an integer from 0 to ${CYCLES_MAX}, got "${text}"`);
    process.exit(2);
  }
  return value;
}
const KILLS = count("RACK_KILLS", 30);
const TRANSFERS = count("RACK_TRANSFERS", 30);
const N32_KILLS = count("RACK_N32", 1) === 0 ? 0 : count("RACK_N32_KILLS", 10);
const CONFIGURATIONS = ["n32", "lan", "keepalived", "fast"] as const;
const only = (process.env.RACK_ONLY ?? "").split(",").filter((name) => name !== "");
for (const name of only) {
  if (!(CONFIGURATIONS as readonly string[]).includes(name)) {
    console.error(`RACK_ONLY names unknown configuration "${name}" (known: ${CONFIGURATIONS.join(", ")})`);
    process.exit(2);
  }
}
const runs = (name: (typeof CONFIGURATIONS)[number]): boolean => only.length === 0 || only.includes(name);
/** Bounds on the waits of one cycle. */
const FORM_TIMEOUT_MS = 180_000;
/** 32 agents and 32 simulators share this machine's cores while they form. */
const N32_FORM_TIMEOUT_MS = 420_000;
const RECOVER_TIMEOUT_MS = 60_000;
/** Quiet time after a rack heals before the next fault (the probe sees steady service again). */
const SETTLE_MS = 1_500;
/** The console-gap target (issue 6: p99 <= 1.5 s): a death slower than it keeps the agents' logs. */
const SLOW_GAP_MS = 1_500;
/** How far past a slow death's first answer its story reads the agents' logs. */
const STORY_MARGIN_MS = 500;
/** Pause after a refused transfer before the next cycle. */
const TRANSFER_REFUSED_PAUSE_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Cycles that did not settle within their bounds (reported, never hidden). */
const failedCycles: string[] = [];

interface Distribution {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number[];
}

function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50), 1),
    p99: round(percentile(sorted, 99), 1),
    max: round(sorted.at(-1) ?? Number.NaN, 1),
    samples: samples.map((s) => round(s, 1)),
  };
}

/**
 * The console's gap around a BMC death whose link was down at `atMs` (see `outageAround`): from the
 * last answer before it to the first answer to a request made after it.
 */
async function gapAround(probe: ConsoleProbe, atMs: number): Promise<number> {
  return eventually(
    "the console to be served again",
    async () => outageAround(probe.records, atMs),
    RECOVER_TIMEOUT_MS,
  );
}

/**
 * The console's gap around a transfer asked for at `atMs`: the run of failed attempts after it,
 * from the last success before them to the first success after them (0 when none failed). The
 * service is still up when the transfer is asked for, so the first answer after `atMs` says nothing.
 */
async function failedAttemptsGapAround(probe: ConsoleProbe, atMs: number): Promise<number> {
  return eventually(
    "the console to be served again",
    async () => {
      const gap = probe.gaps(atMs - 200).find((g) => g.toMs > atMs);
      const lastOk = probe.records.findLast((record) => record.ok);
      if (gap === undefined) return lastOk !== undefined && lastOk.atMs > atMs + 1_000 ? 0 : undefined;
      return gap.toMs < Date.now() - PROBE_TIMEOUT_MS - 50 && probe.records.some((r) => r.ok && r.atMs >= gap.toMs)
        ? gap.toMs - gap.fromMs
        : undefined;
    },
    RECOVER_TIMEOUT_MS,
  );
}

async function conclaveRun(
  label: string,
  size: number,
  timing: "lan" | "fast",
  kills: number,
  transfers: number,
  options: { programs?: "source" | "bundle"; formTimeoutMs?: number } = {},
): Promise<{
  unplanned: Distribution;
  vipMoved: Distribution;
  transfer: Distribution | undefined;
  dualVipMs: number;
  dualVip: Overlap[];
  /** Deaths slower than SLOW_GAP_MS and what their logs say (the full story is in rack-logs/). */
  slowDeaths: { gapMs: number; kind: FailoverStory["kind"]; firstTermCandidates: readonly string[] }[];
}> {
  const rack = await Rack.create({ size, timing, programs: options.programs ?? "source" });
  const slowDeaths: SlowDeath[] = [];
  const formTimeoutMs = options.formTimeoutMs ?? FORM_TIMEOUT_MS;
  const watch = new VipWatch(rack.vip);
  let probe: ConsoleProbe | undefined;
  try {
    for (const node of rack.nodes) watch.watch(node.host.namespace);
    rack.start();
    const formStartMs = Date.now();
    await rack.converged(formTimeoutMs);
    process.stderr.write(`${label}: formed in ${Math.round((Date.now() - formStartMs) / 1000)} s\n`);
    const token = await rack.login(formTimeoutMs);
    probe = new ConsoleProbe(rack.console.namespace, `${rack.facadeUrl}/redfish/v1/Systems`, token);
    await sleep(SETTLE_MS);
    const unplanned: number[] = [];
    const vipMoved: number[] = [];
    for (let i = 0; i < kills; i++) {
      const slowBefore = unplanned.filter((gap) => gap > SLOW_GAP_MS).length;
      const { poc } = await rack.converged(RECOVER_TIMEOUT_MS);
      rack.network.setLink(poc.host.namespace, false);
      // From here no request can reach the old PoC: the outage is measured from this instant.
      const atMs = Date.now();
      watch.record({ atMs, namespace: poc.host.namespace, kind: "link-down" });
      rack.network.killEverythingIn(poc.host.namespace);
      unplanned.push(await gapAround(probe, atMs));
      const claimedAtMs = watch.claimedAfter(atMs, poc.host.namespace);
      if (claimedAtMs !== undefined) vipMoved.push(claimedAtMs - atMs);
      const slow = unplanned.filter((gap) => gap > SLOW_GAP_MS).length > slowBefore;
      await reviveBmc(rack, watch, poc);
      await rack.converged(RECOVER_TIMEOUT_MS);
      if (slow) {
        // Read once the rack has settled again: by then every agent has written the window's lines.
        const gapMs = Math.round(unplanned.at(-1) as number);
        const attempts = probe.records.filter((r) => r.atMs >= atMs - 100 && r.atMs <= atMs + gapMs + 200);
        const logs = rack.nodes.flatMap((node) => parseAgentLog(node.name, node.agent.log()));
        const story = failoverStory(logs, { atMs, untilMs: atMs + gapMs + STORY_MARGIN_MS, vipMovedAtMs: claimedAtMs });
        slowDeaths.push({ atMs, gapMs, oldPoc: poc.name, story, attempts });
        process.stderr.write(
          `${label}: death ${i + 1} took ${gapMs} ms: ${story.kind}\n${story.lines.map((line) => `    ${line}\n`).join("")}`,
        );
      }
      await sleep(SETTLE_MS);
      process.stderr.write(
        `${label}: death ${i + 1}/${kills}: console gap ${Math.round(unplanned.at(-1) as number)} ms, VIP moved after ${claimedAtMs === undefined ? "?" : claimedAtMs - atMs} ms\n`,
      );
    }
    const planned: number[] = [];
    for (let i = 0; i < transfers; i++) {
      const { poc } = await rack.converged(RECOVER_TIMEOUT_MS);
      const atMs = Date.now();
      const result = poc.cli(["transfer-leadership"]);
      if (result.code !== 0) {
        // Refused (no voter eligible right now, e.g. one still catching up): a failed cycle, not the end of the run.
        failedCycles.push(`${label} transfer #${i + 1}: ${result.stderr.trim()}`);
        process.stderr.write(`${label}: transfer ${i + 1}/${transfers} refused: ${result.stderr.trim()}\n`);
        await sleep(TRANSFER_REFUSED_PAUSE_MS);
        continue;
      }
      planned.push(await failedAttemptsGapAround(probe, atMs));
      await sleep(SETTLE_MS);
      process.stderr.write(`${label}: transfer ${i + 1}/${transfers}: ${Math.round(planned.at(-1) as number)} ms\n`);
    }
    return {
      unplanned: distribution(unplanned),
      vipMoved: distribution(vipMoved),
      transfer: transfers > 0 ? distribution(planned) : undefined,
      dualVipMs: round(watch.overlapMs("live"), 1),
      dualVip: watch.overlaps("live"),
      slowDeaths: slowDeaths.map(({ gapMs, story }) => ({
        gapMs,
        kind: story.kind,
        firstTermCandidates: story.firstTermCandidates,
      })),
    };
  } catch (error) {
    process.stderr.write(`${label} failed; the rack's last log lines:\n${rack.logs(20)}\n`);
    throw error;
  } finally {
    probe?.stop();
    watch.stop();
    // Two VIP holders is the one result that must never happen, and a death slower than the target
    // is the one to explain next: keep every agent's log (slow deaths listed by when they began).
    if (watch.overlapMs("live") > 0 || slowDeaths.length > 0) keepLogs(rack, label, watch, slowDeaths);
    await rack.destroy();
  }
}

/**
 * Copies every agent's log to bench/results/rack-logs/<label>/ (bench/results is not committed),
 * with the VIP watch's events (link changes and deaths included) named by node: `vip-events.json`.
 */
/** A death whose console gap was over SLOW_GAP_MS, with the console's attempts around it. */
interface SlowDeath {
  readonly atMs: number;
  readonly gapMs: number;
  readonly oldPoc: string;
  /** What the agents' logs say about it (test/rack/failover-story.ts). */
  readonly story: FailoverStory;
  readonly attempts: readonly ProbeRecord[];
}

function keepLogs(rack: Rack, label: string, watch: VipWatch, slowDeaths: readonly SlowDeath[]): void {
  const dir = join(import.meta.dirname, "results", "rack-logs", label.replaceAll(" ", "-"));
  mkdirSync(dir, { recursive: true });
  for (const node of rack.nodes) writeFileSync(join(dir, `${node.name}.log`), node.agent.log());
  const nodeOf = new Map(rack.nodes.map((node) => [node.host.namespace, node.name]));
  const events = [...watch.events]
    .sort((a, b) => a.atMs - b.atMs)
    .map((event) => ({ ...event, node: nodeOf.get(event.namespace) ?? event.namespace }));
  writeFileSync(
    join(dir, "vip-events.json"),
    `${JSON.stringify({ overlaps: watch.overlaps("live"), slowDeaths, events }, null, 1)}\n`,
  );
  const why = [
    ...(watch.overlapMs("live") > 0 ? ["two VIP holders were seen"] : []),
    ...(slowDeaths.length > 0
      ? [`${slowDeaths.length} ${slowDeaths.length === 1 ? "death" : "deaths"} took over ${SLOW_GAP_MS} ms`]
      : []),
  ];
  process.stderr.write(`${label}: ${why.join(" and ")}; the agents' logs are in ${dir}\n`);
}

async function reviveBmc(rack: Rack, watch: VipWatch, node: RackNode): Promise<void> {
  await Promise.all([node.agent.exit, node.simulator?.exit]);
  rack.network.exec(node.host.namespace, ["ip", "addr", "del", `${rack.vip}/24`, "dev", "eth0"], { allowFail: true });
  rack.network.setLink(node.host.namespace, true);
  watch.linkUp(node.host.namespace);
  node.simulator?.start();
  node.agent.start();
}

async function keepalivedRun(label: string, advertIntervalS: number, kills: number): Promise<Distribution> {
  const lab = new KeepalivedLab(5, advertIntervalS);
  let probe: ConsoleProbe | undefined;
  try {
    lab.start();
    await eventually("a VRRP master", async () => lab.holder(), FORM_TIMEOUT_MS);
    probe = new ConsoleProbe(lab.console.namespace, lab.url);
    await eventually(
      "the console to be served",
      async () => (probe?.records.some((r) => r.ok) ? true : undefined),
      RECOVER_TIMEOUT_MS,
    );
    await sleep(SETTLE_MS);
    const gaps: number[] = [];
    for (let i = 0; i < kills; i++) {
      try {
        const master = await eventually("a VRRP master", async () => lab.holder(), RECOVER_TIMEOUT_MS);
        const atMs = lab.kill(master);
        gaps.push(await gapAround(probe, atMs));
        await lab.revive(master);
        // The revived node has the highest priority back: let it preempt and settle.
        await sleep(SETTLE_MS + advertIntervalS * 4_000);
        await eventually(
          "steady service",
          async () => (probe?.gaps(Date.now() - 1_000).length === 0 ? true : undefined),
          RECOVER_TIMEOUT_MS,
        );
        process.stderr.write(`${label}: death ${i + 1}/${kills}: ${Math.round(gaps.at(-1) as number)} ms\n`);
      } catch (error) {
        // keepalived gives no guarantee to come back; what was measured so far stands.
        process.stderr.write(
          `${label}: death ${i + 1}/${kills} did not settle (${(error as Error).message}); stopping this configuration\n`,
        );
        failedCycles.push(`${label} #${i + 1}: ${(error as Error).message}`);
        break;
      }
    }
    return distribution(gaps);
  } finally {
    probe?.stop();
    await lab.destroy();
  }
}

const problem = rackSupportProblem() ?? ensureKeepalived();
if (problem !== undefined) {
  console.error(`rack: cannot run here: ${problem}`);
  process.exit(2);
}

// The 32-BMC rack first: the heaviest run, and one that fails is reported without losing the others.
let n32: Awaited<ReturnType<typeof conclaveRun>> | undefined;
if (N32_KILLS > 0 && runs("n32")) {
  try {
    n32 = await conclaveRun("conclave lan 32", 32, "lan", N32_KILLS, 0, {
      programs: "bundle",
      formTimeoutMs: N32_FORM_TIMEOUT_MS,
    });
  } catch (error) {
    failedCycles.push(`conclave lan 32: ${(error as Error).message}`);
    process.stderr.write(`conclave lan 32 failed: ${(error as Error).message}\n`);
  }
}
const skipped = {
  unplanned: distribution([]),
  vipMoved: distribution([]),
  transfer: undefined,
  dualVipMs: 0,
  dualVip: [] as Overlap[],
};
const lan = runs("lan") ? await conclaveRun("conclave lan", 5, "lan", KILLS, TRANSFERS) : skipped;
const keepalivedDefault = runs("keepalived")
  ? await keepalivedRun("keepalived advert_int 1", 1, KILLS)
  : distribution([]);
const keepalivedFast = runs("keepalived")
  ? await keepalivedRun("keepalived advert_int 0.1", 0.1, KILLS)
  : distribution([]);
const fast = runs("fast") ? await conclaveRun("conclave fast", 5, "fast", KILLS, 0) : skipped;

const summary = {
  unplanned_p50_ms: lan.unplanned.p50,
  unplanned_p99_ms: lan.unplanned.p99,
  unplanned_max_ms: lan.unplanned.max,
  transfer_p50_ms: lan.transfer?.p50 ?? Number.NaN,
  transfer_p99_ms: lan.transfer?.p99 ?? Number.NaN,
  dual_vip_ms: round(lan.dualVipMs + fast.dualVipMs + (n32?.dualVipMs ?? 0), 1),
  keepalived_default_p50_ms: keepalivedDefault.p50,
  keepalived_default_p99_ms: keepalivedDefault.p99,
  ratio_to_keepalived_p50: round(lan.unplanned.p50 / keepalivedDefault.p50, 3),
  fast_unplanned_p50_ms: fast.unplanned.p50,
  fast_unplanned_p99_ms: fast.unplanned.p99,
  keepalived_fast_p50_ms: keepalivedFast.p50,
  keepalived_fast_p99_ms: keepalivedFast.p99,
  n32_unplanned_p99_ms: n32?.unplanned.p99 ?? Number.NaN,
  n32_unplanned_p50_ms: n32?.unplanned.p50 ?? Number.NaN,
  n32_vip_moved_p50_ms: n32?.vipMoved.p50 ?? Number.NaN,
  n32_vip_moved_p99_ms: n32?.vipMoved.p99 ?? Number.NaN,
  vip_moved_p50_ms: lan.vipMoved.p50,
  kills: KILLS,
  failed_cycles: failedCycles.length,
};
const file = writeResults("rack", summary, {
  conclaveLan: lan,
  conclaveFast: fast,
  conclaveN32: n32,
  keepalivedDefault,
  keepalivedFast,
  failedCycles,
});
console.log(
  `rack: conclave lan p50/p99 ${summary.unplanned_p50_ms}/${summary.unplanned_p99_ms} ms, transfer p99 ${summary.transfer_p99_ms} ms, ` +
    `dual-VIP ${summary.dual_vip_ms} ms; keepalived defaults p50 ${summary.keepalived_default_p50_ms} ms ` +
    `(ratio ${summary.ratio_to_keepalived_p50}); fast p50 ${summary.fast_unplanned_p50_ms} ms vs keepalived 0.1 s ` +
    `${summary.keepalived_fast_p50_ms} ms; 32 BMCs p99 ${summary.n32_unplanned_p99_ms} ms (VIP moved p99 ${summary.n32_vip_moved_p99_ms} ms) -> ${file}`,
);
