// How the PoC's facade reads members' events: `FacadeEventSource.pull` asks one member for the
// events after a cursor (long-polling when there are none yet). Each member numbers its events
// itself — `seq` 1, 2, ... within an `epoch` drawn at random when its agent starts — so a new PoC
// resumes every member's stream from any cursor, and a restarted member shows as a new epoch.
// The agent serves this over `/conclave/rpc/1` (`conclave.events.pull`); tests use a fake.

/** A position in one member's event stream: the last event seen, in the member's current run. */
export interface EventCursor {
  /** Random per agent start (hex): another epoch means the member restarted since. */
  readonly epoch: string;
  /** The last event seen; 0 before the first. */
  readonly seq: number;
}

/** One Redfish EventRecord (an element of `Event.Events`) as the member's BMC sent it, numbered. */
export interface PulledEvent {
  readonly seq: number;
  readonly record: Readonly<Record<string, unknown>>;
}

export interface EventsPullAnswer {
  /** The member's current epoch: every event in `events` belongs to it. */
  readonly epoch: string;
  /** Events after the cursor, oldest first, seq increasing by one except after a drop. */
  readonly events: readonly PulledEvent[];
  /**
   * Events after the cursor that the member no longer holds (its buffer overflowed before they
   * were read): they came before `events[0]`. Absent when none were lost.
   */
  readonly dropped?: number;
  /** The cursor named another epoch: the member restarted, and what it had not sent then is gone. */
  readonly restarted?: boolean;
}

export interface EventsPullRequest {
  /** The last event the caller holds (the acknowledgement), or null for everything buffered. */
  readonly after: EventCursor | null;
  /** At most this many events (capped by the member). */
  readonly max: number;
  /** How long the member may wait for an event when it has none after the cursor (capped). */
  readonly waitMs: number;
}

export interface FacadeEventSource {
  /** Rejects when the member cannot be asked (unreachable, not a member, bad answer). */
  pull(
    memberId: string,
    after: EventCursor | null,
    max: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<EventsPullAnswer>;
}

/** Epochs are short hex strings: what a member draws, and all a cursor may carry. */
export const EPOCH_PATTERN = /^[0-9a-f]{1,32}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A cursor from the wire, or a sentence saying what is wrong with it. */
export function parseEventCursor(value: unknown): EventCursor | string {
  if (!isObject(value)) return "a cursor must be an object {epoch, seq}";
  if (typeof value.epoch !== "string" || !EPOCH_PATTERN.test(value.epoch)) return "a cursor's epoch must be hex";
  if (!isSeq(value.seq)) return "a cursor's seq must be a non-negative integer";
  return { epoch: value.epoch, seq: value.seq };
}

/** Checks a member's answer (it crossed the network): throws a TypeError naming what is wrong. */
export function parseEventsPullAnswer(value: unknown): EventsPullAnswer {
  if (!isObject(value)) throw new TypeError("an events answer must be an object");
  const { epoch, events, dropped, restarted } = value;
  if (typeof epoch !== "string" || !EPOCH_PATTERN.test(epoch)) throw new TypeError("an events answer has no epoch");
  if (!Array.isArray(events)) throw new TypeError("an events answer has no events list");
  let previous = -1;
  const checked: PulledEvent[] = [];
  for (const event of events) {
    if (!isObject(event) || !isSeq(event.seq) || !isObject(event.record)) {
      throw new TypeError("an event must be {seq, record}");
    }
    if (event.seq <= previous) throw new TypeError("events must come in increasing seq");
    previous = event.seq;
    checked.push({ seq: event.seq, record: event.record });
  }
  if (dropped !== undefined && !isSeq(dropped)) throw new TypeError("dropped must be a count");
  return {
    epoch,
    events: checked,
    ...(typeof dropped === "number" && dropped > 0 ? { dropped } : {}),
    ...(restarted === true ? { restarted: true } : {}),
  };
}
