// Proves the EventService over 5 simulated members: every member's events in one SSE stream with
// URIs prefixed; a console resuming with its vector Last-Event-ID on a second facade (a failover)
// gets every event after its cursor once, with an explicit EventsDropped where a member's buffer
// overflowed; $filter and its errors; the cluster's own events; bounded clients; and every
// resource (and event) valid against the DMTF schemas. Push subscriptions: push-subscriptions.test.ts.
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryAuthStore } from "../../src/auth/memory-auth-store.ts";
import { SSE_CLIENTS_MAX, SSE_URI } from "../../src/events/event-stream.ts";
import { CLUSTER_STREAM_KEY, decodeStreamCursor } from "../../src/events/stream-cursor.ts";
import { buildApp } from "../../src/index.ts";
import {
  CONSOLE,
  CONSOLE_USER,
  crawl,
  type Facade,
  hasShared,
  messageIds,
  SHARED_MISSING,
  sharedRedfish,
  startFacade,
  TEST_TIMEOUTS,
} from "../support/facade-fixture.ts";
import { loadRedfishValidator } from "../support/redfish-schemas.ts";
import type { SimulatedCluster } from "../support/simulated-cluster.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";
import { readSse, type SseEvent } from "./sse-reader.ts";

const NAMES = ["bmc1", "bmc2", "bmc3", "bmc4", "bmc5"] as const;

const apps: FastifyInstance[] = [];
let facade: Facade | undefined;
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await facade?.close();
  facade = undefined;
});

function record(name: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    EventType: "Other",
    MemberId: "0",
    EventId: `${name}-${n}`,
    EventTimestamp: "2026-01-01T00:00:00Z",
    MessageId: "ResourceEvent.1.4.3.ResourceChanged",
    Message: "One or more resource properties have changed.",
    MessageArgs: [],
    MessageSeverity: "OK",
    OriginOfCondition: { "@odata.id": "/redfish/v1/Systems/system" },
    ...extra,
  };
}

/** Member event records in stream order, markers and cluster events apart. */
function memberRecords(events: readonly SseEvent[]): Record<string, unknown>[] {
  return events.flatMap((e) => e.body.Events).filter((r) => !String(r.MessageId).startsWith("Conclave."));
}

