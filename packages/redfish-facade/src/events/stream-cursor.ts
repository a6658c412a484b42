// The SSE event id: a vector cursor, one {epoch, seq} per stream (each member's, and the cluster's
// own under CLUSTER_STREAM_KEY), as base64url JSON `{"bmc1": ["3f2a9c1d", 42], ...}`. A console
// that reconnects with it as Last-Event-ID — to this PoC or to the next one — is sent exactly the
// events after it: what it saw is skipped, what was lost is counted in an explicit event.
import { EPOCH_PATTERN, type EventCursor } from "./facade-event-source.ts";

/** The cluster's own events (member names never contain `_`, so no member is called this). */
export const CLUSTER_STREAM_KEY = "_cluster";
/** Streams a cursor may name: members, plus room for members that left. */
export const STREAM_CURSOR_KEYS_MAX = 1_024;
/** The longest Last-Event-ID read (well over 1,024 streams' worth). */
export const STREAM_CURSOR_MAX_CHARACTERS = 96 * 1024;

const KEY_PATTERN = /^(_cluster|[A-Za-z0-9][A-Za-z0-9-]{0,62})$/;

export type StreamCursor = Map<string, EventCursor>;

export function encodeStreamCursor(cursor: StreamCursor): string {
  const plain: Record<string, [string, number]> = {};
  for (const [key, at] of cursor) plain[key] = [at.epoch, at.seq];
  return Buffer.from(JSON.stringify(plain)).toString("base64url");
}

/** A key JSON.stringify would put before the others: an array index ("0", "42"). */
const ARRAY_INDEX_KEY = /^(0|[1-9][0-9]*)$/;

function cursorPart(key: string, at: EventCursor): string {
  return `${JSON.stringify(key)}:${JSON.stringify([at.epoch, at.seq])}`;
}

/**
 * encodeStreamCursor for one client's cursor, which moves one stream at a time: each stream's JSON
 * is kept, so the id after an event costs one stream's text, not the whole cursor's (an SSE
 * client writes one id per event). `encode()` is the same text as encodeStreamCursor(cursor) as
 * long as `moved(key)` follows every change of the cursor at `key`.
 */
export class StreamCursorEncoder {
  private readonly cursor: StreamCursor;
  private readonly parts = new Map<string, string>();
  /** JSON.stringify orders such keys first: then the whole cursor is encoded (never for member names in practice). */
  private hasArrayIndexKey = false;

  constructor(cursor: StreamCursor) {
    this.cursor = cursor;
    for (const key of cursor.keys()) this.moved(key);
  }

  /** After the cursor changed at `key` (or was given `key`). */
  moved(key: string): void {
    const at = this.cursor.get(key);
    if (at === undefined) return;
    this.parts.set(key, cursorPart(key, at));
    if (ARRAY_INDEX_KEY.test(key)) this.hasArrayIndexKey = true;
  }

  encode(): string {
    if (this.hasArrayIndexKey) return encodeStreamCursor(this.cursor);
    return Buffer.from(`{${[...this.parts.values()].join(",")}}`).toString("base64url");
  }
}

/** A Last-Event-ID as a cursor, or undefined when it is not one this service wrote. */
export function decodeStreamCursor(text: string): StreamCursor | undefined {
  if (text.length === 0 || text.length > STREAM_CURSOR_MAX_CHARACTERS || !/^[A-Za-z0-9_-]+$/.test(text)) {
    return undefined;
  }
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof plain !== "object" || plain === null || Array.isArray(plain)) return undefined;
  const entries = Object.entries(plain);
  if (entries.length > STREAM_CURSOR_KEYS_MAX) return undefined;
  const cursor: StreamCursor = new Map();
  for (const [key, value] of entries) {
    if (!KEY_PATTERN.test(key) || !Array.isArray(value) || value.length !== 2) return undefined;
    const [epoch, seq] = value as unknown[];
    if (typeof epoch !== "string" || !EPOCH_PATTERN.test(epoch)) return undefined;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
    cursor.set(key, { epoch, seq });
  }
  return cursor;
}

/** What a client makes of the next event of a stream, given where its cursor is. */
export type CursorStep =
  | { readonly kind: "seen" }
  | { readonly kind: "new"; readonly dropped: number; readonly restarted: boolean };

/**
 * Moves `cursor` past `event` of stream `key` and says whether the client has it already.
 * `isOlderEpoch(key, a, b)`: whether epoch a of the stream came before epoch b (both known).
 */
export function stepCursor(
  cursor: StreamCursor,
  key: string,
  event: EventCursor,
  isOlderEpoch: (key: string, a: string, b: string) => boolean,
): CursorStep {
  const at = cursor.get(key);
  if (at === undefined) {
    // A stream this client never saw (a member that joined since): all of it is new, no gap known.
    if (cursor.size < STREAM_CURSOR_KEYS_MAX) cursor.set(key, event);
    return { kind: "new", dropped: 0, restarted: false };
  }
  if (at.epoch === event.epoch) {
    if (event.seq <= at.seq) return { kind: "seen" };
    cursor.set(key, event);
    return { kind: "new", dropped: event.seq - at.seq - 1, restarted: false };
  }
  if (isOlderEpoch(key, event.epoch, at.epoch)) return { kind: "seen" };
  // A later run of the stream: the rest of the client's run is gone, and this run's start if it left.
  cursor.set(key, event);
  return { kind: "new", dropped: event.seq - 1, restarted: key !== CLUSTER_STREAM_KEY };
}
