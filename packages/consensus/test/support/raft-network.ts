// A small deterministic harness for the paper tests and the scenario runner: RaftNode
// instances on MemoryStorage, a FIFO network with cuttable links, and an embedder loop
// that honours the Ready contract (persist, then send, then apply, then advance).
import { decodeConfChange } from "../../src/codec.ts";
import type { RaftConfig } from "../../src/config.ts";
import type { Random } from "../../src/prng.ts";
import { SeededRandom } from "../../src/prng.ts";
import { RaftNode, type Ready } from "../../src/raft-node.ts";
import type { ReadState } from "../../src/read-only.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  NO_NODE,
  type NodeId,
  type SnapshotMetadata,
} from "../../src/types.ts";

/** Bound on delivery rounds in one stabilize(): a quiet cluster needs a handful. */
export const MAX_STABILIZE_ROUNDS = 1_000;

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
export const bytes = (text: string): Uint8Array => encoder.encode(text);

/** Always answers the same offset: every election timeout is exactly electionTicks + offset. */
export class FixedRandom implements Random {
  offset: number;
  constructor(offset: number) {
    this.offset = offset;
  }
  nextInt(bound: number): number {
    return Math.min(this.offset, bound - 1);
  }
}

/** The application: the data of every applied non-empty normal entry, in order. */
export interface Peer {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  node: RaftNode;
  config: RaftConfig;
  /** Application state: applied data, in order (restored from snapshots). */
  state: string[];
  /** Every entry handed to the application, in order (not restored from snapshots). */
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  readonly installedSnapshots: SnapshotMetadata[];
  /** Every Ready handled, for tests that look at batching or ordering. */
  readonly readies: Ready[];
}

export interface NetworkOptions {
  /** Nodes to create, bootstrapped with `voters` and `learners` (default: all voters). */
  readonly ids: readonly NodeId[];
  readonly voters?: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Seed for every node's PRNG (each node gets its own stream). Ignored with `random`. */
  readonly seed?: number;
  /** A fixed election-timeout offset for every node, for exact tick counts. */
  readonly randomOffset?: number;
  /** Config for every node; `perNode` overrides it. */
  readonly config?: Partial<RaftConfig>;
  readonly perNode?: Readonly<Record<NodeId, Partial<RaftConfig>>>;
  /** Prepared storage for some nodes (used as is, not bootstrapped). */
  readonly storage?: Readonly<Record<NodeId, MemoryStorage>>;
}

/** Something the network did, for the scenario transcript. */
export type NetworkEvent =
  | { readonly kind: "send"; readonly message: Message; readonly dropped: boolean }
  /** A Ready was persisted; its messages follow as "send" events. */
  | { readonly kind: "ready"; readonly id: NodeId; readonly ready: Ready }
  /** A Ready's committed entries and read states reached the application (advance() follows). */
  | { readonly kind: "applied"; readonly id: NodeId; readonly ready: Ready };

export class RaftNetwork {
  readonly peers = new Map<NodeId, Peer>();
  /** Messages sent and not yet delivered, oldest first. */
  pending: Message[] = [];
  /** Cut links as "from->to". */
  private readonly cut = new Set<string>();
  private readonly dropRules: ((message: Message) => boolean)[] = [];
  private readonly options: NetworkOptions;
  private readonly seeds: SeededRandom;
  /** Observers (the scenario runner prints from these). */
  onEvent: ((event: NetworkEvent) => void) | undefined;

  constructor(options: NetworkOptions) {
    this.options = options;
    this.seeds = new SeededRandom(options.seed ?? 1);
    const voters = options.voters ?? options.ids;
    const learners = options.learners ?? [];
    for (const id of options.ids) {
      const prepared = options.storage?.[id];
      if (prepared) this.addPeer(id, undefined, undefined, prepared);
      else this.addPeer(id, { voters, learners });
    }
  }

  /**
   * Creates a node. With `confState` its new storage is bootstrapped; without it the node
   * starts empty (to join later), or on `prepared` storage.
   */
  addPeer(id: NodeId, confState?: ConfState, config?: Partial<RaftConfig>, prepared?: MemoryStorage): Peer {
    const storage = prepared ?? new MemoryStorage();
    if (confState) bootstrap(storage, confState);
    const nodeConfig: RaftConfig = {
      id,
      storage,
      random:
        this.options.randomOffset === undefined
          ? new SeededRandom(this.seeds.nextUint32())
          : new FixedRandom(this.options.randomOffset),
      electionTicks: this.options.electionTicks ?? 10,
      heartbeatTicks: this.options.heartbeatTicks ?? 1,
      ...this.options.config,
      ...this.options.perNode?.[id],
      ...config,
    };
    const peer: Peer = {
      id,
      storage,
      node: new RaftNode(nodeConfig),
      config: nodeConfig,
      state: [],
      applied: [],
      readStates: [],
      installedSnapshots: [],
      readies: [],
    };
    this.peers.set(id, peer);
    return peer;
  }

