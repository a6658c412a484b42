// Several Raft nodes in one process, wired by an in-memory transport and driven by one
// loop that honours the Ready contract. The demo and the benchmark use it; the
// deterministic simulator has its own, fault-injecting network.
import {
  bootstrapStorage,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  RaftNode,
  type Ready,
  SeededRandom,
  type SoftState,
  type Storage,
} from "../src/index.ts";

export interface InProcessClusterOptions {
  readonly ids: readonly NodeId[];
  readonly makeStorage: (id: NodeId) => Storage;
  readonly seed: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly nodeConfig?: Partial<RaftConfig>;
  /** Called for every committed entry a node applies. */
  readonly onApply?: (id: NodeId, entry: Entry) => void;
  /** Called when a node's role or known leader changes. */
  readonly onSoftState?: (id: NodeId, state: SoftState, term: number) => void;
}

interface Member {
  readonly id: NodeId;
  readonly storage: Storage;
  node: RaftNode;
  alive: boolean;
  inbox: Message[];
}

/** Bound on delivery rounds in one pump: a quiet cluster needs a handful. */
const MAX_PUMP_ROUNDS = 10_000;

export class InProcessCluster {
  private readonly members = new Map<NodeId, Member>();
  private readonly options: InProcessClusterOptions;
  private readonly random: SeededRandom;

  constructor(options: InProcessClusterOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed);
    for (const id of options.ids) {
      const storage = options.makeStorage(id);
      bootstrapStorage(storage, options.ids);
      this.members.set(id, { id, storage, node: this.createNode(id, storage), alive: true, inbox: [] });
    }
  }

  private createNode(id: NodeId, storage: Storage): RaftNode {
    return new RaftNode({
      id,
      storage,
      random: new SeededRandom(this.random.nextUint32()),
      electionTicks: this.options.electionTicks ?? 10,
      heartbeatTicks: this.options.heartbeatTicks ?? 1,
      ...this.options.nodeConfig,
    });
  }

  get ids(): NodeId[] {
    return [...this.members.keys()];
  }

  node(id: NodeId): RaftNode {
    return this.member(id).node;
  }

  storage(id: NodeId): Storage {
    return this.member(id).storage;
  }

  isAlive(id: NodeId): boolean {
    return this.member(id).alive;
  }

  private member(id: NodeId): Member {
    const member = this.members.get(id);
    if (!member) throw new Error(`no node ${id}`);
    return member;
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const member of this.members.values()) {
      if (!member.alive) continue;
      const status = member.node.status();
      if (status.role === "leader" && (!best || status.term > best.term)) best = { id: member.id, term: status.term };
    }
    return best?.id;
  }

  /** One tick on every live node, then deliver until quiet. */
  tick(): void {
    for (const member of this.members.values()) if (member.alive) member.node.tick();
    this.pump();
  }

  /** Processes Ready batches and delivers messages until nothing moves. */
  pump(): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      let moved = false;
      for (const member of this.members.values()) {
        if (!member.alive) continue;
        while (member.node.hasReady()) {
          moved = true;
          this.handleReady(member, member.node.ready());
          member.node.advance();
        }
      }
      for (const member of this.members.values()) {
        if (member.inbox.length === 0) continue;
        const inbox = member.inbox;
        member.inbox = [];
        if (!member.alive) continue;
        moved = true;
        for (const message of inbox) member.node.step(message);
      }
      if (!moved) return;
    }
    throw new Error(`cluster did not go quiet within ${MAX_PUMP_ROUNDS} rounds`);
  }

  private handleReady(member: Member, ready: Ready): void {
    member.storage.persist({
      ...(ready.hardState ? { hardState: ready.hardState } : {}),
      entries: ready.entries,
      snapshotChunks: ready.snapshotChunks,
      ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
    });
    for (const message of ready.messages) {
      const target = this.members.get(message.to);
      if (target?.alive) target.inbox.push(message);
    }
    if (ready.softState) this.options.onSoftState?.(member.id, ready.softState, member.node.status().term);
    if (this.options.onApply) for (const entry of ready.committedEntries) this.options.onApply(member.id, entry);
  }

  /** The node stops: no ticks, no messages, in-flight messages to it are lost. */
  crash(id: NodeId): void {
    const member = this.member(id);
    member.alive = false;
    member.inbox = [];
  }

  /** The node starts again from what its storage kept. */
  restart(id: NodeId): void {
    const member = this.member(id);
    member.node = this.createNode(id, member.storage);
    member.alive = true;
  }
}
