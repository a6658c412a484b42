// Proves the lease never overlaps a newer leader, one leader per term, and identical applied entries, under random schedules and faults.
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/prng.ts";
import type { ConfChangeType, Message } from "../../src/types.ts";
import { describeMessage, RaftNetwork } from "../support/raft-network.ts";

/** Named bounds: runs and steps per run. */
const RUNS = Number(process.env.LEASE_FUZZ_RUNS ?? 300);
const STEPS_PER_RUN = 600;
/** Voters at the start (node VOTERS + 1 joins and leaves at random). */
const VOTERS = Number(process.env.LEASE_FUZZ_VOTERS ?? 3);
const IDS = Array.from({ length: VOTERS }, (_, i) => String(i + 1));
const JOINER = String(VOTERS + 1);

/** Bound on the events a failure prints. */
const TRACE_EVENTS = Number(process.env.LEASE_FUZZ_TRACE ?? 80);

let snapshotsInstalled = 0;

/** What earlier checks of one run saw: who led each term, and what was applied where. */
interface Checked {
  readonly leadersByTerm: Map<number, string>;
  readonly appliedAt: Map<number, string>;
  /** Per node, how many of its applied entries were checked already. */
  readonly cursors: Map<string, number>;
}

function checkInvariants(network: RaftNetwork, checked: Checked, seed: number, step: number) {
  const { leadersByTerm } = checked;
  const leaders = network.leaders();
  for (const id of leaders) {
    const term = network.node(id).status().term;
    const known = leadersByTerm.get(term);
    if (known !== undefined && known !== id) {
      throw new Error(`seed ${seed} step ${step}: two leaders in term ${term}: ${known} and ${id}`);
    }
    leadersByTerm.set(term, id);
  }
  // State machine safety: every node applied the same entry at each index.
  for (const id of network.ids) {
    const applied = network.peer(id).applied;
    const from = checked.cursors.get(id) ?? 0;
    checked.cursors.set(id, applied.length);
    for (const entry of applied.slice(from)) {
      const text = `${entry.term}/${entry.index}:${entry.type}:${Buffer.from(entry.data).toString("hex")}`;
      const other = checked.appliedAt.get(entry.index);
      if (other !== undefined && other !== text) {
        throw new Error(`seed ${seed} step ${step}: index ${entry.index} applied as ${other} and as ${text}`);
      }
      checked.appliedAt.set(entry.index, text);
    }
  }
  for (const id of network.ids) {
    if (!network.node(id).hasLease()) continue;
    // A deposed leader of an older term may not know it yet (it holds no lease); a newer
    // leader while this one holds its lease is what must never happen.
    const term = network.node(id).status().term;
    const newer = leaders.filter((other) => network.node(other).status().term > term);
    if (newer.length > 0) {
      throw new Error(
        `seed ${seed} step ${step}: ${id} holds the lease of term ${term} while ${newer.join(",")} leads`,
      );
    }
  }
}

