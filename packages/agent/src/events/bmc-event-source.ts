// The node's own BMC's events, as EventRecords handed to `onRecord`. Where the BMC's EventService
// names a ServerSentEventUri, its SSE stream is read (Basic auth with the node's BMC credentials);
// a stream that ends is reopened with Last-Event-ID after a bounded, doubling back-off. A BMC
// without SSE (no ServerSentEventUri, or the stream answers 404/405/501) is polled instead: the
// entries of its event log (a LogService named EventLog, else the first one found) that were not
// in the previous listing become records.
import { Buffer } from "node:buffer";
import { type Dispatcher, Pool } from "undici";
import type { BmcClient } from "../bmc/bmc-client.ts";
import type { BmcCredentials } from "../bmc/credentials.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { SseParser } from "./sse-parser.ts";

export const EVENT_SERVICE_PATH = "/redfish/v1/EventService";
/** First wait before reopening a stream that ended or failed; doubles up to the max. */
export const EVENT_RECONNECT_MIN_MS = 500;
export const EVENT_RECONNECT_MAX_MS = 30_000;
/** A stream that stayed up this long resets the back-off. */
export const EVENT_STREAM_STABLE_MS = 30_000;
/** How long opening the stream may take before its first byte. */
export const EVENT_STREAM_OPEN_TIMEOUT_MS = 10_000;
/** A stream silent this long (no event, no keep-alive) is reopened: the BMC may be gone. */
export const EVENT_STREAM_IDLE_MS = 5 * 60_000;
/** How often a BMC without SSE has its event log read. */
export const EVENT_LOG_POLL_INTERVAL_MS = 5_000;
/** Pages of log entries read per poll (Members@odata.nextLink). */
export const EVENT_LOG_PAGES_MAX = 8;
/** Systems and managers looked through for a LogService. */
export const EVENT_LOG_OWNERS_MAX = 4;

export interface BmcEventTiming {
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly stableMs: number;
  readonly idleMs: number;
  readonly pollIntervalMs: number;
}

export const DEFAULT_BMC_EVENT_TIMING: BmcEventTiming = Object.freeze({
  reconnectMinMs: EVENT_RECONNECT_MIN_MS,
  reconnectMaxMs: EVENT_RECONNECT_MAX_MS,
  stableMs: EVENT_STREAM_STABLE_MS,
  idleMs: EVENT_STREAM_IDLE_MS,
  pollIntervalMs: EVENT_LOG_POLL_INTERVAL_MS,
});

/** Where the SSE stream is opened: the node's BMC as its config names it. */
export interface BmcStreamAccess {
  readonly redfishUrl: string;
  /** Read at every (re)connect, so a corrected credentials file is picked up. */
  readonly credentials: () => BmcCredentials;
  readonly verifyTls?: boolean;
  readonly connectTimeoutMs?: number;
  /** Replaces the connection (tests). Not closed by close(). */
  readonly dispatcher?: Dispatcher;
}

export interface BmcEventSourceInit {
  /** Reads the EventService and, without SSE, the event log. */
  readonly bmc: BmcClient;
  readonly stream: BmcStreamAccess;
  readonly onRecord: (record: Record<string, unknown>) => void;
  readonly logger?: AgentLogger;
  readonly timing?: Partial<BmcEventTiming>;
}

export type BmcEventMode = "starting" | "sse" | "poll" | "stopped";

export interface BmcEventSourceStatus {
  readonly mode: BmcEventMode;
  /** True while an SSE stream is open. */
  readonly connected: boolean;
  /** Streams opened (the first included). */
  readonly streamsOpened: number;
  readonly lastEventId: string | undefined;
  readonly lastError: string | undefined;
}

export interface BmcEventSource {
  status(): BmcEventSourceStatus;
  close(): Promise<void>;
}

type Delivery = { readonly kind: "sse"; readonly path: string } | { readonly kind: "poll" };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function linkOf(value: unknown): string | undefined {
  return isObject(value) && typeof value["@odata.id"] === "string" ? value["@odata.id"] : undefined;
}

