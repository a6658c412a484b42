// `conclave.events.pull`: the PoC's facade asks a member for its events after a cursor. Body
// `{after: {epoch, seq} | null, max, waitMs}`; answer `{epoch, events, dropped?, restarted?}`
// (@conclave/redfish-facade's EventsPullAnswer). With nothing after the cursor the member waits up
// to `waitMs` (capped) for the next event: a long poll. The cursor is the acknowledgement. Served
// to Raft members only; an answer always fits one RPC frame.
import {
  type EventCursor,
  type EventsPullAnswer,
  type EventsPullRequest,
  parseEventCursor,
} from "@conclave/redfish-facade";
import { PeerNotAllowedError } from "../errors.ts";
import { RPC_MAX_FRAME_BYTES, RPC_SERVER_TIMEOUT_MS, type RpcContext, type RpcHandler } from "../p2p/rpc.ts";
import type { MemberEventBuffer } from "./member-event-buffer.ts";

export const EVENTS_PULL_METHOD = "conclave.events.pull";
/** Events in one answer at most. */
export const EVENTS_PULL_MAX = 512;
/** The longest a pull waits for an event: well inside the RPC server's own deadline. */
export const EVENTS_PULL_WAIT_MAX_MS = Math.min(20_000, RPC_SERVER_TIMEOUT_MS - 5_000);
/** Room left in a frame for the envelope around the events. */
const FRAME_ENVELOPE_BYTES = 4 * 1024;
/** JSON bytes of events in one answer: one RPC frame with room for the envelope. */
export const EVENTS_PULL_ANSWER_MAX_BYTES = RPC_MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES;

/** A pull body that is not one: its code travels back over the RPC. */
export class EventsPullRequestError extends Error {
  readonly code = "AGENT_ERR_EVENTS_PULL_REQUEST";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks a pull body; throws EventsPullRequestError naming the bad value. `max` and `waitMs` are capped. */
export function parseEventsPullRequest(body: unknown): EventsPullRequest {
  if (!isObject(body)) throw new EventsPullRequestError("an events pull must be an object {after, max, waitMs}");
  let after: EventCursor | null = null;
  if (body.after !== null && body.after !== undefined) {
    const cursor = parseEventCursor(body.after);
    if (typeof cursor === "string") throw new EventsPullRequestError(cursor);
    after = cursor;
  }
  const { max, waitMs } = body;
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
    throw new EventsPullRequestError(`max ${JSON.stringify(max)} is not a positive integer`);
  }
  if (typeof waitMs !== "number" || !Number.isFinite(waitMs) || waitMs < 0) {
    throw new EventsPullRequestError(`waitMs ${JSON.stringify(waitMs)} is not a number of milliseconds`);
  }
  return { after, max: Math.min(max, EVENTS_PULL_MAX), waitMs: Math.min(Math.floor(waitMs), EVENTS_PULL_WAIT_MAX_MS) };
}

/** One pull against the buffer: at once when there is news, else after the next event or `waitMs`. */
export async function pullEvents(
  buffer: MemberEventBuffer,
  request: EventsPullRequest,
  signal: AbortSignal,
): Promise<EventsPullAnswer> {
  if (!buffer.hasNews(request.after)) await buffer.waitForNext(request.waitMs, signal);
  return buffer.read(request.after, request.max, EVENTS_PULL_ANSWER_MAX_BYTES);
}

export interface EventsPullHandlerInit {
  readonly buffer: MemberEventBuffer;
  /** Raft members (voters and learners): the only callers served. */
  readonly isMember: (peerId: string) => boolean;
}

export function eventsPullHandler(init: EventsPullHandlerInit): RpcHandler {
  return (body: unknown, context: RpcContext) => {
    if (!init.isMember(context.peerId)) throw new PeerNotAllowedError(context.peerId, EVENTS_PULL_METHOD);
    return pullEvents(init.buffer, parseEventsPullRequest(body), context.signal);
  };
}
