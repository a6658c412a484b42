// A tiny interpreter for scenario scripts in etcd's datadriven style: each block is a
// command, a `----` line, then the expected output up to a blank line. `#` lines are
// comments. With REWRITE=1 the test writes the actual output back into the file.
//
// Nodes tick only when told to, and every election timeout is exactly electionTicks
// (default 10; heartbeatTicks default 5), so `tick-election` always fires.
//
// Output notation (term/index throughout):
//   1: leader term=2 vote=1 leader=1    role, term, vote or leader changed (from a Ready)
//   1->2 append term=2 prev=1/1 ...     a message sent; "(dropped)" when the link is cut
//   2: apply 2/3 "x"                    the application applied a committed entry
//   2: install snapshot 2/7             the application restored from a received snapshot
//   1: read r1 index=5                  a ReadIndex request was confirmed
import type { RaftConfig } from "../../src/config.ts";
import { ConfChangeType, type NodeId } from "../../src/types.ts";
import { bytes, describeEntry, describeMessage, type NetworkEvent, RaftNetwork } from "../support/raft-network.ts";

export interface ScenarioBlock {
  /** Comment lines before the command, kept when rewriting. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
  /** 1-based line of the command, for failure messages. */
  readonly line: number;
}

export function parseScenario(text: string): ScenarioBlock[] {
  const lines = text.split("\n");
  const blocks: ScenarioBlock[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.startsWith("#")) {
      comments.push(line);
      i++;
      continue;
    }
    if (line.trim() === "") {
      if (comments.length > 0) comments.push("");
      i++;
      continue;
    }
    const command = line.trim();
    const commandLine = i + 1;
    if (lines[i + 1] !== "----") throw new Error(`line ${commandLine + 1}: expected ---- after "${command}"`);
    i += 2;
    const output: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== "") output.push(lines[i++] as string);
    while (comments.at(-1) === "") comments.pop();
    blocks.push({ comments, command, expected: output.join("\n"), line: commandLine });
    comments = [];
  }
  return blocks;
}

export function formatScenario(blocks: readonly { comments: readonly string[]; command: string; output: string }[]) {
  const parts = blocks.map((block) => {
    const head = block.comments.length > 0 ? `${block.comments.join("\n")}\n` : "";
    return `${head}${block.command}\n----\n${block.output}${block.output === "" ? "" : "\n"}`;
  });
  return parts.join("\n");
}

interface Parsed {
  readonly name: string;
  readonly positional: string[];
  readonly named: Map<string, string>;
}

function parseCommand(command: string): Parsed {
  const [name = "", ...rest] = command.split(/\s+/);
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const token of rest) {
    const eq = token.indexOf("=");
    if (eq > 0) named.set(token.slice(0, eq), token.slice(eq + 1));
    else positional.push(token);
  }
  return { name, positional, named };
}

/** `(1,2,3)` or `1,2,3` -> ["1", "2", "3"]; `()` -> []. */
function parseList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const inner = value.replace(/^\(/, "").replace(/\)$/, "");
  return inner === "" ? [] : inner.split(",");
}

const CONFIG_KEYS = [
  "preVote",
  "checkQuorum",
  "noCampaign",
  "leaseTicks",
  "maxMessageBytes",
  "maxInflightMessages",
  "maxUncommittedBytes",
  "maxSnapshotChunkBytes",
  "maxCommittedBytesPerReady",
] as const;

export class ScenarioRunner {
  private network: RaftNetwork | undefined;
  private output: string[] = [];
  private readonly lastState = new Map<NodeId, string>();

  /** Runs one command and returns its output. */
  run(command: string): string {
    this.output = [];
    try {
      this.execute(parseCommand(command));
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      if (error.name === "Error" || error.name === "TypeError" || error.name === "RangeError") throw error;
      this.print(`error: ${error.name}: ${error.message}`);
    }
    return this.output.join("\n");
  }

  private print(line: string): void {
    this.output.push(line);
  }

  private get net(): RaftNetwork {
    if (!this.network) throw new Error("no nodes yet: start with add-nodes");
    return this.network;
  }