  get ids(): NodeId[] {
    return [...this.peers.keys()];
  }

  peer(id: NodeId): Peer {
    const peer = this.peers.get(id);
    if (!peer) throw new Error(`no node ${id}`);
    return peer;
  }

  node(id: NodeId): RaftNode {
    return this.peer(id).node;
  }

  /** Restarts a node from its storage, keeping the application's applied index. */
  restart(id: NodeId): void {
    const peer = this.peer(id);
    this.pending = this.pending.filter((message) => message.to !== id);
    peer.node = new RaftNode({ ...peer.config, applied: peer.node.status().applied });
  }

  // ---------------------------------------------------------------- the embedder loop

  /** Handles one Ready of `id` if it has one: persist, send, apply, advance. */
  handleReady(id: NodeId): Ready | undefined {
    const peer = this.peer(id);
    if (!peer.node.hasReady()) return undefined;
    const ready = peer.node.ready();
    peer.storage.persist({
      ...(ready.hardState ? { hardState: ready.hardState } : {}),
      entries: ready.entries,
      snapshotChunks: ready.snapshotChunks,
      ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
    });
    this.onEvent?.({ kind: "ready", id, ready });
    for (const message of ready.messages) this.send(message);
    if (ready.installSnapshot) {
      const size = peer.storage.snapshotSize();
      peer.state = size === 0 ? [] : (JSON.parse(decoder.decode(peer.storage.readSnapshotChunk(0, size))) as string[]);
      peer.installedSnapshots.push(ready.installSnapshot);
    }
    for (const entry of ready.committedEntries) {
      peer.applied.push(entry);
      if (entry.type === EntryType.Normal && entry.data.length > 0) peer.state.push(decoder.decode(entry.data));
    }
    peer.readStates.push(...ready.readStates);
    peer.readies.push(ready);
    this.onEvent?.({ kind: "applied", id, ready });
    peer.node.advance();
    return ready;
  }

  /** Handles Readies of `id` until it has none. Returns the messages they sent. */
  process(id: NodeId): Message[] {
    const sent: Message[] = [];
    for (let ready = this.handleReady(id); ready; ready = this.handleReady(id)) sent.push(...ready.messages);
    return sent;
  }

  processAll(): Message[] {
    return this.ids.flatMap((id) => this.process(id));
  }

  /** Takes (and forgets) the undelivered messages, optionally only those of one type. */
  take(filter?: (message: Message) => boolean): Message[] {
    const taken = filter ? this.pending.filter(filter) : this.pending;
    this.pending = filter ? this.pending.filter((message) => !filter(message)) : [];
    return taken;
  }

  private send(message: Message): void {
    const dropped = this.isDropped(message);
    this.onEvent?.({ kind: "send", message, dropped });
    if (!dropped) this.pending.push(message);
  }

  private isDropped(message: Message): boolean {
    if (this.cut.has(`${message.from}->${message.to}`)) return true;
    if (!this.peers.has(message.to)) return true;
    return this.dropRules.some((rule) => rule(message));
  }

  /** Steps one message into its recipient and handles its Readies. */
  deliver(message: Message): void {
    const peer = this.peers.get(message.to);
    if (!peer) return;
    peer.node.step(message);
    this.process(message.to);
  }

  /** Delivers everything pending now (not what that provokes). Returns how many were delivered. */
  deliverRound(): number {
    const batch = this.pending;
    this.pending = [];
    let delivered = 0;
    for (const message of batch) {
      if (this.isDropped(message)) continue;
      const peer = this.peers.get(message.to);
      if (!peer) continue;
      peer.node.step(message);
      delivered++;
    }
    return delivered;
  }

