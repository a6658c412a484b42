// A simulated network for the Raft simulator: every message goes through the real codec,
// and may be dropped, duplicated, delayed (which reorders it), or cut by a symmetric or
// one-way partition. Time is counted in delivery rounds (several per tick).
import { decodeMessage, encodeMessage } from "../../src/codec.ts";
import type { SeededRandom } from "../../src/prng.ts";
import type { Message, NodeId } from "../../src/types.ts";

/** The named bound on messages in flight; beyond it new messages are dropped, as by a full queue. */
export const NETWORK_QUEUE_LIMIT = 20_000;

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  duplicateRate: number;
  /** Each message waits a uniform 1..maxDelayRounds rounds; more than 1 reorders messages. */
  maxDelayRounds: number;
  /** Probability that a message takes a long detour of up to longDelayRounds (late, stale deliveries). */
  longDelayRate: number;
  longDelayRounds: number;
}

export const CALM_NETWORK: Readonly<NetworkFaults> = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  maxDelayRounds: 1,
  longDelayRate: 0,
  longDelayRounds: 1,
});

interface Envelope {
  readonly deliverAtRound: number;
  /** Send order, so equal delivery rounds keep a deterministic order before shuffling. */
  readonly sequence: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly bytes: Uint8Array;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  cut: number;
  /** Messages delivered, by type. */
  deliveredByType: Partial<Record<Message["type"], number>>;
}

export class SimulatedNetwork {
  private readonly random: SeededRandom;
  faults: NetworkFaults = { ...CALM_NETWORK };
  /** Directed links that are cut: "from>to". */
  private readonly cutLinks = new Set<string>();
  private queue: Envelope[] = [];
  private sequence = 0;
  round = 0;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, cut: 0, deliveredByType: {} };

  constructor(random: SeededRandom) {
    this.random = random;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /** Targeted tests lose chosen messages with this. */
  dropIf: ((message: Message) => boolean) | undefined;

  send(message: Message): void {
    const bytes = encodeMessage(message);
    this.stats.sent++;
    if (this.dropIf?.(message)) {
      this.stats.dropped++;
      return;
    }
    if (this.random.nextFloat() < this.faults.dropRate) {
      this.stats.dropped++;
      return;
    }
    this.enqueue(message.from, message.to, bytes);
    if (this.random.nextFloat() < this.faults.duplicateRate) {
      this.stats.duplicated++;
      this.enqueue(message.from, message.to, bytes);
    }
  }

  private enqueue(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    if (this.queue.length >= NETWORK_QUEUE_LIMIT) {
      this.stats.dropped++;
      return;
    }
    const faults = this.faults;
    let delay = 1 + this.random.nextInt(Math.max(1, faults.maxDelayRounds));
    if (faults.longDelayRate > 0 && this.random.nextFloat() < faults.longDelayRate) {
      delay += this.random.nextInt(Math.max(1, faults.longDelayRounds));
    }
    this.queue.push({ deliverAtRound: this.round + delay, sequence: this.sequence++, from, to, bytes });
  }

  /**
   * Advances one round and returns the messages due, shuffled. A message on a cut link is
   * lost when it would arrive (the partition is checked at delivery, like a real link).
   */
  nextRound(): Message[] {
    this.round++;
    const due: Envelope[] = [];
    const later: Envelope[] = [];
    for (const envelope of this.queue) {
      if (envelope.deliverAtRound <= this.round) due.push(envelope);
      else later.push(envelope);
    }
    this.queue = later;
    shuffle(due, this.random);
    const messages: Message[] = [];
    for (const envelope of due) {
      if (this.cutLinks.has(linkKey(envelope.from, envelope.to))) {
        this.stats.cut++;
        continue;
      }
      this.stats.delivered++;
      const message = decodeMessage(envelope.bytes);
      this.stats.deliveredByType[message.type] = (this.stats.deliveredByType[message.type] ?? 0) + 1;
      messages.push(message);
    }
    return messages;
  }

  /** Cuts from -> to only (a one-way partition). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  /** Cuts both directions between every member of `side` and every member of `other`. */
  partition(side: readonly NodeId[], other: readonly NodeId[]): void {
    for (const a of side) {
      for (const b of other) {
        if (a === b) continue;
        this.cutLinks.add(linkKey(a, b));
        this.cutLinks.add(linkKey(b, a));
      }
    }
  }

  /** Cuts `node` off from everyone in `everyone`, both ways. */
  isolate(node: NodeId, everyone: readonly NodeId[]): void {
    this.partition([node], everyone);
  }

  healPartitions(): void {
    this.cutLinks.clear();
  }

  describeCuts(): string {
    return [...this.cutLinks].sort().join(" ");
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

function shuffle<T>(items: T[], random: SeededRandom): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
}
