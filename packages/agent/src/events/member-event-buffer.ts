// The member's own events, numbered and kept for the PoC to pull. Every EventRecord the local BMC
// sends gets the next `seq` (1, 2, ...) within this agent's `epoch` (random per start, so a PoC
// can tell a restarted member). The ring keeps the newest EVENT_BUFFER_MAX records whether or not
// they were read: a new PoC after a failover, or a console's cursor older than the last
// acknowledgement, is served from it. A reader whose cursor is older than the ring gets an
// explicit `dropped` count, in order, before the events that follow the gap.
import { randomBytes } from "node:crypto";
import type { EventCursor, EventsPullAnswer, PulledEvent } from "@conclave/redfish-facade";

/** Records kept per member: at ~0.5 KiB a record, about 1 MiB. */
export const EVENT_BUFFER_MAX = 2_048;
/** A record bigger than this (JSON) is kept shrunk to its identifying properties. */
export const EVENT_RECORD_MAX_BYTES = 16 * 1024;
/** A shrunk record's Message is cut to this many characters. */
export const SHRUNK_MESSAGE_MAX_CHARACTERS = 1_024;
/** Pulls waiting at once for the next event (the PoC holds one; a failover may briefly add one). */
export const EVENT_WAITERS_MAX = 16;

/** Properties a shrunk record keeps: enough to filter on and to know what happened. */
const SHRUNK_PROPERTIES = [
  "EventId",
  "EventType",
  "EventTimestamp",
  "MessageId",
  "MessageArgs",
  "MessageSeverity",
  "Severity",
  "OriginOfCondition",
  "MemberId",
] as const;

export interface MemberEventBufferInit {
  /** Defaults to 8 random hex digits. */
  readonly epoch?: string;
  readonly capacity?: number;
}

export interface MemberEventCounts {
  /** Records numbered since start. */
  readonly received: number;
  /** Records sent in pull answers (a record pulled twice counts twice). */
  readonly delivered: number;
  /** Records that left the ring before any pull had acknowledged them. */
  readonly dropped: number;
  /** Records kept shrunk because they were too big. */
  readonly shrunk: number;
}

/** A cursor from a future this buffer never reached (a bug, or a forged request). */
export class EventCursorError extends Error {
  readonly code = "AGENT_ERR_EVENTS_CURSOR";
}

export class MemberEventBuffer {
  readonly epoch: string;
  readonly capacity: number;
  private readonly ring: PulledEvent[] = [];
  private lastSeq = 0;
  /** The highest seq a pull acknowledged (its `after`): what may leave the ring without loss. */
  private acknowledgedSeq = 0;
  private readonly waiters = new Set<() => void>();
  private counts = { received: 0, delivered: 0, dropped: 0, shrunk: 0 };

  constructor(init: MemberEventBufferInit = {}) {
    this.epoch = init.epoch ?? randomBytes(4).toString("hex");
    this.capacity = init.capacity ?? EVENT_BUFFER_MAX;
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`an event buffer holds at least 1 record, not ${this.capacity}`);
    }
  }

  /** The newest event's cursor. */
  head(): EventCursor {
    return { epoch: this.epoch, seq: this.lastSeq };
  }

  countsSoFar(): MemberEventCounts {
    return { ...this.counts };
  }

  /** Numbers one EventRecord and keeps it; the oldest record leaves when the ring is full. */
  push(record: Readonly<Record<string, unknown>>): PulledEvent {
    this.lastSeq += 1;
    this.counts.received += 1;
    let kept = record;
    if (Buffer.byteLength(JSON.stringify(record)) > EVENT_RECORD_MAX_BYTES) {
      kept = shrink(record);
      this.counts.shrunk += 1;
    }
    const event: PulledEvent = { seq: this.lastSeq, record: kept };
    this.ring.push(event);
    if (this.ring.length > this.capacity) {
      const gone = this.ring.shift() as PulledEvent;
      if (gone.seq > this.acknowledgedSeq) this.counts.dropped += 1;
    }
    for (const wake of [...this.waiters]) wake();
    return event;
  }

  /**
   * The events after `after` (null: all the ring holds), at most `max` of them and at most
   * `maxBytes` of JSON (always at least one event when there is one). A cursor of this epoch is
   * also the reader's acknowledgement.
   */
  read(after: EventCursor | null, max: number, maxBytes: number): EventsPullAnswer {
    const restarted = after !== null && after.epoch !== this.epoch;
    const afterSeq = after === null || restarted ? 0 : after.seq;
    if (afterSeq > this.lastSeq) {
      throw new EventCursorError(`cursor ${after?.epoch}:${afterSeq} is past this member's last event ${this.lastSeq}`);
    }
    if (!restarted && after !== null) this.acknowledgedSeq = Math.max(this.acknowledgedSeq, afterSeq);
    const first = this.ring[0];
    const events: PulledEvent[] = [];
    let bytes = 0;
    if (first !== undefined) {
      // Seqs in the ring are consecutive: the index of seq s is s - first.seq.
      const startIndex = Math.max(0, afterSeq + 1 - first.seq);
      for (let i = startIndex; i < this.ring.length && events.length < max; i++) {
        const event = this.ring[i] as PulledEvent;
        const size = Buffer.byteLength(JSON.stringify(event));
        if (events.length > 0 && bytes + size > maxBytes) break;
        events.push(event);
        bytes += size;
      }
    }
    this.counts.delivered += events.length;
    // Seqs between the reader's cursor and the oldest record kept are gone.
    const dropped = first === undefined ? 0 : Math.max(0, first.seq - (afterSeq + 1));
    return {
      epoch: this.epoch,
      events,
      ...(dropped > 0 ? { dropped } : {}),
      ...(restarted ? { restarted: true } : {}),
    };
  }

  /** Whether an event after `after` is held (or a restart or drop to report). */
  hasNews(after: EventCursor | null): boolean {
    if (after === null) return this.lastSeq > 0;
    if (after.epoch !== this.epoch) return true;
    return this.lastSeq > after.seq;
  }

  /**
   * Resolves when the next event arrives, after `waitMs`, or when `signal` aborts — whichever
   * comes first. Resolves at once when EVENT_WAITERS_MAX pulls already wait.
   */
  waitForNext(waitMs: number, signal: AbortSignal): Promise<void> {
    if (waitMs <= 0 || signal.aborted || this.waiters.size >= EVENT_WAITERS_MAX) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }
}

function shrink(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of SHRUNK_PROPERTIES) if (record[name] !== undefined) kept[name] = record[name];
  if (typeof record.Message === "string") kept.Message = record.Message.slice(0, SHRUNK_MESSAGE_MAX_CHARACTERS);
  // Still too big (huge MessageArgs): the identifying properties only.
  if (Buffer.byteLength(JSON.stringify(kept)) > EVENT_RECORD_MAX_BYTES) {
    delete kept.MessageArgs;
    delete kept.OriginOfCondition;
  }
  return kept;
}
