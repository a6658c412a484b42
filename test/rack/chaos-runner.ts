// Runs faults against a rack one after another and checks the invariants after each:
//   - never two live VIP holders (a frozen PoC's address is counted apart, see vip-watch.ts);
//   - the PoC moves when the fault takes it away, and stays (same term) when it does not;
//   - a node coming back does not raise the term;
//   - after healing, every member converges on one PoC and the cluster UUID is unchanged;
//   - the console is served again through the VIP;
//   - with a workload: a task started before the fault finishes, and no operation ran twice.
// Each cycle yields a CycleResult; `summarize` folds them into the table the suites print.
import { type ConsoleProbe, PROBE_TIMEOUT_MS } from "./console-probe.ts";
import type { Fault } from "./faults.ts";
import type { OperationsWorkload } from "./operations-workload.ts";
import { eventually, type Rack, type RackNode } from "./rack.ts";
import type { VipWatch } from "./vip-watch.ts";

/** Bound on waiting for a new PoC after a fault that takes the old one away (health hand-over is the slowest: grace + 3 samples + transfer). */
export const FAILOVER_TIMEOUT_MS = 30_000;
/** Bound on the rack agreeing again after healing (a restarted rack re-elects; learners catch up). */
export const CONVERGE_TIMEOUT_MS = 60_000;
/** A PoC woken from SIGSTOP must let go of the VIP within this long; overlaps in that tail are counted as frozen. */
export const THAW_RELEASE_GRACE_MS = 1_000;
/** Bound on waiting for the console to be served again after healing. */
const CONSOLE_RECOVERY_TIMEOUT_MS = 10_000;
/**
 * After healing, the PoC must hear every running member within this long: a member whose answers
 * stop on the way (a connection dead on one side only) still follows the PoC, so convergence alone
 * does not show it, but the PoC counts it silent and serves nothing of it.
 */
const MEMBER_HEARD_WITHIN_MS = 3_000;
const MEMBER_HEARD_TIMEOUT_MS = 15_000;