function run(seed: number): { terms: number; confChangesApplied: number; fourVoted: boolean } {
  const random = new SeededRandom(seed);
  const network = new RaftNetwork({
    ids: IDS,
    seed,
    electionTicks: 10,
    heartbeatTicks: 2,
    config: { maxSnapshotChunkBytes: 8 },
  });
  const checked: Checked = { leadersByTerm: new Map(), appliedAt: new Map(), cursors: new Map() };
  const { leadersByTerm } = checked;
  let proposals = 0;
  // The joiner starts empty and outside the cluster; leaders add and remove it at random.
  network.addPeer(JOINER);
  network.drop(() => random.nextInt(10) === 0);
  const trace: string[] = [];
  const note = (text: string): void => {
    trace.push(text);
    if (trace.length > TRACE_EVENTS) trace.shift();
  };
  network.onEvent = (event) => {
    if (event.kind === "send") note(`  sent ${describeMessage(event.message)}${event.dropped ? " (dropped)" : ""}`);
  };
  const verify = (step: number): void => {
    try {
      checkInvariants(network, checked, seed, step);
    } catch (error) {
      const states = network.ids.map((node) => {
        const status = network.node(node).status();
        return `  ${node}: ${status.role} term=${status.term} lease=${status.leaseTicksLeft}`;
      });
      throw new Error(`${(error as Error).message}\n${trace.join("\n")}\n${states.join("\n")}`);
    }
  };
  for (let step = 0; step < STEPS_PER_RUN; step++) {
    const id = String(random.nextInt(VOTERS + 1) + 1);
    const action = random.nextInt(100);
    try {
      if (action < 45) {
        // The lease assumes clocks that run at the same rate: every node ticks together.
        for (const peer of network.peers.values()) peer.node.tick();
        note(`${step}: tick all`);
      } else if (action < 85 && network.pending.length > 0) {
        // Deliver a few messages, not necessarily the oldest: the network reorders. More
        // in flight, more delivered, so the queue stays bounded.
        const count = 1 + Math.floor(network.pending.length / 8);
        for (let i = 0; i < count && network.pending.length > 0; i++) {
          const [message] = network.pending.splice(random.nextInt(network.pending.length), 1);
          note(`${step}: deliver ${describeMessage(message as Message)}`);
          network.node((message as Message).to).step(message as Message);
          network.processAll();
          verify(step);
        }
      } else if (action < 90) {
        note(`${step}: campaign ${id}`);
        network.node(id).campaign();
      } else if (action < 93) {
        const to = String(random.nextInt(VOTERS + 1) + 1);
        if (network.node(id).status().role === "leader") {
          note(`${step}: transfer ${id} -> ${to}`);
          network.node(id).transferLeadership(to);
        }
      } else if (action < 96) {
        if (network.node(id).status().role === "leader") {
          if (random.nextInt(2) === 0) {
            const type = random.nextInt(3) as ConfChangeType;
            note(`${step}: ${id} proposes conf change ${type} ${JOINER}`);
            network.node(id).proposeConfChange({ type, nodeId: JOINER });
          } else {
            network.propose(id, `p${proposals++}`);
          }
        }
      } else if (action < 99) {
        // Cut one link, one way, or heal them all.
        const to = String(random.nextInt(VOTERS + 1) + 1);
        if (random.nextInt(3) === 0) {
          note(`${step}: heal`);
          network.heal();
        } else if (to !== id) {
          note(`${step}: cut ${id}->${to}`);
          network.cutLink(id, to);
        }
        network.drop(() => random.nextInt(10) === 0);
      } else if (random.nextInt(4) === 0) {
        // Crash and restart from storage (everything handed out was persisted).
        note(`${step}: restart ${id}`);
        network.restart(id);
      } else if (random.nextInt(3) === 0) {
        // The application snapshots and compacts its log; laggards then need InstallSnapshot.
        const { applied } = network.node(id).status();
        if (applied > network.peer(id).storage.snapshotMetadata().index) {
          note(`${step}: compact ${id} at ${applied}`);
          network.compact(id, applied);
        }
      } else {
        // Duplicate a message in flight.
        const message = network.pending[random.nextInt(Math.max(1, network.pending.length))];
        if (message) network.pending.push(message);
      }
    } catch (error) {
      if (!(error instanceof Error) || !("code" in error)) throw error;
    }
    network.processAll();
    verify(step);
  }
  const confChangesApplied = network.peer("1").applied.filter((entry) => entry.type === 1).length;
  snapshotsInstalled += network.ids.reduce((sum, id) => sum + network.peer(id).installedSnapshots.length, 0);
  return {
    terms: leadersByTerm.size,
    confChangesApplied,
    fourVoted: network.node("1").status().confState.voters.includes(JOINER),
  };
}

describe("leader lease under random schedules", () => {
  it(
    `holds in ${RUNS} random runs of ${STEPS_PER_RUN} steps`,
    () => {
      let terms = 0;
      let confChanges = 0;
      let endedWithFourVoters = 0;
      const only = process.env.LEASE_FUZZ_SEED;
      const seeds = only ? [Number(only)] : Array.from({ length: RUNS }, (_, i) => i + 1);
      for (const seed of seeds) {
        const result = run(seed);
        terms += result.terms;
        confChanges += result.confChangesApplied;
        if (result.fourVoted) endedWithFourVoters++;
      }
      if (only) return;
      // The runs did elect leaders and change membership, many times over.
      expect(terms).toBeGreaterThan(RUNS / 2);
      expect(confChanges).toBeGreaterThan(RUNS / 5);
      expect(endedWithFourVoters).toBeGreaterThan(RUNS / 50);
      expect(snapshotsInstalled).toBeGreaterThan(RUNS / 20);
    },
    60_000 + RUNS * 20,
  );
});
