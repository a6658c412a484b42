// `npm run demo` (until the agent exists): three Raft nodes in one process elect a
// leader, replicate, lose the leader, elect another, and take the old one back —
// printed as a timeline. Simulated time: one tick is 100 ms of a real cluster.
import { decodeConfChange, type Entry, EntryType, type NodeId, type SoftState } from "../src/index.ts";
import { MemoryStorage } from "../src/storage/memory-storage.ts";
import { InProcessCluster } from "./in-process-cluster.ts";

const TICK_MS = 100;
/** Bound on ticks spent waiting for any one step of the story. */
const MAX_WAIT_TICKS = 200;

let now = 0;
const say = (text: string): void => console.log(`${`t=${(now * TICK_MS) / 1000}s`.padEnd(8)} ${text}`);
const decoder = new TextDecoder();
const applied = new Map<NodeId, string[]>();

function onSoftState(id: NodeId, state: SoftState, term: number): void {
  if (state.role === "leader") say(`${id} is the leader (term ${term})`);
  else if (state.role === "candidate") say(`${id} stands for election (term ${term})`);
  else if (state.role === "preCandidate") say(`${id} asks for pre-votes`);
}

function onApply(id: NodeId, entry: Entry): void {
  if (entry.type === EntryType.ConfChange) {
    say(`${id} applies a membership change: ${JSON.stringify(decodeConfChange(entry.data))}`);
    return;
  }
  if (entry.data.length === 0) return;
  const text = decoder.decode(entry.data);
  applied.get(id)?.push(text);
  say(`${id} applies #${entry.index} "${text}"`);
}

const ids = ["bmc-a", "bmc-b", "bmc-c"];
for (const id of ids) applied.set(id, []);
const cluster = new InProcessCluster({
  ids,
  seed: 2026,
  electionTicks: 10,
  heartbeatTicks: 1,
  makeStorage: () => new MemoryStorage(),
  onApply,
  onSoftState,
});

function tick(): void {
  now++;
  cluster.tick();
}

function waitFor(what: string, done: () => boolean): void {
  for (let i = 0; i < MAX_WAIT_TICKS; i++) {
    if (done()) return;
    tick();
  }
  throw new Error(`gave up waiting for ${what} after ${MAX_WAIT_TICKS} ticks`);
}

function propose(text: string): void {
  const leader = cluster.leader();
  if (!leader) throw new Error("no leader to propose to");
  say(`client -> ${leader}: propose "${text}"`);
  cluster.node(leader).propose(new TextEncoder().encode(text));
  cluster.pump();
}

console.log("Conclave consensus demo: 3 BMCs, Raft with PreVote, CheckQuorum and leader lease\n");
say(`${ids.join(", ")} start; nobody leads yet`);
waitFor("a leader", () => cluster.leader() !== undefined);
const first = cluster.leader() as NodeId;
waitFor("the lease", () => cluster.node(first).hasLease());
say(`${first} holds the lease: it may claim the VIP`);
propose("power on system 1");
propose("set boot override to PXE");

say(`${first} crashes`);
cluster.crash(first);
const crashedAt = now;
waitFor("a new leader", () => {
  const leader = cluster.leader();
  return leader !== undefined && leader !== first;
});
const second = cluster.leader() as NodeId;
say(`${second} took over after ${((now - crashedAt) * TICK_MS) / 1000}s of simulated time`);
waitFor("the new lease", () => cluster.node(second).hasLease());
propose("update firmware on bmc-c");

say(`${first} restarts from its storage (its state machine starts empty and replays the log)`);
applied.set(first, []);
cluster.restart(first);
waitFor(`${first} to catch up`, () => (applied.get(first)?.length ?? 0) >= 3);
const third = ids.find((id) => id !== first && id !== second) as NodeId;
say(`operator: transfer leadership ${second} -> ${third}`);
cluster.node(second).transferLeadership(third);
cluster.pump();
waitFor("the transfer", () => cluster.leader() === third);

console.log("");
for (const id of ids) {
  const status = cluster.node(id).status();
  console.log(
    `${id.padEnd(6)} role=${status.role.padEnd(9)} term=${status.term} commit=${status.commit} applied=[${(applied.get(id) ?? []).join(" | ")}]`,
  );
}
console.log(
  "\nEvery node applied the same operations in the same order. (The agent demo replaces this once it lands.)",
);