/** A stream the BMC does not have: fall back to polling. */
class NoSseError extends Error {}

export function startBmcEventSource(init: BmcEventSourceInit): BmcEventSource {
  const timing: BmcEventTiming = { ...DEFAULT_BMC_EVENT_TIMING, ...init.timing };
  const logger = init.logger ?? silentLogger;
  const origin = new URL(init.stream.redfishUrl).origin;
  const ownPool =
    init.stream.dispatcher === undefined
      ? new Pool(origin, {
          connections: 1,
          connect: {
            timeout: init.stream.connectTimeoutMs ?? 2_000,
            rejectUnauthorized: init.stream.verifyTls ?? true,
          },
        })
      : undefined;
  const dispatcher: Dispatcher = init.stream.dispatcher ?? (ownPool as Dispatcher);
  const stop = new AbortController();
  let mode: BmcEventMode = "starting";
  let connected = false;
  let streamsOpened = 0;
  let lastEventId: string | undefined;
  let lastError: string | undefined;
  let backoffMs = timing.reconnectMinMs;
  /** Log entries listed by the previous poll; undefined before the first (which only takes note). */
  let knownEntries: Set<string> | undefined;
  let entriesPath: string | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        stop.signal.removeEventListener("abort", done);
        resolve();
      }
      stop.signal.addEventListener("abort", done, { once: true });
    });

  const discover = async (): Promise<Delivery> => {
    const response = await init.bmc.get(EVENT_SERVICE_PATH);
    const body = response.json;
    if (response.statusCode === 200 && isObject(body) && body.ServiceEnabled !== false) {
      const uri = body.ServerSentEventUri;
      if (typeof uri === "string" && uri.startsWith("/")) return { kind: "sse", path: uri };
    }
    return { kind: "poll" };
  };

  /** Hands over every record of one SSE message (an Event resource, or a bare EventRecord). */
  const deliver = (data: string): void => {
    let body: unknown;
    try {
      body = JSON.parse(data);
    } catch {
      logger.warn({ bytes: data.length }, "the BMC's event stream sent data that is not JSON: skipped");
      return;
    }
    if (isObject(body) && Array.isArray(body.Events)) {
      for (const record of body.Events) if (isObject(record)) init.onRecord(record);
    } else if (isObject(body) && typeof body.MessageId === "string") init.onRecord(body);
  };

  /** Reads one SSE stream until it ends; throws NoSseError when the BMC has none there. */
  const streamOnce = async (path: string): Promise<void> => {
    const { username, password } = init.stream.credentials();
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
    };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    const response = await dispatcher.request({
      origin,
      path,
      method: "GET",
      headers,
      signal: stop.signal,
      headersTimeout: EVENT_STREAM_OPEN_TIMEOUT_MS,
      bodyTimeout: timing.idleMs,
    });
    // Its errors surface through the iteration below (or nowhere, for an answer thrown away).
    response.body.on("error", () => {});
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => undefined);
      if ([404, 405, 501].includes(response.statusCode)) throw new NoSseError(`HTTP ${response.statusCode}`);
      throw new Error(`the BMC's event stream answered HTTP ${response.statusCode}`);
    }
    streamsOpened += 1;
    connected = true;
    const openedAt = performance.now();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    logger.info({ path, resumeAfter: lastEventId }, "reading the BMC's event stream");
    try {
      for await (const chunk of response.body) {
        for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          lastEventId = message.lastEventId;
          deliver(message.data);
          backoffMs = timing.reconnectMinMs;
        }
      }
    } finally {
      connected = false;
      if (!response.body.destroyed) response.body.destroy();
      if (performance.now() - openedAt >= timing.stableMs) backoffMs = timing.reconnectMinMs;
    }
  };

  const findEntriesPath = async (): Promise<string | undefined> => {
    for (const collection of ["/redfish/v1/Systems", "/redfish/v1/Managers"]) {
      const owners = await init.bmc.get(collection);
      const members = isObject(owners.json) && Array.isArray(owners.json.Members) ? owners.json.Members : [];
      for (const owner of members.slice(0, EVENT_LOG_OWNERS_MAX)) {
        const ownerPath = linkOf(owner);
        if (ownerPath === undefined) continue;
        const services = await init.bmc.get(`${ownerPath.replace(/\/+$/, "")}/LogServices`);
        const list = isObject(services.json) && Array.isArray(services.json.Members) ? services.json.Members : [];
        const paths = list.map(linkOf).filter((p): p is string => p !== undefined);
        const chosen = paths.find((p) => /\/EventLog\/?$/.test(p)) ?? paths[0];
        if (chosen !== undefined) return `${chosen.replace(/\/+$/, "")}/Entries`;
      }
    }
    return undefined;
  };

  const pollOnce = async (): Promise<void> => {
    entriesPath ??= await findEntriesPath();
    if (entriesPath === undefined) throw new Error("the BMC has neither an event stream nor an event log");
    const entries: Record<string, unknown>[] = [];
    let page: string | undefined = entriesPath;
    for (let pages = 0; page !== undefined && pages < EVENT_LOG_PAGES_MAX; pages++) {
      const response = await init.bmc.get(page);
      if (response.statusCode !== 200 || !isObject(response.json)) {
        entriesPath = undefined;
        throw new Error(`the BMC's event log ${page} answered HTTP ${response.statusCode}`);
      }
      const members = Array.isArray(response.json.Members) ? response.json.Members : [];
      for (const entry of members) if (isObject(entry)) entries.push(entry);
      const next = response.json["Members@odata.nextLink"];
      page = typeof next === "string" && next.startsWith("/") ? next : undefined;
    }
    const listed = new Set<string>();
    for (const entry of entries) {
      const key = String(entry["@odata.id"] ?? entry.Id ?? "");
      if (key === "") continue;
      listed.add(key);
      if (knownEntries !== undefined && !knownEntries.has(key)) init.onRecord(logEntryToRecord(entry));
    }
    knownEntries = listed;
  };

  const run = async (): Promise<void> => {
    let delivery: Delivery | undefined;
    while (!stop.signal.aborted) {
      try {
        delivery ??= await discover();
        if (delivery.kind === "sse") {
          mode = "sse";
          await streamOnce(delivery.path);
          lastError = undefined;
        } else {
          mode = "poll";
          await pollOnce();
          lastError = undefined;
          backoffMs = timing.reconnectMinMs;
          await sleep(timing.pollIntervalMs);
          continue;
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        if (error instanceof NoSseError) {
          logger.info({ answer: error.message }, "the BMC has no event stream: polling its event log instead");
          delivery = { kind: "poll" };
          continue;
        }
        lastError = error instanceof Error ? error.message : String(error);
        logger.warn({ err: error, retryInMs: backoffMs }, "the BMC's events cannot be read now");
        // Ask the EventService again: the BMC may have restarted with other settings.
        delivery = undefined;
      }
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, timing.reconnectMaxMs);
    }
    mode = "stopped";
  };
  const running = run();

  return {
    status: () => ({ mode, connected, streamsOpened, lastEventId, lastError }),
    async close() {
      stop.abort();
      await running;
      await ownPool?.close();
    },
  };
}

/** A LogEntry (Redfish `LogEntry`) as an EventRecord. */
export function logEntryToRecord(entry: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { EventType: "Other", MemberId: "0" };
  if (typeof entry.Id === "string") record.EventId = entry.Id;
  if (typeof entry.Created === "string") record.EventTimestamp = entry.Created;
  if (typeof entry.MessageId === "string") record.MessageId = entry.MessageId;
  if (typeof entry.Message === "string") record.Message = entry.Message;
  if (Array.isArray(entry.MessageArgs)) record.MessageArgs = entry.MessageArgs.map(String);
  const severity = entry.MessageSeverity ?? entry.Severity;
  if (severity === "OK" || severity === "Warning" || severity === "Critical") record.MessageSeverity = severity;
  const origin = isObject(entry.Links) ? linkOf(entry.Links.OriginOfCondition) : undefined;
  if (origin !== undefined) record.OriginOfCondition = { "@odata.id": origin };
  return record;
}