  /** Handles every Ready and delivers every message until the cluster is quiet. */
  stabilize(): void {
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round++) {
      this.processAll();
      if (this.pending.length === 0) return;
      this.deliverRound();
    }
    throw new Error(`not stable after ${MAX_STABILIZE_ROUNDS} rounds`);
  }

  // ---------------------------------------------------------------- time

  /** Ticks one node `count` times, handling its Readies after each tick. */
  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.node(id).tick();
      this.process(id);
    }
  }

  /** Ticks every node once per round, `count` rounds, delivering everything after each round. */
  tickAll(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const peer of this.peers.values()) peer.node.tick();
      this.stabilize();
    }
  }

  // ---------------------------------------------------------------- faults

  /** Cuts every link between `id` and the others, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cutLink(id, other);
      this.cutLink(other, id);
    }
  }

  /** Splits the cluster: nodes in different groups cannot talk. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    for (const [i, group] of groups.entries()) {
      for (const [j, other] of groups.entries()) {
        if (i === j) continue;
        for (const a of group) for (const b of other) this.cutLink(a, b);
      }
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
    this.pending = this.pending.filter((message) => !(message.from === from && message.to === to));
  }

  drop(rule: (message: Message) => boolean): void {
    this.dropRules.push(rule);
  }

  heal(): void {
    this.cut.clear();
    this.dropRules.length = 0;
  }

  // ---------------------------------------------------------------- conveniences

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).status().role === "leader");
  }

  /** Campaigns `id` and stabilizes; throws unless it won. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
    const status = this.node(id).status();
    if (status.role !== "leader") throw new Error(`${id} did not win: it is ${status.role} at term ${status.term}`);
  }

  propose(id: NodeId, text: string): { index: number; term: number } {
    const result = this.node(id).propose(bytes(text));
    return result;
  }

  /** Takes a snapshot of `id`'s application state at its applied index and compacts the log. */
  compact(id: NodeId, index: number, retainEntries = 0): void {
    const peer = this.peer(id);
    const status = peer.node.status();
    if (index !== status.applied) throw new Error(`compact ${id} ${index}: the application is at ${status.applied}`);
    peer.storage.createSnapshot(index, status.confState, bytes(JSON.stringify(peer.state)), retainEntries);
  }

  /** The log of `id` as stored: [firstIndex, lastIndex]. */
  storedEntries(id: NodeId): Entry[] {
    const storage = this.peer(id).storage;
    return storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  }
}

/** Like bootstrapStorage, but the first configuration may name learners too. */
export function bootstrap(storage: MemoryStorage, confState: ConfState): void {
  const metadata: SnapshotMetadata = {
    index: 1,
    term: 1,
    confState: { voters: [...confState.voters].sort(), learners: [...confState.learners].sort() },
  };
  storage.persist({
    hardState: { term: 1, vote: NO_NODE, commit: 1 },
    entries: [],
    snapshotChunks: [{ metadata, offset: 0, totalBytes: 0, data: new Uint8Array(0), done: true }],
    installSnapshot: metadata,
  });
}

/** One line per entry: `term/index`, then the data or the membership change. */
export function describeEntry(entry: Entry): string {
  if (entry.type === EntryType.ConfChange) {
    const change = decodeConfChange(entry.data);
    const kind = ["add-voter", "add-learner", "remove"][change.type] ?? `type-${change.type}`;
    return `${entry.term}/${entry.index} ${kind} ${change.nodeId}`;
  }
  if (entry.data.length === 0) return `${entry.term}/${entry.index}`;
  return `${entry.term}/${entry.index} ${JSON.stringify(decoder.decode(entry.data))}`;
}

