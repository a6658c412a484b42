// The chaos suite: a real rack in network namespaces (root, as in CI; skips otherwise with the
// reason). Short run (what `npm test` runs): every fault once on 5 BMCs, then a 2 + witness rack
// through a crash and a restart. Long run: `CHAOS_CYCLES=200 pnpm test:chaos` draws faults at
// random from a seed (printed; `CHAOS_SEED=<n>` replays it). Both print the table of
// fault, cycles, failover p50/p99, worst console gap, frozen dual-VIP time, invariant violations;
// the test fails on any violation.
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { type CycleResult, renderTable, runCycle, seededRandom, summarize } from "../rack/chaos-runner.ts";
import { ConsoleProbe } from "../rack/console-probe.ts";
import { FAULTS, type Fault } from "../rack/faults.ts";
import { rackSupportProblem } from "../rack/network.ts";
import { OperationsWorkload } from "../rack/operations-workload.ts";
import { Rack } from "../rack/rack.ts";
import { VipWatch } from "../rack/vip-watch.ts";

const problem = rackSupportProblem();
/** Bound on the long run's cycles. */
const CHAOS_CYCLES_MAX = 10_000;
/** Bound on forming a rack (mDNS, bootstrapExpect settle, autopilot promotion after 10 s on `lan`). */
const FORM_TIMEOUT_MS = 90_000;
/** Per-cycle budget for vitest's timeout: the slowest fault plus convergence. */
const CYCLE_BUDGET_MS = 120_000;

function cyclesWanted(): number | undefined {
  const text = process.env.CHAOS_CYCLES;
  if (text === undefined || text === "") return undefined;
  const cycles = Number(text);
  if (!Number.isInteger(cycles) || cycles < 1 || cycles > CHAOS_CYCLES_MAX) {
    throw new Error(`CHAOS_CYCLES must be an integer from 1 to ${CHAOS_CYCLES_MAX}, got "${text}"`);
  }
  return cycles;
}

function seedWanted(): number {
  const text = process.env.CHAOS_SEED;
  if (text === undefined || text === "") return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, got "${text}"`);
  return seed;
}

const racks: { rack: Rack; watch: VipWatch; probe?: ConsoleProbe }[] = [];
afterAll(async () => {
  for (const { rack, watch, probe } of racks) {
    probe?.stop();
    watch.stop();
    await rack.destroy();
  }
});

async function formRack(
  size: number,
  witnesses: number,
): Promise<{ rack: Rack; watch: VipWatch; probe: ConsoleProbe; workload: OperationsWorkload }> {
  const rack = await Rack.create({ size, witnesses, stateTmpfsMiB: 48 });
  const watch = new VipWatch(rack.vip);
  const entry: { rack: Rack; watch: VipWatch; probe?: ConsoleProbe } = { rack, watch };
  racks.push(entry);
  for (const node of rack.nodes) watch.watch(node.host.namespace);
  rack.start();
  try {
    await rack.converged(FORM_TIMEOUT_MS);
  } catch (error) {
    const docs = await rack.statuses();
    process.stderr.write(
      `the rack did not form; status per node:\n${JSON.stringify(docs.map((d) => d && { node: d.node, poc: d.pocId, term: d.term, lease: d.lease, vip: d.vip, members: d.members.map((m) => [m.name, m.role]) }))}\n${rack.logs(30)}\n`,
    );
    throw error;
  }
  // The console logs in once and reads the merged Systems with that token through every fault.
  const token = await rack.login(FORM_TIMEOUT_MS);
  const probe = new ConsoleProbe(rack.console.namespace, `${rack.facadeUrl}/redfish/v1/Systems`, token);
  entry.probe = probe;
  // Before every fault the console also starts an aggregated power cycle (operations-workload.ts).
  return { rack, watch, probe, workload: new OperationsWorkload(rack, token) };
}

async function runFaults(
  label: string,
  setup: { rack: Rack; watch: VipWatch; probe: ConsoleProbe; workload: OperationsWorkload },
  faults: readonly Fault[],
  random: () => number,
): Promise<CycleResult[]> {
  const results: CycleResult[] = [];
  onTestFailed(() => {
    process.stderr.write(
      `${label}: last results\n${JSON.stringify(results.slice(-3), null, 1)}\n${setup.rack.logs(25)}\n`,
    );
  });
  for (const [cycle, fault] of faults.entries()) {
    const result = await runCycle(setup.rack, setup.watch, setup.probe, fault, cycle, random, setup.workload);
    results.push(result);
    if (result.violations.length > 0) {
      process.stderr.write(`${label} cycle ${cycle} ${fault.name}: ${result.violations.join("; ")}\n`);
    }
  }
  const table = renderTable(summarize(results));
  process.stdout.write(`\n${label}\n${table}\n`);
  return results;
}

describe.skipIf(problem !== undefined)(`chaos in network namespaces${problem ? ` (skipped: ${problem})` : ""}`, () => {
  const cycles = cyclesWanted();

  it(
    cycles === undefined ? "5 BMCs: every fault once, no invariant violated" : `5 BMCs: ${cycles} random faults`,
    async () => {
      const setup = await formRack(5, 0);
      const seed = seedWanted();
      const random = seededRandom(seed);
      process.stdout.write(`chaos seed ${seed} (replay with CHAOS_SEED=${seed})\n`);
      const eligible = FAULTS.filter((fault) => fault.minSize <= 5);
      const faults =
        cycles === undefined
          ? eligible
          : Array.from({ length: cycles }, () => eligible[Math.floor(random() * eligible.length)] as Fault);
      const results = await runFaults(`5 BMCs, seed ${seed}`, setup, faults, random);
      expect(
        results.flatMap((result) => result.violations.map((v) => `${result.fault}#${result.cycle}: ${v}`)),
      ).toEqual([]);
    },
    FORM_TIMEOUT_MS + CYCLE_BUDGET_MS * Math.max(FAULTS.length, cycles ?? 0),
  );

  it(
    "2 BMCs + a witness: the PoC crashes and a follower restarts, no invariant violated",
    async () => {
      const setup = await formRack(3, 1);
      const seed = seedWanted();
      const names = ["kill-process", "restart-follower"];
      const faults = FAULTS.filter((fault) => names.includes(fault.name));
      const results = await runFaults(`2 BMCs + witness, seed ${seed}`, setup, faults, seededRandom(seed));
      expect(results.flatMap((result) => result.violations)).toEqual([]);
    },
    FORM_TIMEOUT_MS + CYCLE_BUDGET_MS * 2,
  );
});
