// `GET /redfish/v1/EventService/SSE`: the merged event stream as text/event-stream. Each message
// is an Event resource whose `id` is the client's vector cursor after it (stream-cursor.ts); a
// console reconnecting with it as Last-Event-ID — here or on the next PoC — gets exactly what
// came after, with an explicit Conclave EventsDropped (or EventsRestarted) record where a gap
// could not be filled. A client reads the log at its own pace (writes wait for the socket to
// drain, so it never holds more than SSE_CLIENT_BUFFER_MAX_BYTES); a client so slow that the log
// moved past its place is cut, and learns what it lost when it reconnects.
import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AGGREGATION_SOURCES_URI } from "../aggregation-service.ts";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import { conclaveRecord } from "./conclave-registry.ts";
import type { EventFanIn, MergedEvent } from "./event-fan-in.ts";
import { type EventFilter, EventFilterError, parseEventFilter } from "./event-filter.ts";
import {
  CLUSTER_STREAM_KEY,
  decodeStreamCursor,
  encodeStreamCursor,
  type StreamCursor,
  StreamCursorEncoder,
  stepCursor,
} from "./stream-cursor.ts";

export const SSE_URI = "/redfish/v1/EventService/SSE";
/** Streams open at once. */
export const SSE_CLIENTS_MAX = 64;
/** Bytes a client may have waiting in its socket before writing pauses (or, for keep-alives, it is cut). */
export const SSE_CLIENT_BUFFER_MAX_BYTES = 1024 * 1024;
/** A comment this often keeps proxies and consoles from timing the stream out. */
export const SSE_KEEP_ALIVE_MS = 15_000;
/** How much of a bad filter or header an error repeats. */
const SHOWN_CHARACTERS = 128;
/** Event.v1_9 is the first with EventRecord.Resolution (Conclave records carry it). */
export const EVENT_TYPE = "#Event.v1_9_0.Event";

export interface EventStreamCounts {
  readonly clients: number;
  /** Event messages written to clients. */
  readonly delivered: number;
  /** Clients cut for being too slow. */
  readonly slowClientsCut: number;
  /** Dropped-events records sent (each counts the events it stands for). */
  readonly droppedReported: number;
}

function shown(text: string): string {
  return text.length > SHOWN_CHARACTERS ? `${text.slice(0, SHOWN_CHARACTERS)}...` : text;
}

export class EventStream {
  private readonly fanIn: EventFanIn;
  private readonly clients = new Set<StreamClient>();
  private delivered = 0;
  private slowClientsCut = 0;
  private droppedReported = 0;
  private readonly keepAlive: NodeJS.Timeout;
  /** The data of an event sent alone (no dropped/restarted record before it): the same for every client, so serialized once. */
  private readonly plainData = new WeakMap<MergedEvent, string>();

  constructor(fanIn: EventFanIn) {
    this.fanIn = fanIn;
    this.keepAlive = setInterval(() => {
      for (const client of this.clients) client.keepAlive();
    }, SSE_KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  countsSoFar(): EventStreamCounts {
    return {
      clients: this.clients.size,
      delivered: this.delivered,
      slowClientsCut: this.slowClientsCut,
      droppedReported: this.droppedReported,
    };
  }

  register(app: FastifyInstance): void {
    app.get(SSE_URI, (request, reply) => this.open(request, reply));
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const client of [...this.clients]) client.end();
  }

  private open(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    let filter: EventFilter = () => true;
    const query = request.query as Record<string, unknown>;
    for (const [name, value] of Object.entries(query)) {
      if (name !== "$filter")
        return sendRedfishError(reply, 400, baseMessage("QueryParameterUnsupported", [shown(name)]));
      const text = Array.isArray(value) ? undefined : String(value);
      if (text === undefined) {
        return sendRedfishError(reply, 400, baseMessage("QueryParameterValueFormatError", ["(repeated)", "$filter"]));
      }
      try {
        filter = parseEventFilter(text);
      } catch (error) {
        if (!(error instanceof EventFilterError)) throw error;
        return sendRedfishError(reply, 400, {
          ...baseMessage("QueryParameterValueFormatError", [shown(text), "$filter"]),
          // The registry's sentence says what; this says why.
          Resolution: `${error.message}. Compare EventFormatType, MessageId, OriginResource, RegistryPrefix or ResourceType with eq or ne, joined by and, or, not and parentheses.`,
        });
      }
    }
    let cursor: StreamCursor | undefined;
    const header = request.headers["last-event-id"];
    if (typeof header === "string" && header.trim() !== "") {
      cursor = decodeStreamCursor(header.trim());
      if (cursor === undefined) {
        return sendRedfishError(reply, 400, baseMessage("HeaderInvalid", [`Last-Event-ID: ${shown(header)}`]));
      }
    }
    if (this.clients.size >= SSE_CLIENTS_MAX) {
      const seconds = String(RETRY_AFTER_SECONDS);
      reply.header("Retry-After", seconds);
      return sendRedfishError(reply, 503, baseMessage("ServiceTemporarilyUnavailable", [seconds]));
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
      "OData-Version": "4.0",
      "X-Accel-Buffering": "no",
    });
    // A resuming client reads the whole log (its cursor skips what it has); a new one starts now.
    const startPosition = cursor === undefined ? this.fanIn.endPosition() : this.fanIn.firstPosition();
    const client = new StreamClient(this, this.fanIn, raw, filter, cursor ?? this.fanIn.headCursor(), startPosition);
    this.clients.add(client);
    const unsubscribe = this.fanIn.onAppend(() => client.pump());
    raw.on("close", () => {
      unsubscribe();
      this.clients.delete(client);
    });
    client.start(cursor === undefined);
    return reply;
  }

