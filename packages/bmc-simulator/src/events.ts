// Redfish events: every state change the simulator makes becomes an Event with an
// increasing id, kept in a bounded buffer so an SSE client can resume with Last-Event-ID.
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { JsonValue, Resource } from "./store.ts";

export const REGISTRIES = {
  resourceEvent: "ResourceEvent.1.4.3",
  taskEvent: "TaskEvent.1.0.5",
  update: "Update.1.3.0",
} as const;

export interface EventMessage {
  messageId: string;
  message: string;
  args: string[];
  severity: "OK" | "Warning" | "Critical";
  originOfCondition?: string;
}

export interface BufferedEvent {
  id: number;
  body: Resource;
}

interface SseClient {
  response: ServerResponse;
  keepAlive: NodeJS.Timeout;
}

export interface EventHubLimits {
  eventBufferSize: number;
  maxSseClients: number;
  maxSseClientBufferBytes: number;
  sseKeepAliveMs: number;
}

export class EventHub {
  private readonly buffer: BufferedEvent[] = [];
  private readonly clients = new Set<SseClient>();
  private lastId = 0;
  private readonly limits: EventHubLimits;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(limits: EventHubLimits, logger: Logger, now: () => Date = () => new Date()) {
    this.limits = limits;
    this.logger = logger;
    this.now = now;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get lastEventId(): number {
    return this.lastId;
  }

  events(): readonly BufferedEvent[] {
    return this.buffer;
  }

  publish(message: EventMessage): BufferedEvent {
    this.lastId += 1;
    const id = this.lastId;
    const record: { [key: string]: JsonValue } = {
      MemberId: "0",
      // Deprecated, yet still required by Event.v1_13_0.
      EventType: "Other",
      EventId: String(id),
      EventTimestamp: this.now().toISOString(),
      MessageId: message.messageId,
      Message: message.message,
      MessageArgs: message.args,
      MessageSeverity: message.severity,
    };
    if (message.originOfCondition !== undefined) record.OriginOfCondition = { "@odata.id": message.originOfCondition };
    const body: Resource = {
      "@odata.type": "#Event.v1_13_0.Event",
      Id: String(id),
      Name: "Event Log",
      Events: [record],
    };
    const event = { id, body };
    this.buffer.push(event);
    if (this.buffer.length > this.limits.eventBufferSize) this.buffer.shift();
    for (const client of this.clients) this.send(client, event);
    return event;
  }

  /** Whether one more SSE stream may open. */
  hasRoom(): boolean {
    return this.clients.size < this.limits.maxSseClients;
  }

  /**
   * Streams events to an already-hijacked response: first every buffered event newer than
   * lastEventId (all of the buffer when that id is older than the oldest kept), then live ones.
   */
  attach(response: ServerResponse, lastEventId: number | undefined): void {
    const client: SseClient = {
      response,
      keepAlive: setInterval(() => this.write(client, ": keep-alive\n\n"), this.limits.sseKeepAliveMs),
    };
    client.keepAlive.unref();
    this.clients.add(client);
    response.on("close", () => this.detach(client));
    response.write(": Conclave BMC simulator event stream\n\n");
    if (lastEventId !== undefined) {
      for (const event of this.buffer) if (event.id > lastEventId) this.send(client, event);
    }
  }

  /** Ends every stream, e.g. when the simulator closes or goes down. */
  closeAll(): void {
    for (const client of [...this.clients]) {
      this.detach(client);
      client.response.destroy();
    }
  }

  private detach(client: SseClient): void {
    clearInterval(client.keepAlive);
    this.clients.delete(client);
  }

  private send(client: SseClient, event: BufferedEvent): void {
    this.write(client, `id: ${event.id}\ndata: ${JSON.stringify(event.body)}\n\n`);
  }

  private write(client: SseClient, text: string): void {
    if (client.response.destroyed) {
      this.detach(client);
      return;
    }
    // A client that does not read must not make the simulator hold unbounded memory.
    if (client.response.writableLength > this.limits.maxSseClientBufferBytes) {
      this.logger.warn({ queuedBytes: client.response.writableLength }, "dropping a slow SSE client");
      this.detach(client);
      client.response.destroy();
      return;
    }
    client.response.write(text);
  }
}
