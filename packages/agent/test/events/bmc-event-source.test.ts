// Proves reading the node's own BMC's events: the SSE stream of the real BMC simulator
// (SubmitTestEvent in, records out, Basic auth), reopening a stream with Last-Event-ID after a
// growing back-off, falling back to polling the event log when the BMC has no SSE, and the SSE
// parser's framing and bounds.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { MockAgent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createBmcClient } from "../../src/bmc/bmc-client.ts";
import { bmcCredentials } from "../../src/bmc/credentials.ts";
import { attachMemberEvents } from "../../src/events/attach-member-events.ts";
import { type BmcEventSource, logEntryToRecord, startBmcEventSource } from "../../src/events/bmc-event-source.ts";
import { SseParser, SseTooLargeError } from "../../src/events/sse-parser.ts";

const FAST = { reconnectMinMs: 20, reconnectMaxMs: 80, stableMs: 60_000, idleMs: 10_000, pollIntervalMs: 20 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function source(
  url: string,
  records: Record<string, unknown>[],
  extra: { dispatcher?: MockAgent } = {},
  retries: number[] = [],
) {
  const credentials = bmcCredentials("admin", "admin");
  const bmc = createBmcClient({ redfishUrl: url, credentials, authMode: "basic", ...extra });
  const events: BmcEventSource = startBmcEventSource({
    bmc,
    stream: { redfishUrl: url, credentials: () => credentials, ...extra },
    onRecord: (record) => records.push(record),
    timing: FAST,
    logger: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (object) => {
        const wait = (object as { retryInMs?: unknown }).retryInMs;
        if (typeof wait === "number") retries.push(wait);
      },
    },
  });
  cleanups.push(async () => {
    await events.close();
    await bmc.close();
  });
  return events;
}

describe("against the BMC simulator's SSE stream", () => {
  it("turns every event the BMC publishes into a record, in order", async () => {
    const simulator: RunningSimulator = await startSimulator({ port: 0, host: "127.0.0.1", logger: false });
    cleanups.push(() => simulator.close());
    const records: Record<string, unknown>[] = [];
    const events = source(simulator.url, records);
    await until(() => (events.status().connected ? true : undefined), "the stream to open");
    expect(events.status().mode).toBe("sse");
    for (let n = 1; n <= 5; n++) {
      const answer = await fetch(`${simulator.url}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ MessageId: `Test.1.0.Event${n}`, OriginOfCondition: "/redfish/v1/Systems/system" }),
      });
      expect(answer.status).toBe(204);
    }
    await until(() => (records.length >= 5 ? true : undefined), "five records");
    expect(records.map((r) => r.MessageId)).toEqual([1, 2, 3, 4, 5].map((n) => `Test.1.0.Event${n}`));
    expect(records[0]?.OriginOfCondition).toEqual({ "@odata.id": "/redfish/v1/Systems/system" });
    expect(events.status().lastEventId).toBe("5");
  });
});

describe("attachMemberEvents over the simulator", () => {
  it("numbers what the BMC sends and hands it to a pull", async () => {
    const simulator: RunningSimulator = await startSimulator({ port: 0, host: "127.0.0.1", logger: false });
    cleanups.push(() => simulator.close());
    const credentials = bmcCredentials("admin", "admin");
    const client = createBmcClient({ redfishUrl: simulator.url, credentials, authMode: "basic" });
    const registered: string[] = [];
    const events = attachMemberEvents({
      rpc: { register: (method) => void registered.push(method), unregister: () => {} },
      bmc: { client, stream: { redfishUrl: simulator.url, credentials: () => credentials } },
      isMember: () => true,
      timing: FAST,
    });
    cleanups.push(async () => {
      await events.close();
      await client.close();
    });
    expect(registered).toEqual(["conclave.events.pull"]);
    await until(() => (events.sourceStatus()?.connected ? true : undefined), "the stream to open");
    const pulled = events.pullLocal({ after: null, max: 10, waitMs: 5_000 }, new AbortController().signal);
    await fetch(`${simulator.url}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ MessageId: "Test.1.0.Pulled" }),
    });
    const answer = await pulled;
    expect(answer.epoch).toBe(events.buffer.epoch);
    expect(answer.events[0]).toMatchObject({ seq: 1, record: { MessageId: "Test.1.0.Pulled" } });
  });
});