  /** StreamClient's report of what it wrote. */
  wrote(messages: number, droppedReported: number): void {
    this.delivered += messages;
    this.droppedReported += droppedReported;
  }

  cut(): void {
    this.slowClientsCut += 1;
  }

  /** The SSE data of `event` with no record before it. */
  plainDataOf(event: MergedEvent): string {
    let data = this.plainData.get(event);
    if (data === undefined) {
      data = eventData(event.position, [event.record]);
      this.plainData.set(event, data);
    }
    return data;
  }
}

/** An Event resource holding `records` (MemberId numbered), as one SSE data line. */
function eventData(position: number, records: readonly Readonly<Record<string, unknown>>[]): string {
  const body = {
    "@odata.type": EVENT_TYPE,
    Id: String(position),
    Name: "Conclave Event",
    Events: records.map((record, index) => ({ ...record, MemberId: String(index) })),
  };
  return JSON.stringify(body);
}

class StreamClient {
  private readonly stream: EventStream;
  private readonly fanIn: EventFanIn;
  private readonly raw: ServerResponse;
  private readonly filter: EventFilter;
  private readonly cursor: StreamCursor;
  private readonly cursorText: StreamCursorEncoder;
  private position: number;
  private waitingForDrain = false;

  constructor(
    stream: EventStream,
    fanIn: EventFanIn,
    raw: ServerResponse,
    filter: EventFilter,
    cursor: StreamCursor,
    position: number,
  ) {
    this.stream = stream;
    this.fanIn = fanIn;
    this.raw = raw;
    this.filter = filter;
    this.cursor = cursor;
    this.cursorText = new StreamCursorEncoder(cursor);
    this.position = position;
  }

  start(announceCursor: boolean): void {
    this.raw.write(": Conclave event stream\n\n");
    // An id with no data sets the console's Last-Event-ID without an event: a new client that
    // reconnects before its first event still resumes from where it began.
    if (announceCursor) this.raw.write(`id: ${encodeStreamCursor(this.cursor)}\n\n`);
    this.pump();
  }

  keepAlive(): void {
    if (this.raw.writableLength > SSE_CLIENT_BUFFER_MAX_BYTES) this.cutSlow();
    else this.raw.write(": keep-alive\n\n");
  }

  end(): void {
    this.raw.end();
  }

  /** Writes what the log holds past this client's place, pausing while the socket is full. */
  pump(): void {
    if (this.waitingForDrain || this.raw.destroyed) return;
    while (this.position < this.fanIn.endPosition()) {
      if (this.position < this.fanIn.firstPosition()) {
        this.cutSlow();
        return;
      }
      const event = this.fanIn.at(this.position) as MergedEvent;
      this.position += 1;
      const text = this.message(event);
      if (text === undefined) continue;
      if (!this.raw.write(text) || this.raw.writableLength > SSE_CLIENT_BUFFER_MAX_BYTES) {
        this.waitingForDrain = true;
        this.raw.once("drain", () => {
          this.waitingForDrain = false;
          this.pump();
        });
        return;
      }
    }
  }

  private cutSlow(): void {
    this.stream.cut();
    this.raw.destroy();
  }

  /** The SSE message for one log event, or undefined when the client has it or filters it out. */
  private message(event: MergedEvent): string | undefined {
    const step = stepCursor(this.cursor, event.key, event.cursor, this.fanIn.isOlderEpoch);
    if (step.kind === "seen") return undefined;
    this.cursorText.moved(event.key);
    const records: Record<string, unknown>[] = [];
    const timestamp =
      typeof event.record.EventTimestamp === "string" ? event.record.EventTimestamp : new Date().toISOString();
    if (event.key !== CLUSTER_STREAM_KEY) {
      // About the stream's integrity, not its content: sent whatever the filter.
      const origin = `${AGGREGATION_SOURCES_URI}/${event.key}`;
      if (step.restarted) records.push(conclaveRecord("EventsRestarted", [event.key], origin, timestamp));
      if (step.dropped > 0) {
        records.push(conclaveRecord("EventsDropped", [event.key, String(step.dropped)], origin, timestamp));
      }
    }
    const markers = records.length;
    if (this.filter(event.record)) records.push(event.record);
    if (records.length === 0) return undefined;
    this.stream.wrote(1, markers > 0 ? step.dropped : 0);
    const data = markers === 0 ? this.stream.plainDataOf(event) : eventData(event.position, records);
    return `id: ${this.cursorText.encode()}\ndata: ${data}\n\n`;
  }
}