  private execute({ name, positional, named }: Parsed): void {
    const node = (): NodeId => {
      const id = positional[0];
      if (id === undefined || !this.net.peers.has(id)) throw new Error(`${name}: unknown node ${String(id)}`);
      return id;
    };
    switch (name) {
      case "add-nodes":
        this.addNodes(Number(positional[0]), named);
        return;
      case "campaign": {
        const id = node();
        this.net.node(id).campaign();
        this.process(id);
        return;
      }
      case "propose": {
        const id = node();
        for (const data of positional.slice(1)) this.net.node(id).propose(bytes(data));
        this.process(id);
        return;
      }
      case "add-voter":
      case "promote":
      case "add-learner":
      case "remove": {
        const type =
          name === "add-learner"
            ? ConfChangeType.AddLearner
            : name === "remove"
              ? ConfChangeType.RemoveNode
              : ConfChangeType.AddVoter;
        const leader = named.get("on") ?? this.net.leaders()[0];
        if (!leader) throw new Error(`${name}: no leader to propose to`);
        const target = positional[0] ?? "";
        const { index, term } = this.net.node(leader).proposeConfChange({ type, nodeId: target });
        this.print(`${leader}: proposed ${name} ${target} at ${term}/${index}`);
        this.process(leader);
        return;
      }
      case "transfer-leadership": {
        const from = named.get("from") ?? "";
        this.net.node(from).transferLeadership(named.get("to") ?? "");
        this.process(from);
        return;
      }
      case "read-index": {
        const id = node();
        this.net.node(id).readIndex(positional[1] ?? "");
        this.process(id);
        return;
      }
      case "tick":
        this.tick(node(), Number(positional[1] ?? 1));
        return;
      case "tick-heartbeat":
        this.tick(node(), this.net.peer(node()).config.heartbeatTicks);
        return;
      case "tick-election":
        this.tick(node(), this.net.peer(node()).config.electionTicks);
        return;
      case "stabilize":
        this.stabilize();
        return;
      case "deliver":
        // One round: everything in flight now, then the recipients' Readies.
        this.net.deliverRound();
        for (const id of this.net.ids) this.process(id);
        return;
      case "partition":
        if (positional.length === 1) {
          this.net.isolate(node());
          this.print(`${node()} isolated`);
        } else {
          const groups = positional.map(parseList);
          this.net.partition(...groups);
          this.print(`partitioned ${groups.map((group) => `(${group.join(",")})`).join(" ")}`);
        }
        return;
      case "heal":
        this.net.heal();
        this.print("healed");
        return;
      case "compact": {
        const id = node();
        const index = Number(positional[1]);
        this.net.compact(id, index);
        const storage = this.net.peer(id).storage;
        this.print(`${id}: snapshot ${storage.snapshotMetadata().term}/${index}, ${storage.snapshotSize()} bytes`);
        return;
      }
      case "status":
        this.status(node());
        return;
      case "raft-log":
        this.raftLog(node());
        return;
      case "restart": {
        const id = node();
        this.net.restart(id);
        this.lastState.delete(id);
        this.print(`${id} restarted`);
        this.process(id);
        return;
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private addNodes(count: number, named: Map<string, string>): void {
    const config: Record<string, boolean | number> = {};
    for (const key of CONFIG_KEYS) {
      const value = named.get(key);
      if (value !== undefined) config[key] = value === "true" ? true : value === "false" ? false : Number(value);
    }
    if (!this.network) {
      this.network = new RaftNetwork({
        ids: [],
        electionTicks: Number(named.get("electionTicks") ?? 10),
        heartbeatTicks: Number(named.get("heartbeatTicks") ?? 5),
        // Election timeouts are exactly electionTicks, so tick-election always fires.
        randomOffset: 0,
      });
      this.network.onEvent = (event) => this.onEvent(event);
    }
    const voters = named.has("voters") ? parseList(named.get("voters")) : undefined;
    const learners = parseList(named.get("learners"));
    const first = this.net.ids.length + 1;
    for (let id = first; id < first + count; id++) {
      const nodeId = String(id);
      this.net.addPeer(nodeId, voters ? { voters, learners } : undefined, config as Partial<RaftConfig>);
      const status = this.net.node(nodeId).status();
      this.lastState.set(nodeId, this.stateLine(nodeId));
      this.print(
        `${nodeId}: ${status.role} term=${status.term} commit=${status.commit} voters=(${status.confState.voters.join(",")}) learners=(${status.confState.learners.join(",")})`,
      );
    }
  }

  private tick(id: NodeId, count: number): void {
    for (let i = 0; i < count; i++) {
      this.net.node(id).tick();
      this.process(id);
    }
  }

  private process(id: NodeId): void {
    this.net.process(id);
  }

  private stabilize(): void {
    const network = this.net;
    for (let round = 0; round < 1000; round++) {
      network.processAll();
      if (network.pending.length === 0) return;
      network.deliverRound();
    }
    throw new Error("not stable after 1000 rounds");
  }

  private stateLine(id: NodeId): string {
    const status = this.net.node(id).status();
    return `${status.role} term=${status.term} vote=${status.vote || "-"} leader=${status.leaderId || "-"}`;
  }

  private onEvent(event: NetworkEvent): void {
    switch (event.kind) {
      case "ready": {
        const line = this.stateLine(event.id);
        if (line !== this.lastState.get(event.id)) {
          this.lastState.set(event.id, line);
          this.print(`${event.id}: ${line}`);
        }
        const snapshot = event.ready.installSnapshot;
        if (snapshot) this.print(`${event.id}: install snapshot ${snapshot.term}/${snapshot.index}`);
        return;
      }
      case "send":
        this.print(`${describeMessage(event.message)}${event.dropped ? " (dropped)" : ""}`);
        return;
      case "applied":
        for (const entry of event.ready.committedEntries) this.print(`${event.id}: apply ${describeEntry(entry)}`);
        for (const read of event.ready.readStates)
          this.print(`${event.id}: read ${read.requestId} index=${read.index}`);
        return;
    }
  }

  private status(id: NodeId): void {
    const status = this.net.node(id).status();
    const lease = status.hasLease ? `${status.leaseTicksLeft}` : "none";
    const transfer = status.leadTransferee ? ` transferring-to=${status.leadTransferee}` : "";
    this.print(
      `${id}: ${status.role} term=${status.term} leader=${status.leaderId || "-"} commit=${status.commit} applied=${status.applied} last=${status.lastIndex} lease=${lease}${transfer}`,
    );
    this.print(`  voters=(${status.confState.voters.join(",")}) learners=(${status.confState.learners.join(",")})`);
    for (const [peer, progress] of Object.entries(status.progress)) {
      if (peer === id) continue;
      this.print(
        `  ${peer}: match=${progress.match} next=${progress.next} ${progress.state}${progress.isLearner ? " learner" : ""}${progress.recentActive ? "" : " inactive"}`,
      );
    }
  }

  private raftLog(id: NodeId): void {
    const storage = this.net.peer(id).storage;
    const snapshot = storage.snapshotMetadata();
    this.print(`snapshot ${snapshot.term}/${snapshot.index}`);
    const entries = this.net.storedEntries(id);
    if (entries.length === 0) this.print("(no entries)");
    for (const entry of entries) this.print(describeEntry(entry));
  }
}