/** A message on one line, e.g. `1->2 append term=2 prev=1/1 entries=[2/2] commit=1` (term/index throughout). */
export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} term=${message.term}`;
  switch (message.type) {
    case "append":
      return `${head} prev=${message.prevTerm}/${message.prevIndex} entries=[${message.entries.map(describeEntry).join(", ")}] commit=${message.commit}`;
    case "appendResponse":
      return message.reject
        ? `${head} reject index=${message.index} hint=${message.hintTerm}/${message.rejectHint}`
        : `${head} index=${message.index}`;
    case "heartbeat":
      return `${head} commit=${message.commit}${message.readRound > 0 ? ` read-round=${message.readRound}` : ""}`;
    case "heartbeatResponse":
      return `${head}${message.readRound > 0 ? ` read-round=${message.readRound}` : ""}`;
    case "vote":
    case "preVote":
      return `${head} last=${message.lastTerm}/${message.lastIndex}${message.force ? " force" : ""}`;
    case "voteResponse":
    case "preVoteResponse":
      return `${head}${message.reject ? " reject" : ""}`;
    case "snapshot": {
      const { chunk } = message;
      const { metadata } = chunk;
      return `${head} snapshot=${metadata.term}/${metadata.index} bytes=${chunk.offset}+${chunk.data.length}/${chunk.totalBytes}${chunk.done ? " done" : ""}`;
    }
    case "snapshotResponse":
      return `${head} snapshot=${message.snapshotIndex} next=${message.nextOffset}${message.reject ? " reject" : ""}`;
    case "timeoutNow":
      return head;
  }
}

// ---------------------------------------------------------------- single nodes, stepped by hand

export interface SoloOptions {
  readonly id?: NodeId;
  readonly voters?: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Terms of the entries after the bootstrap snapshot (index 1, term 1): index 2, 3, ... */
  readonly logTerms?: readonly number[];
  readonly term?: number;
  readonly vote?: NodeId;
  readonly commit?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly randomOffset?: number;
  readonly config?: Partial<RaftConfig>;
}

/** Storage bootstrapped like a new cluster, then holding `logTerms` entries and the given hard state. */
export function soloStorage(options: SoloOptions): MemoryStorage {
  const storage = new MemoryStorage();
  const voters = options.voters ?? ["1", "2", "3"];
  bootstrap(storage, { voters, learners: options.learners ?? [] });
  const entries: Entry[] = (options.logTerms ?? []).map((term, i) => ({
    term,
    index: i + 2,
    type: EntryType.Normal,
    data: new Uint8Array(0),
  }));
  storage.persist({
    hardState: {
      term: options.term ?? Math.max(1, ...(options.logTerms ?? [])),
      vote: options.vote ?? NO_NODE,
      commit: options.commit ?? 1,
    },
    entries,
    snapshotChunks: [],
  });
  return storage;
}

/** One node on its own: step messages in, read what it sends with `drain()`. */
export class Solo {
  readonly storage: MemoryStorage;
  readonly node: RaftNode;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly readies: Ready[] = [];

  constructor(options: SoloOptions = {}) {
    this.storage = soloStorage(options);
    this.node = new RaftNode({
      id: options.id ?? "1",
      storage: this.storage,
      random: new FixedRandom(options.randomOffset ?? 0),
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      ...options.config,
    });
  }

  /** Handles every Ready (persist, apply, advance) and returns the messages they carried. */
  drain(): Message[] {
    const messages: Message[] = [];
    while (this.node.hasReady()) {
      const ready = this.node.ready();
      this.storage.persist({
        ...(ready.hardState ? { hardState: ready.hardState } : {}),
        entries: ready.entries,
        snapshotChunks: ready.snapshotChunks,
        ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
      });
      messages.push(...ready.messages);
      this.applied.push(...ready.committedEntries);
      this.readStates.push(...ready.readStates);
      this.readies.push(ready);
      this.node.advance();
    }
    return messages;
  }

  step(message: Message): Message[] {
    this.node.step(message);
    return this.drain();
  }

  tick(count = 1): Message[] {
    const messages: Message[] = [];
    for (let i = 0; i < count; i++) {
      this.node.tick();
      messages.push(...this.drain());
    }
    return messages;
  }

  /** Wins an election (no PreVote needed in `config`) by stepping grants from every other voter. */
  becomeLeader(): Message[] {
    this.node.campaign();
    let messages = this.drain();
    for (let round = 0; round < 2 && this.node.status().role !== "leader"; round++) {
      const requests = messages.filter((m) => m.type === "vote" || m.type === "preVote");
      messages = [];
      for (const request of requests) {
        this.node.step({
          type: request.type === "vote" ? "voteResponse" : "preVoteResponse",
          from: request.to,
          to: request.from,
          term: request.term,
          reject: false,
        });
        messages.push(...this.drain());
      }
    }
    if (this.node.status().role !== "leader") throw new Error("Solo.becomeLeader: did not win");
    return messages;
  }

  storedTerms(): number[] {
    const first = this.storage.firstIndex();
    return this.storage.entries(first, this.storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER).map((e) => e.term);
  }
}

// ---------------------------------------------------------------- message builders

type Header = { from: NodeId; to: NodeId; term: number };

export function appendMessage(
  header: Header,
  fields: { prevIndex: number; prevTerm: number; entries?: readonly Entry[]; commit?: number; leaseTick?: number },
): Message {
  return {
    type: "append",
    ...header,
    prevIndex: fields.prevIndex,
    prevTerm: fields.prevTerm,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    leaseTick: fields.leaseTick ?? 0,
  };
}

export function appendResponse(
  header: Header,
  fields: { index: number; reject?: boolean; rejectHint?: number; hintTerm?: number; leaseTick?: number },
): Message {
  return {
    type: "appendResponse",
    ...header,
    index: fields.index,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    hintTerm: fields.hintTerm ?? 0,
    leaseTick: fields.leaseTick ?? 0,
  };
}

export function voteRequest(
  header: Header,
  fields: { lastIndex: number; lastTerm: number; preVote?: boolean; force?: boolean },
): Message {
  return {
    type: fields.preVote ? "preVote" : "vote",
    ...header,
    lastIndex: fields.lastIndex,
    lastTerm: fields.lastTerm,
    force: fields.force ?? false,
  };
}

export function heartbeatMessage(header: Header, fields: { commit?: number; readRound?: number } = {}): Message {
  return { type: "heartbeat", ...header, commit: fields.commit ?? 0, leaseTick: 0, readRound: fields.readRound ?? 0 };
}

export function entry(term: number, index: number, text = ""): Entry {
  return { term, index, type: EntryType.Normal, data: bytes(text) };
}