function conclaveRecords(events: readonly SseEvent[]): Record<string, unknown>[] {
  return events.flatMap((e) => e.body.Events).filter((r) => String(r.MessageId).startsWith("Conclave."));
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

async function start(events: FakeMemberEvents): Promise<{ facade: Facade; url: string }> {
  facade = await startFacade(
    NAMES.map((name) => ({ name })),
    { events },
  );
  return { facade, url: await listen(facade.app) };
}

/** Another facade over the same cluster: the next PoC. The first one's app must be closed. */
async function nextPoc(cluster: SimulatedCluster, events: FakeMemberEvents): Promise<string> {
  const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
  const app = buildApp({ cluster, auth, events, timeouts: TEST_TIMEOUTS });
  apps.push(app);
  return listen(app);
}

describe("the SSE stream", () => {
  it("carries every member's events, URIs prefixed, each member's in order", async () => {
    const events = new FakeMemberEvents();
    const { url } = await start(events);
    const read = await readSse(`${url}${SSE_URI}`, CONSOLE, (got) => memberRecords(got).length >= 25, {
      onOpen: () => {
        for (let n = 1; n <= 5; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
      },
    });
    expect(read.status).toBe(200);
    expect(read.contentType).toMatch(/^text\/event-stream/);
    const records = memberRecords(read.events);
    expect(records).toHaveLength(25);
    for (const name of NAMES) {
      const mine = records.filter((r) => String(r.EventId).startsWith(`${name}-`));
      expect(mine.map((r) => r.EventId)).toEqual([1, 2, 3, 4, 5].map((n) => `${name}-${n}`));
      for (const r of mine) expect(r.OriginOfCondition).toEqual({ "@odata.id": `/redfish/v1/Systems/${name}_system` });
    }
  });

  it("resumes on the next PoC from the vector Last-Event-ID: nothing lost, nothing twice, gaps reported", async () => {
    const events = new FakeMemberEvents(50);
    const { facade: first, url } = await start(events);
    const seen = await readSse(`${url}${SSE_URI}`, CONSOLE, (got) => memberRecords(got).length >= 25, {
      onOpen: () => {
        for (let n = 1; n <= 5; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
      },
    });
    expect(memberRecords(seen.events)).toHaveLength(25);
    const cursor = decodeStreamCursor(seen.lastEventId as string);
    expect([...(cursor?.keys() ?? [])].sort()).toEqual([CLUSTER_STREAM_KEY, ...NAMES].sort());
    // While the console is away: 5 more each, then the PoC fails; during the failover bmc3 sends
    // 60 more, overflowing its 50-event buffer before any PoC read them.
    for (let n = 6; n <= 10; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
    await first.app.close();
    for (let n = 11; n <= 70; n++) events.push("peer-bmc3", record("bmc3", n));
    const second = await nextPoc(first.cluster, events);
    const resumed = await readSse(
      `${second}${SSE_URI}`,
      { ...CONSOLE, "last-event-id": seen.lastEventId as string },
      (got) => memberRecords(got).length >= 70,
    );
    const records = memberRecords(resumed.events);
    expect(records).toHaveLength(70);
    for (const name of NAMES) {
      const mine = records.filter((r) => String(r.EventId).startsWith(`${name}-`)).map((r) => r.EventId);
      const from = name === "bmc3" ? 21 : 6;
      const to = name === "bmc3" ? 70 : 10;
      expect(mine).toEqual(Array.from({ length: to - from + 1 }, (_, i) => `${name}-${from + i}`));
    }
    // bmc3's 6..20 left its buffer unread: said once, in order, before bmc3's next event.
    const dropped = conclaveRecords(resumed.events).filter((r) => r.MessageId === "Conclave.1.0.EventsDropped");
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.MessageArgs).toEqual(["bmc3", "15"]);
    const carrier = resumed.events.find((e) => e.body.Events.some((r) => r.MessageId === "Conclave.1.0.EventsDropped"));
    expect(carrier?.body.Events.map((r) => r.EventId ?? r.MessageId)).toEqual([
      "Conclave.1.0.EventsDropped",
      "bmc3-21",
    ]);
    // Reconnecting again with the newest id: nothing is sent twice.
    events.push("peer-bmc1", record("bmc1", 11));
    const again = await readSse(
      `${second}${SSE_URI}`,
      { ...CONSOLE, "last-event-id": resumed.lastEventId as string },
      (got) => memberRecords(got).length >= 1,
    );
    expect(memberRecords(again.events).map((r) => r.EventId)).toEqual(["bmc1-11"]);
  });

  it("says when a member's agent restarted, then carries its new run", async () => {
    const events = new FakeMemberEvents();
    const { url } = await start(events);
    const seen = await readSse(`${url}${SSE_URI}`, CONSOLE, (got) => memberRecords(got).length >= 2, {
      onOpen: () => {
        events.push("peer-bmc2", record("bmc2", 1));
        events.push("peer-bmc2", record("bmc2", 2));
      },
    });
    events.restart("peer-bmc2");
    events.push("peer-bmc2", record("bmc2", 101));
    const resumed = await readSse(
      `${url}${SSE_URI}`,
      { ...CONSOLE, "last-event-id": seen.lastEventId as string },
      (got) => memberRecords(got).length >= 1,
    );
    expect(memberRecords(resumed.events).map((r) => r.EventId)).toEqual(["bmc2-101"]);
    expect(conclaveRecords(resumed.events).map((r) => r.MessageId)).toContain("Conclave.1.0.EventsRestarted");
  });
});

describe("$filter", () => {
  const cases: [filter: string, sent: Record<string, unknown>[], wanted: string[]][] = [
    [
      "MessageId eq 'TaskEvent.1.0.5.TaskStarted'",
      [
        record("bmc1", 1),
        record("bmc1", 2, { MessageId: "TaskEvent.1.0.5.TaskStarted" }),
        record("bmc1", 3),
        record("bmc1", 4, { MessageId: "TaskEvent.1.0.5.TaskStarted" }),
      ],
      ["bmc1-2", "bmc1-4"],
    ],
    [
      "RegistryPrefix eq TaskEvent or ResourceType eq 'Chassis'",
      [
        record("bmc1", 1),
        record("bmc1", 2, { MessageId: "TaskEvent.1.0.5.TaskStarted" }),
        record("bmc1", 3, { OriginOfCondition: { "@odata.id": "/redfish/v1/Chassis/chassis" } }),
      ],
      ["bmc1-2", "bmc1-3"],
    ],
    [
      "OriginResource eq '/redfish/v1/Systems/bmc1_system' and not (MessageId eq 'ResourceEvent.ResourceChanged')",
      [
        record("bmc1", 1),
        record("bmc1", 2, { MessageId: "ResourceEvent.1.4.3.ResourceCreated" }),
        record("bmc1", 3, {
          MessageId: "ResourceEvent.1.4.3.ResourceCreated",
          OriginOfCondition: { "@odata.id": "/redfish/v1/Chassis/chassis" },
        }),
        record("bmc1", 4, { MessageId: "ResourceEvent.1.4.3.ResourceCreated" }),
      ],
      ["bmc1-2", "bmc1-4"],
    ],
  ];

  it("sends only the events a filter matches", async () => {
    const events = new FakeMemberEvents();
    const { url } = await start(events);
    for (const [filter, sent, wanted] of cases) {
      const read = await readSse(
        `${url}${SSE_URI}?$filter=${encodeURIComponent(filter)}`,
        CONSOLE,
        (got) => memberRecords(got).length >= wanted.length,
        {
          onOpen: () => {
            for (const r of sent) events.push("peer-bmc1", { ...r, EventId: `${filter}|${r.EventId}` });
          },
        },
      );
      expect(
        memberRecords(read.events).map((r) => String(r.EventId).split("|")[1]),
        filter,
      ).toEqual(wanted);
    }
  });

  it("refuses a bad filter, an unknown query option and a foreign Last-Event-ID with a 400", async () => {
    const { facade: f } = await start(new FakeMemberEvents());
    for (const filter of [
      "Severity eq 'OK'",
      "MessageId",
      "MessageId lt 'x'",
      "(MessageId eq 'x'",
      "MessageId eq 'x' RegistryPrefix eq 'y'",
      "MessageId eq 'unterminated",
      "",
    ]) {
      const response = await f.get(`${SSE_URI}?$filter=${encodeURIComponent(filter)}`);
      expect(response.statusCode, filter).toBe(400);
      expect(messageIds(response)).toEqual(["QueryParameterValueFormatError"]);
    }
    const unknown = await f.get(`${SSE_URI}?$top=1`);
    expect(unknown.statusCode).toBe(400);
    expect(messageIds(unknown)).toEqual(["QueryParameterUnsupported"]);
    const foreign = await f.get(SSE_URI, { "last-event-id": "42" });
    expect(foreign.statusCode).toBe(400);
    expect(messageIds(foreign)).toEqual(["HeaderInvalid"]);
  });
});

describe("the cluster's own events", () => {
  it("reports the PoC, members lost and back, and health, from the Conclave registry", async () => {
    const events = new FakeMemberEvents();
    const { facade: f, url } = await start(events);
    let recovered = false;
    const read = await readSse(
      `${url}${SSE_URI}`,
      CONSOLE,
      (got) => {
        // bmc4 comes back once its loss was reported (a flap between two looks is not seen).
        if (!recovered && conclaveRecords(got).some((r) => r.MessageId === "Conclave.1.0.MemberLost")) {
          recovered = true;
          f.cluster.setMember("bmc4", { bmcReachable: true });
        }
        return conclaveRecords(got).length >= 4;
      },
      {
        onOpen: () => {
          f.cluster.setMember("bmc4", { bmcReachable: false });
          f.cluster.setMember("bmc5", { health: "Critical" });
          f.cluster.setPoc("bmc2");
        },
      },
    );
    const messages = conclaveRecords(read.events).map((r) => `${r.MessageId} ${(r.MessageArgs as string[]).join(",")}`);
    expect(messages).toEqual([
      "Conclave.1.0.PocChanged bmc2",
      "Conclave.1.0.MemberLost bmc4",
      "Conclave.1.0.MemberHealthCritical bmc5",
      "Conclave.1.0.MemberRecovered bmc4",
    ]);
  });
});

describe("bounds", () => {
  it(`serves at most ${SSE_CLIENTS_MAX} streams at once`, async () => {
    const { facade: f, url } = await start(new FakeMemberEvents());
    // A session: the password checks of 64 Basic logins at once are bounded on their own.
    const login = await f.app.inject({
      method: "POST",
      url: "/redfish/v1/SessionService/Sessions",
      payload: { UserName: CONSOLE_USER.userName, Password: CONSOLE_USER.password },
    });
    const session = { "x-auth-token": String(login.headers["x-auth-token"]) };
    const abort = new AbortController();
    try {
      const open = await Promise.all(
        Array.from({ length: SSE_CLIENTS_MAX }, () =>
          fetch(`${url}${SSE_URI}`, { headers: session, signal: abort.signal }),
        ),
      );
      expect(open.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
      const refused = await fetch(`${url}${SSE_URI}`, { headers: session });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      await refused.body?.cancel();
    } finally {
      abort.abort();
    }
  });
});

describe("resources", () => {
  it("serves the EventService, its Subscriptions and the Conclave registry", async () => {
    const { facade: f } = await start(new FakeMemberEvents());
    const service = await f.json("/redfish/v1/EventService");
    expect(service).toMatchObject({
      ServiceEnabled: true,
      ServerSentEventUri: SSE_URI,
      EventFormatTypes: ["Event"],
      Subscriptions: { "@odata.id": "/redfish/v1/EventService/Subscriptions" },
    });
    expect(service.SSEFilterPropertiesSupported).toMatchObject({
      MessageId: true,
      RegistryPrefix: true,
      ResourceType: true,
      OriginResource: true,
    });
    expect(service.RegistryPrefixes).toContain("Conclave");
    const registries = await f.json("/redfish/v1/Registries");
    expect(registries.Members).toContainEqual({ "@odata.id": "/redfish/v1/Registries/Conclave.1.0.0" });
    const file = await f.json("/redfish/v1/Registries/Conclave.1.0.0");
    const location = (file.Location as { Uri: string }[])[0]?.Uri as string;
    const registry = await f.json(location);
    expect(registry).toMatchObject({ RegistryPrefix: "Conclave", RegistryVersion: "1.0.0" });
    expect(Object.keys(registry.Messages as object)).toContain("EventsDropped");
    // The registry is the package's: read-only.
    const write = await f.app.inject({
      method: "PATCH",
      url: "/redfish/v1/Registries/Conclave.1.0.0",
      headers: CONSOLE,
      payload: { Name: "x" },
    });
    expect(write.statusCode).toBe(405);
  });

  it.skipIf(!hasShared)("validates against the DMTF schemas (events included)", async () => {
    const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
    const events = new FakeMemberEvents();
    const { facade: f, url } = await start(events);
    const bodies: Record<string, unknown>[] = [];
    for (const uri of [
      "/redfish/v1/EventService",
      "/redfish/v1/EventService/Subscriptions",
      "/redfish/v1/Registries",
      "/redfish/v1/Registries/Conclave.1.0.0",
      "/redfish/v1/Registries/Conclave.1.0.0/Conclave.1.0.0",
    ]) {
      bodies.push(await f.json(uri));
    }
    const read = await readSse(`${url}${SSE_URI}`, CONSOLE, (got) => got.length >= 2, {
      onOpen: () => {
        events.push("peer-bmc1", record("bmc1", 1));
        f.cluster.setMember("bmc2", { health: "Warning" });
      },
    });
    bodies.push(...read.events.map((e) => e.body));
    const problems = bodies.flatMap((body) =>
      validator.validate(body).map((p) => `${body["@odata.id"] ?? body.Id}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it.skipIf(!hasShared)(
    "are linked from the ServiceRoot, and every link from there resolves and validates",
    async () => {
      const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
      facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
      const root = await facade.json("/redfish/v1");
      expect(root.EventService).toEqual({ "@odata.id": "/redfish/v1/EventService" });
      expect(root.Registries).toEqual({ "@odata.id": "/redfish/v1/Registries" });
      const { resources, unresolved } = await crawl(facade.app);
      expect(unresolved).toEqual([]);
      for (const uri of ["/redfish/v1/EventService", "/redfish/v1/Registries/Conclave.1.0.0"]) {
        expect(resources.has(uri), uri).toBe(true);
      }
      const problems = [...resources].flatMap(([uri, body]) => validator.validate(body).map((p) => `${uri}: ${p}`));
      expect(problems).toEqual([]);
    },
  );

  it.skipIf(hasShared)(SHARED_MISSING, () => {});
});
