// The PoC's one stream of every member's events. While this node is PoC (`cluster.hasQuorum()`),
// one bounded pull loop per member (started loopStartsPerReconcileMax per look, so a new PoC does
// not open a stream to every member at once) reads the member's numbered events (FacadeEventSource), rewrites
// every URI in them with the member's prefix (OriginOfCondition included), and appends them to a
// bounded in-memory log, together with the cluster's own events (CLUSTER_STREAM_KEY) as the
// facade sees members() change. A new PoC starts each member from the oldest event the member
// still holds, so a console's older cursor can be served: SSE clients read the log by position
// and skip what their cursor says they have (stream-cursor.ts).
import { randomBytes } from "node:crypto";
import type { FacadeCluster, FacadeMember } from "../facade-cluster.ts";
import { memberUriToFacade, rewriteJson } from "../member-uri.ts";
import { ClusterEventWatcher } from "./cluster-events.ts";
import type { EventCursor, FacadeEventSource } from "./facade-event-source.ts";
import { CLUSTER_STREAM_KEY, type StreamCursor } from "./stream-cursor.ts";

export interface FanInLimits {
  /** Events the merged log keeps (members' and the cluster's). */
  readonly logEventsMax: number;
  /** Events asked for in one pull. */
  readonly pullEventsMax: number;
  /** How long a member may hold a pull open when it has nothing new. */
  readonly pullWaitMs: number;
  /** Wait after a failed pull, doubling up to the max. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** How often members() is looked at (loops started and stopped, cluster events). */
  readonly reconcileMs: number;
  /**
   * Member loops started per look. Each opens a stream to its member; a new PoC of 32 BMCs opened
   * all of them in its first second, when the console waits for its first answers. The others
   * start at the next looks (their events wait in the members' buffers: none is lost).
   */
  readonly loopStartsPerReconcileMax: number;
}

export const DEFAULT_FAN_IN_LIMITS: FanInLimits = Object.freeze({
  logEventsMax: 16_384,
  pullEventsMax: 256,
  pullWaitMs: 10_000,
  retryMinMs: 250,
  retryMaxMs: 5_000,
  reconcileMs: 500,
  loopStartsPerReconcileMax: 8,
});
/** Epochs of one stream remembered (to tell an older run's events from a newer one's). */
export const STREAM_EPOCHS_MAX = 16;

export interface MergedEvent {
  /** Increasing over the log's life: an SSE client's place in it. */
  readonly position: number;
  /** The member's name, or CLUSTER_STREAM_KEY. */
  readonly key: string;
  readonly cursor: EventCursor;
  /** The EventRecord, every URI as the facade serves it. */
  readonly record: Readonly<Record<string, unknown>>;
}

export interface FanInCounts {
  /** Member events appended to the log. */
  readonly received: number;
  /** Events members reported lost before this PoC read them. */
  readonly droppedAtMembers: number;
  readonly clusterEvents: number;
  readonly pullFailures: number;
}

export interface EventFanInInit {
  readonly cluster: Pick<FacadeCluster, "hasQuorum" | "members">;
  /** Members' events; undefined: the cluster's own events only. */
  readonly source: FacadeEventSource | undefined;
  /** The root segments whose members get a member's prefix (its discovered root map). */
  readonly prefixCollections: (member: FacadeMember) => Promise<ReadonlySet<string>>;
  readonly limits?: Partial<FanInLimits>;
  readonly now?: () => Date;
}

interface MemberLoop {
  readonly name: string;
  readonly stop: AbortController;
}

export class EventFanIn {
  readonly epoch = randomBytes(4).toString("hex");
  readonly limits: FanInLimits;
  private readonly init: EventFanInInit;
  private readonly ring: (MergedEvent | undefined)[];
  private nextPosition = 1;
  private readonly heads: StreamCursor = new Map();
  private readonly epochOrder = new Map<string, string[]>();
  private readonly listeners = new Set<() => void>();
  private readonly loops = new Map<string, MemberLoop>();
  private readonly watcher = new ClusterEventWatcher();
  private clusterSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private counts = { received: 0, droppedAtMembers: 0, clusterEvents: 0, pullFailures: 0 };

  constructor(init: EventFanInInit) {
    this.init = init;
    this.limits = { ...DEFAULT_FAN_IN_LIMITS, ...init.limits };
    this.ring = new Array<MergedEvent | undefined>(this.limits.logEventsMax);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.reconcile();
    this.timer = setInterval(() => this.reconcile(), this.limits.reconcileMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const loop of this.loops.values()) loop.stop.abort();
    this.loops.clear();
  }

  countsSoFar(): FanInCounts {
    return { ...this.counts };
  }