describe("reopening a stream", () => {
  it("resumes with Last-Event-ID after a back-off that grows while the BMC refuses", async () => {
    const seen: { lastEventId: string | undefined }[] = [];
    let refuse = 0;
    const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
      if (request.url === "/redfish/v1/EventService") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ ServiceEnabled: true, ServerSentEventUri: "/sse" }));
        return;
      }
      const header = request.headers["last-event-id"];
      seen.push({ lastEventId: typeof header === "string" ? header : undefined });
      if (refuse > 0) {
        refuse -= 1;
        response.writeHead(503).end();
        return;
      }
      const next = header === undefined ? 1 : Number(header) + 1;
      response.writeHead(200, { "content-type": "text/event-stream" });
      // Two events, then the stream ends (a BMC restarting its web server, say).
      for (const id of [next, next + 1]) {
        response.write(`id: ${id}\ndata: ${JSON.stringify({ Events: [{ MessageId: `M.${id}` }] })}\n\n`);
      }
      refuse = 2;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const records: Record<string, unknown>[] = [];
    const retries: number[] = [];
    source(url, records, {}, retries);
    await until(() => (records.length >= 6 ? true : undefined), "six records");
    expect(records.slice(0, 6).map((r) => r.MessageId)).toEqual(["M.1", "M.2", "M.3", "M.4", "M.5", "M.6"]);
    expect(seen[0]?.lastEventId).toBeUndefined();
    // After the first stream: two refusals, then the resume from id 2.
    expect(seen.slice(1, 4).map((s) => s.lastEventId)).toEqual(["2", "2", "2"]);
    // A stream that delivered is reopened after the minimum (20 ms); each refusal then doubles the
    // wait (40, 80 ms), up to the maximum (80 ms).
    expect(retries.slice(0, 4)).toEqual([40, 80, 40, 80]);
  });
});

describe("a BMC without SSE", () => {
  it("polls its event log and turns new entries into records", async () => {
    const origin = "http://bmc.test";
    const agent = new MockAgent();
    agent.disableNetConnect();
    cleanups.push(() => agent.close());
    const pool = agent.get(origin);
    const json = { headers: { "content-type": "application/json" } };
    const entry = (id: string) => ({
      "@odata.id": `/redfish/v1/Systems/system/LogServices/EventLog/Entries/${id}`,
      Id: id,
      Created: "2026-01-01T00:00:00Z",
      MessageId: `OpenBMC.0.1.Thing${id}`,
      Message: `thing ${id}`,
      Severity: "Warning",
      Links: { OriginOfCondition: { "@odata.id": "/redfish/v1/Systems/system" } },
    });
    let entries = [entry("1"), entry("2")];
    pool.intercept({ path: "/redfish/v1/EventService" }).reply(200, { ServiceEnabled: true }, json).persist();
    pool
      .intercept({ path: "/redfish/v1/Systems" })
      .reply(200, { Members: [{ "@odata.id": "/redfish/v1/Systems/system" }] }, json)
      .persist();
    pool
      .intercept({ path: "/redfish/v1/Systems/system/LogServices" })
      .reply(
        200,
        {
          Members: [
            { "@odata.id": "/redfish/v1/Systems/system/LogServices/Dump" },
            { "@odata.id": "/redfish/v1/Systems/system/LogServices/EventLog" },
          ],
        },
        json,
      )
      .persist();
    let polls = 0;
    pool
      .intercept({ path: "/redfish/v1/Systems/system/LogServices/EventLog/Entries" })
      .reply(() => {
        polls += 1;
        return { statusCode: 200, data: { Members: entries }, responseOptions: json };
      })
      .persist();
    const records: Record<string, unknown>[] = [];
    const events = source(origin, records, { dispatcher: agent });
    await until(() => (polls >= 2 ? true : undefined), "two polls");
    expect(events.status().mode).toBe("poll");
    // What was in the log before the first poll is history, not news.
    expect(records).toEqual([]);
    entries = [...entries, entry("3")];
    await until(() => (records.length >= 1 ? true : undefined), "the new entry");
    expect(records).toEqual([logEntryToRecord(entry("3"))]);
    expect(records[0]).toMatchObject({
      EventId: "3",
      MessageId: "OpenBMC.0.1.Thing3",
      MessageSeverity: "Warning",
      OriginOfCondition: { "@odata.id": "/redfish/v1/Systems/system" },
    });
  });
});

describe("SseParser", () => {
  it("frames events across chunks and line endings, keeps the last id, skips comments", () => {
    const parser = new SseParser();
    expect(parser.push(": hello\r\nid: 7\r\nda")).toEqual([]);
    expect(parser.push("ta: a\r")).toEqual([]);
    expect(parser.push("\ndata: b\n\nevent: x\ndata: c\n\n")).toEqual([
      { lastEventId: "7", event: "message", data: "a\nb" },
      { lastEventId: "7", event: "x", data: "c" },
    ]);
  });

  it("refuses an event over its bound", () => {
    const parser = new SseParser(64);
    expect(() => parser.push(`data: ${"x".repeat(100)}`)).toThrow(SseTooLargeError);
    expect(() => new SseParser(64).push(`data: ${"x".repeat(40)}\ndata: ${"y".repeat(40)}\n`)).toThrow(
      SseTooLargeError,
    );
  });
});
