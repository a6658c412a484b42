// A FacadeEventSource over in-memory member buffers, for the facade's event tests: each member
// numbers its events per epoch, keeps a bounded ring and answers pulls as the agent's
// `conclave.events.pull` does (events after a cursor, a `dropped` count for a gap, `restarted`
// for another epoch, a long poll when there is nothing new).
import type { EventCursor, EventsPullAnswer, FacadeEventSource, PulledEvent } from "../../src/index.ts";

class FakeMember {
  epoch: string;
  ring: PulledEvent[] = [];
  lastSeq = 0;
  readonly capacity: number;
  readonly waiters = new Set<() => void>();

  constructor(epoch: string, capacity: number) {
    this.epoch = epoch;
    this.capacity = capacity;
  }

  push(record: Record<string, unknown>): number {
    this.lastSeq += 1;
    this.ring.push({ seq: this.lastSeq, record });
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const wake of [...this.waiters]) wake();
    return this.lastSeq;
  }

  read(after: EventCursor | null, max: number): EventsPullAnswer {
    const restarted = after !== null && after.epoch !== this.epoch;
    const afterSeq = after === null || restarted ? 0 : after.seq;
    const events = this.ring.filter((e) => e.seq > afterSeq).slice(0, max);
    const first = this.ring[0];
    const dropped = first === undefined ? 0 : Math.max(0, first.seq - afterSeq - 1);
    return {
      epoch: this.epoch,
      events,
      ...(dropped > 0 ? { dropped } : {}),
      ...(restarted ? { restarted: true } : {}),
    };
  }
}

export class FakeMemberEvents implements FacadeEventSource {
  private readonly members = new Map<string, FakeMember>();
  private epochs = 0;
  /** Pulls answered, per member id. */
  readonly pulls = new Map<string, number>();
  private readonly capacity: number;

  constructor(capacity = 1_000) {
    this.capacity = capacity;
  }

  private member(id: string): FakeMember {
    let member = this.members.get(id);
    if (member === undefined) {
      member = new FakeMember(this.nextEpoch(), this.capacity);
      this.members.set(id, member);
    }
    return member;
  }

  private nextEpoch(): string {
    this.epochs += 1;
    return `a${this.epochs.toString(16)}`;
  }

  /** One event on member `id`'s BMC; returns its seq. */
  push(id: string, record: Record<string, unknown>): number {
    return this.member(id).push(record);
  }

  /** The member's agent restarts: a new epoch, numbering from 1, an empty ring. */
  restart(id: string): void {
    const member = this.member(id);
    member.epoch = this.nextEpoch();
    member.ring = [];
    member.lastSeq = 0;
  }

  async pull(
    memberId: string,
    after: EventCursor | null,
    max: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<EventsPullAnswer> {
    const member = this.member(memberId);
    this.pulls.set(memberId, (this.pulls.get(memberId) ?? 0) + 1);
    const quick = member.read(after, max);
    if (quick.events.length > 0 || quick.dropped !== undefined || quick.restarted === true || waitMs <= 0) {
      return quick;
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        member.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener("abort", done, { once: true });
      member.waiters.add(done);
    });
    return member.read(after, max);
  }
}