  /** Called after each append (SSE clients pump from the log). Returns the unsubscribe. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The oldest position still held, and the next one to be written. */
  firstPosition(): number {
    return Math.max(1, this.nextPosition - this.limits.logEventsMax);
  }

  endPosition(): number {
    return this.nextPosition;
  }

  at(position: number): MergedEvent | undefined {
    if (position < this.firstPosition() || position >= this.nextPosition) return undefined;
    return this.ring[position % this.limits.logEventsMax];
  }

  /** The newest event of every stream: a new client's starting cursor. */
  headCursor(): StreamCursor {
    return new Map(this.heads);
  }

  /** Whether epoch `a` of stream `key` came before epoch `b`; false when `b` is not known here. */
  readonly isOlderEpoch = (key: string, a: string, b: string): boolean => {
    const order = this.epochOrder.get(key) ?? [];
    const ib = order.indexOf(b);
    const ia = order.indexOf(a);
    return ib !== -1 && ia !== -1 && ia < ib;
  };

  private append(key: string, cursor: EventCursor, record: Readonly<Record<string, unknown>>): void {
    const position = this.nextPosition++;
    this.ring[position % this.limits.logEventsMax] = { position, key, cursor, record };
    this.heads.set(key, cursor);
    const order = this.epochOrder.get(key) ?? [];
    if (order.at(-1) !== cursor.epoch) {
      order.push(cursor.epoch);
      if (order.length > STREAM_EPOCHS_MAX) order.shift();
      this.epochOrder.set(key, order);
    }
  }

  /** An event of the cluster itself (a change seen in members(), SubmitTestEvent): the cluster's stream. */
  publishClusterRecord(record: Readonly<Record<string, unknown>>): void {
    this.clusterSeq += 1;
    this.counts.clusterEvents += 1;
    this.append(CLUSTER_STREAM_KEY, { epoch: this.epoch, seq: this.clusterSeq }, record);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private reconcile(): void {
    if (!this.init.cluster.hasQuorum()) {
      for (const loop of this.loops.values()) loop.stop.abort();
      this.loops.clear();
      return;
    }
    const members = this.init.cluster.members();
    const timestamp = (this.init.now ?? (() => new Date()))().toISOString();
    for (const record of this.watcher.observe(members, timestamp)) this.publishClusterRecord(record);
    const wanted = new Map(
      this.init.source === undefined ? [] : members.filter((m) => m.hasBmc).map((m) => [m.id, m] as const),
    );
    for (const [id, loop] of this.loops) {
      const member = wanted.get(id);
      if (member === undefined || member.name !== loop.name) {
        loop.stop.abort();
        this.loops.delete(id);
      }
    }
    let starts = 0;
    for (const [id, member] of wanted) {
      if (this.loops.has(id)) continue;
      if (starts++ >= this.limits.loopStartsPerReconcileMax) break;
      const loop: MemberLoop = { name: member.name, stop: new AbortController() };
      this.loops.set(id, loop);
      void this.pullLoop(member, loop.stop.signal);
    }
  }

  /** One member's pulls, one at a time, until stopped. Never rejects. */
  private async pullLoop(member: FacadeMember, signal: AbortSignal): Promise<void> {
    const source = this.init.source;
    if (source === undefined) return;
    // The member's own last event as this PoC holds it; null: everything the member still has.
    const head = this.heads.get(member.name);
    let cursor: EventCursor | null = head ?? null;
    let retryMs = this.limits.retryMinMs;
    while (!signal.aborted) {
      try {
        const answer = await source.pull(member.id, cursor, this.limits.pullEventsMax, this.limits.pullWaitMs, signal);
        if (signal.aborted) break;
        const collections = await this.init.prefixCollections(member);
        if (signal.aborted) break;
        const map = (uri: string): string => memberUriToFacade(uri, member.name, collections);
        if (answer.dropped !== undefined) this.counts.droppedAtMembers += answer.dropped;
        for (const event of answer.events) {
          const record = rewriteJson(event.record, map) as Record<string, unknown>;
          this.append(member.name, { epoch: answer.epoch, seq: event.seq }, record);
          this.counts.received += 1;
        }
        const last = answer.events.at(-1);
        if (last !== undefined) cursor = { epoch: answer.epoch, seq: last.seq };
        else if (cursor === null || cursor.epoch !== answer.epoch) cursor = { epoch: answer.epoch, seq: 0 };
        if (answer.events.length > 0) this.notify();
        retryMs = this.limits.retryMinMs;
      } catch {
        if (signal.aborted) break;
        this.counts.pullFailures += 1;
        await sleep(retryMs, signal);
        retryMs = Math.min(retryMs * 2, this.limits.retryMaxMs);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