export interface CycleResult {
  readonly fault: string;
  readonly cycle: number;
  readonly pocBefore: string;
  readonly pocAfter: string;
  /** From the injection to the first console success after it, for faults that move the PoC. */
  readonly failoverMs: number | undefined;
  /** The longest run of failed console reads in the cycle. */
  readonly worstGapMs: number;
  readonly liveDualVipMs: number;
  readonly frozenDualVipMs: number;
  readonly violations: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The terms in which `node` became a candidate since `sinceMs`, from its log. With PreVote a node
 * coming back asks first and raises no term unless a quorum would vote for it; a term it raised
 * shows as a "leadership changed" line with role candidate. (Comparing cluster terms before and
 * after would also count elections that a loaded test machine causes elsewhere.)
 */
function candidacies(node: RackNode, sinceMs: number): number[] {
  const terms: number[] = [];
  for (const line of node.agent.log().split("\n")) {
    if (!line.includes('"role":"candidate"')) continue;
    try {
      const entry = JSON.parse(line) as { time: number; term: number; msg: string };
      if (entry.time >= sinceMs && entry.msg === "leadership changed") terms.push(entry.term);
    } catch {
      // not a log line
    }
  }
  return terms;
}

/** The PoC as seen by the running, unfrozen nodes other than `excluded`, once one holds lease and VIP. */
async function newPocOtherThan(rack: Rack, excluded: RackNode): Promise<{ node: RackNode; term: number }> {
  return eventually(
    `a PoC other than ${excluded.name}`,
    async () => {
      for (const node of rack.nodes) {
        if (node === excluded) continue;
        const doc = await node.status();
        if (doc?.lease.heldHere === true && doc.vip.heldHere) return { node, term: doc.term };
      }
      return undefined;
    },
    FAILOVER_TIMEOUT_MS,
  );
}

/** Running members the PoC has not heard from within MEMBER_HEARD_WITHIN_MS, with how long. */
async function silentMembers(rack: Rack): Promise<string[]> {
  const docs = (await rack.statuses()).filter((doc) => doc !== undefined);
  const pocDoc = docs.find((doc) => doc.pocId !== null && doc.node.id === doc.pocId);
  if (pocDoc === undefined) return ["no PoC answered"];
  const silent: string[] = [];
  for (const doc of docs) {
    if (doc.node.id === pocDoc.node.id) continue;
    const seen = pocDoc.members.find((member) => member.id === doc.node.id);
    const lastContactMs = seen?.lastContactMs ?? null;
    if (lastContactMs === null || lastContactMs > MEMBER_HEARD_WITHIN_MS) {
      silent.push(`${doc.node.name} (last heard ${lastContactMs === null ? "never" : `${lastContactMs} ms ago`})`);
    }
  }
  return silent;
}

export async function runCycle(
  rack: Rack,
  watch: VipWatch,
  probe: ConsoleProbe,
  fault: Fault,
  cycle: number,
  random: () => number,
  workload?: OperationsWorkload,
): Promise<CycleResult> {
  const violations: string[] = [];
  const before = await rack.converged(CONVERGE_TIMEOUT_MS);
  const operations = await workload?.start();
  if (typeof operations === "string") violations.push(operations);
  const startedAt = Date.now();
  const eventsBefore = watch.events.length;
  const injected = await fault.inject({ rack, watch, poc: before.poc, random });
  let failoverMs: number | undefined;
  if (fault.poc === "moves") {
    try {
      await newPocOtherThan(rack, before.poc);
    } catch (err) {
      violations.push(`the PoC did not move: ${(err as Error).message}`);
    }
  }
  await injected.heal();
  let after: Awaited<ReturnType<Rack["converged"]>> | undefined;
  try {
    after = await rack.converged(CONVERGE_TIMEOUT_MS);
  } catch (err) {
    violations.push(`no convergence after healing: ${(err as Error).message}`);
  }
  if (after !== undefined) {
    if (after.uuid !== before.uuid) violations.push(`cluster UUID changed: ${before.uuid} -> ${after.uuid}`);
    if (fault.poc === "stays") {
      if (after.poc !== before.poc) violations.push(`the PoC moved from ${before.poc.name} to ${after.poc.name}`);
      if (after.term !== before.term) violations.push(`the term moved from ${before.term} to ${after.term}`);
    }
    for (const node of injected.rejoining) {
      const campaigns = candidacies(node, startedAt);
      if (campaigns.length > 0) {
        violations.push(
          `${node.name} raised the term when it came back (stood for election in term ${campaigns.join(", ")})`,
        );
      }
    }
  }
  if (after !== undefined) {
    try {
      await eventually(
        `the PoC to hear every member within ${MEMBER_HEARD_WITHIN_MS} ms`,
        async () => ((await silentMembers(rack)).length === 0 ? true : undefined),
        MEMBER_HEARD_TIMEOUT_MS,
      );
    } catch (err) {
      violations.push(`${(err as Error).message}: ${(await silentMembers(rack)).join(", ")}`);
    }
    const throughVip = rack.connectionsThroughVip();
    if (throughVip.length > 0) violations.push(`agent connections through the VIP: ${throughVip.join("; ")}`);
  }
  const healedAt = Date.now();
  try {
    await eventually(
      "the console to be served through the VIP",
      async () => (probe.records.some((record) => record.atMs >= healedAt && record.ok) ? true : undefined),
      CONSOLE_RECOVERY_TIMEOUT_MS,
    );
  } catch (err) {
    violations.push((err as Error).message);
  }
  if (operations !== undefined && typeof operations !== "string" && workload !== undefined) {
    violations.push(...(await workload.check(operations)));
  }
  // Settling: late VIP events belong to this cycle, and every attempt started so far has answered.
  await sleep(PROBE_TIMEOUT_MS + 200);
  const gaps = probe.gaps(startedAt);
  if (fault.poc === "moves") {
    const firstGap = gaps[0];
    failoverMs = firstGap === undefined ? 0 : firstGap.toMs - startedAt;
  }
  const overlaps = watch.overlaps("live").filter((overlap) => overlap.toMs >= startedAt);
  const thaws = watch.events.slice(eventsBefore).filter((event) => event.kind === "thawed");
  let liveDualVipMs = 0;
  let frozenDualVipMs = watch
    .overlaps("all")
    .filter((o) => o.toMs >= startedAt)
    .reduce((s, o) => s + (o.toMs - o.fromMs), 0);
  for (const overlap of overlaps) {
    const length = overlap.toMs - Math.max(overlap.fromMs, startedAt);
    const thawTail = thaws.some(
      (thaw) =>
        overlap.holders.includes(thaw.namespace) &&
        overlap.fromMs >= thaw.atMs &&
        overlap.toMs - thaw.atMs <= THAW_RELEASE_GRACE_MS,
    );
    if (thawTail) continue;
    liveDualVipMs += length;
    violations.push(
      `two live VIP holders for ${length.toFixed(1)} ms: ${overlap.holders.map((ns) => rack.nodeByNamespace(ns)?.name ?? ns).join(", ")}`,
    );
  }
  frozenDualVipMs = Math.max(0, frozenDualVipMs - liveDualVipMs);
  return {
    fault: fault.name,
    cycle,
    pocBefore: before.poc.name,
    pocAfter: after?.poc.name ?? "none",
    failoverMs,
    worstGapMs: gaps.reduce((worst, gap) => Math.max(worst, gap.toMs - gap.fromMs), 0),
    liveDualVipMs,
    frozenDualVipMs,
    violations,
  };
}

export interface FaultSummary {
  readonly fault: string;
  readonly cycles: number;
  readonly failoverP50Ms: number | undefined;
  readonly failoverP99Ms: number | undefined;
  readonly worstGapMs: number;
  readonly frozenDualVipMs: number;
  readonly violations: number;
}

function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function summarize(results: readonly CycleResult[]): FaultSummary[] {
  const byFault = new Map<string, CycleResult[]>();
  for (const result of results) byFault.set(result.fault, [...(byFault.get(result.fault) ?? []), result]);
  return [...byFault.entries()].map(([fault, cycles]) => {
    const failovers = cycles.flatMap((cycle) => (cycle.failoverMs === undefined ? [] : [cycle.failoverMs]));
    return {
      fault,
      cycles: cycles.length,
      failoverP50Ms: percentile(failovers, 50),
      failoverP99Ms: percentile(failovers, 99),
      worstGapMs: Math.max(...cycles.map((cycle) => cycle.worstGapMs)),
      frozenDualVipMs: cycles.reduce((sum, cycle) => sum + cycle.frozenDualVipMs, 0),
      violations: cycles.reduce((sum, cycle) => sum + cycle.violations.length, 0),
    };
  });
}

export function renderTable(summaries: readonly FaultSummary[]): string {
  const ms = (value: number | undefined) => (value === undefined ? "-" : `${Math.round(value)}`);
  const rows = [
    [
      "fault",
      "cycles",
      "failover p50 ms",
      "failover p99 ms",
      "worst console gap ms",
      "frozen dual-VIP ms",
      "violations",
    ],
    ...summaries.map((s) => [
      s.fault,
      String(s.cycles),
      ms(s.failoverP50Ms),
      ms(s.failoverP99Ms),
      ms(s.worstGapMs),
      ms(s.frozenDualVipMs),
      String(s.violations),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")).join("\n");
}

/** A seeded PRNG (mulberry32): the long run's fault order and choices replay from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
