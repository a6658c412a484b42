// Proves push subscriptions (EventDestination): create, read, PATCH, suspend, resume, delete;
// bad subscriptions refused with the Base registry message naming the property; delivery from 5
// members to a destination while another one hangs (a dead destination delays nobody else);
// retries that end in delivery, or in suspension or deletion per DeliveryRetryPolicy;
// SubmitTestEvent; a failover during a steady stream, after which the next PoC resumes every
// subscription where its destination left off (nothing lost, nothing twice); and
// EventDestination valid against the DMTF schema.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryAuthStore } from "../../src/auth/memory-auth-store.ts";
import { buildApp, createMemorySubscriptionStore } from "../../src/index.ts";
import {
  CONSOLE,
  CONSOLE_USER,
  type Facade,
  hasShared,
  messageIds,
  sharedRedfish,
  startFacade,
  TEST_TIMEOUTS,
  waitFor,
} from "../support/facade-fixture.ts";
import { loadRedfishValidator } from "../support/redfish-schemas.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";

const NAMES = ["bmc1", "bmc2", "bmc3", "bmc4", "bmc5"];
const SUBSCRIPTIONS = "/redfish/v1/EventService/Subscriptions";

interface Received {
  readonly path: string;
  readonly body: { Context?: string; Events: Record<string, unknown>[] };
}

let facade: Facade | undefined;
let server: Server | undefined;
const apps: FastifyInstance[] = [];
const hanging: ServerResponse[] = [];
afterEach(async () => {
  for (const response of hanging.splice(0)) response.destroy();
  for (const app of apps.splice(0)) await app.close();
  await facade?.close();
  facade = undefined;
  await new Promise<void>((done) => (server === undefined ? done() : server.close(() => done())));
  server = undefined;
});

/** A destination server: `answer(path, attempt)` gives the status, or "hang" to never answer. */
async function destinations(answer: (path: string, attempt: number) => number | "hang") {
  const accepted: Received[] = [];
  const attempts = new Map<string, number>();
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = "";
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on("end", () => {
      const path = request.url ?? "";
      const attempt = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, attempt);
      const status = answer(path, attempt);
      if (status === "hang") {
        hanging.push(response);
        return;
      }
      if (status >= 200 && status < 300) accepted.push({ path, body: JSON.parse(text) });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, accepted, attempts };
}

async function post(url: string, body: unknown) {
  return (facade as Facade).app.inject({ method: "POST", url, headers: CONSOLE, payload: body as object });
}

async function subscribe(body: Record<string, unknown>): Promise<string> {
  const response = await post(SUBSCRIPTIONS, body);
  expect(response.statusCode, response.body).toBe(201);
  return String(response.headers.location);
}

function record(name: string, n: number): Record<string, unknown> {
  return {
    EventType: "Other",
    MemberId: "0",
    EventId: `${name}-${n}`,
    MessageId: "ResourceEvent.1.4.3.ResourceChanged",
    MessageSeverity: "OK",
    OriginOfCondition: { "@odata.id": "/redfish/v1/Systems/system" },
  };
}

function memberEvents(received: readonly Received[], path: string): string[] {
  return received
    .filter((r) => r.path === path)
    .flatMap((r) => r.body.Events)
    .filter((e) => !String(e.MessageId).startsWith("Conclave."))
    .map((e) => String(e.EventId));
}

describe("EventDestination resources", () => {
  it("are created, read, changed, suspended, resumed and deleted", async () => {
    facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
    const uri = await subscribe({
      Destination: "https://console.example/events",
      Context: "rack7",
      Protocol: "Redfish",
      RegistryPrefixes: ["ResourceEvent"],
      ResourceTypes: ["ComputerSystem"],
      OriginResources: [{ "@odata.id": "/redfish/v1/Systems/bmc1_system" }],
      SubordinateResources: true,
    });
    expect((await facade.json(SUBSCRIPTIONS)).Members).toEqual([{ "@odata.id": uri }]);
    expect(await facade.json(uri)).toMatchObject({
      Destination: "https://console.example/events",
      Context: "rack7",
      SubscriptionType: "RedfishEvent",
      DeliveryRetryPolicy: "SuspendRetries",
      Status: { State: "Enabled" },
    });
    const patched = await facade.app.inject({
      method: "PATCH",
      url: uri,
      headers: CONSOLE,
      payload: { Context: "rack8", DeliveryRetryPolicy: "RetryForever" },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ Context: "rack8", DeliveryRetryPolicy: "RetryForever" });
    const readOnly = await facade.app.inject({
      method: "PATCH",
      url: uri,
      headers: CONSOLE,
      payload: { Destination: "x" },
    });
    expect(messageIds(readOnly)).toEqual(["PropertyNotWritable"]);
    expect((await post(`${uri}/Actions/EventDestination.SuspendSubscription`, {})).statusCode).toBe(204);
    expect(((await facade.json(uri)).Status as { State: string }).State).toBe("Disabled");
    expect((await post(`${uri}/Actions/EventDestination.ResumeSubscription`, {})).statusCode).toBe(204);
    expect(((await facade.json(uri)).Status as { State: string }).State).toBe("Enabled");
    expect((await facade.app.inject({ method: "DELETE", url: uri, headers: CONSOLE })).statusCode).toBe(204);
    expect((await facade.get(uri)).statusCode).toBe(404);
    const gone = await facade.app.inject({ method: "DELETE", url: uri, headers: CONSOLE });
    expect(gone.statusCode).toBe(404);
  });

  it("refuses bad subscriptions, naming the property", async () => {
    facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
    const cases: [Record<string, unknown>, string[]][] = [
      [{}, ["PropertyMissing"]],
      [{ Destination: "ftp://console.example/x" }, ["PropertyValueFormatError"]],
      [{ Destination: "not a url" }, ["PropertyValueFormatError"]],
      [{ Destination: "https://user:secret@console.example/x" }, ["PropertyValueFormatError"]],
      [{ Destination: "https://console.example/x", RegistryPrefixes: ["NoSuchRegistry"] }, ["PropertyValueNotInList"]],
      [{ Destination: "https://console.example/x", MessageIds: ["NoSuch.1.0.Thing"] }, ["PropertyValueNotInList"]],
      [{ Destination: "https://console.example/x", ResourceTypes: ["Spaceship"] }, ["PropertyValueNotInList"]],
      [{ Destination: "https://console.example/x", Protocol: "SNMPv2c" }, ["PropertyValueNotInList"]],
      [{ Destination: "https://console.example/x", DeliveryRetryPolicy: "Never" }, ["PropertyValueNotInList"]],
      [
        { Destination: "https://console.example/x", Colour: "blue", Id: "7" },
        ["PropertyUnknown", "PropertyNotWritable"],
      ],
      [
        { Destination: "https://console.example/x", OriginResources: ["/redfish/v1/Systems"] },
        ["PropertyValueFormatError"],
      ],
    ];
    for (const [body, expected] of cases) {
      const response = await post(SUBSCRIPTIONS, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(messageIds(response), JSON.stringify(body)).toEqual(expected);
    }
    expect((await facade.json(SUBSCRIPTIONS))["Members@odata.count"]).toBe(0);
  });
});

describe("delivery", () => {
  it("pushes every member's events to a destination while another one hangs", async () => {
    const events = new FakeMemberEvents();
    facade = await startFacade(
      NAMES.map((name) => ({ name })),
      { events },
    );
    const { base, accepted, attempts } = await destinations((path) => (path === "/dead" ? "hang" : 200));
    await subscribe({ Destination: `${base}/dead`, DeliveryRetryPolicy: "RetryForever" });
    await subscribe({ Destination: `${base}/fast`, Context: "fast one", RegistryPrefixes: ["ResourceEvent"] });
    for (let n = 1; n <= 4; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
    await waitFor(async () => (memberEvents(accepted, "/fast").length >= 20 ? true : undefined), "20 events at /fast");
    const fast = memberEvents(accepted, "/fast");
    expect(fast).toHaveLength(20);
    for (const name of NAMES) {
      expect(fast.filter((id) => id.startsWith(`${name}-`))).toEqual([1, 2, 3, 4].map((n) => `${name}-${n}`));
    }
    expect(accepted.filter((r) => r.path === "/fast").every((r) => r.body.Context === "fast one")).toBe(true);
    // The dead destination got one POST and still holds it; nobody waited for it.
    expect(attempts.get("/dead")).toBe(1);
    expect(memberEvents(accepted, "/dead")).toEqual([]);
  });

  it("retries a failing destination, then suspends or deletes it as its policy says", async () => {
    const events = new FakeMemberEvents();
    facade = await startFacade([{ name: "bmc1" }], { events });
    const patch = await facade.app.inject({
      method: "PATCH",
      url: "/redfish/v1/EventService",
      headers: CONSOLE,
      payload: { DeliveryRetryAttempts: 2, DeliveryRetryIntervalSeconds: 1 },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json()).toMatchObject({ DeliveryRetryAttempts: 2, DeliveryRetryIntervalSeconds: 1 });
    const { base, accepted, attempts } = await destinations((path, attempt) =>
      path === "/flaky" ? (attempt <= 2 ? 503 : 204) : 500,
    );
    await subscribe({ Destination: `${base}/flaky` });
    const suspended = await subscribe({ Destination: `${base}/down`, DeliveryRetryPolicy: "SuspendRetries" });
    const terminated = await subscribe({ Destination: `${base}/gone`, DeliveryRetryPolicy: "TerminateAfterRetries" });
    events.push("peer-bmc1", record("bmc1", 1));
    await waitFor(async () => (memberEvents(accepted, "/flaky").length >= 1 ? true : undefined), "the flaky delivery");
    expect(memberEvents(accepted, "/flaky")).toEqual(["bmc1-1"]);
    expect(attempts.get("/flaky")).toBe(3);
    const f = facade;
    await waitFor(
      async () => ((await f.get(terminated)).statusCode === 404 ? true : undefined),
      "the terminated subscription gone",
    );
    const down = await f.json(suspended);
    expect((down.Status as { State: string }).State).toBe("Disabled");
    // One try and two retries each, then no more.
    expect(attempts.get("/down")).toBe(3);
    expect(attempts.get("/gone")).toBe(3);
    const bad = await f.app.inject({
      method: "PATCH",
      url: "/redfish/v1/EventService",
      headers: CONSOLE,
      payload: { DeliveryRetryAttempts: 99, ServiceEnabled: false },
    });
    expect(messageIds(bad)).toEqual(["PropertyValueOutOfRange", "PropertyNotWritable"]);
  });

  it("delivers SubmitTestEvent to subscribers", async () => {
    facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
    const { base, accepted } = await destinations(() => 200);
    await subscribe({ Destination: `${base}/console`, RegistryPrefixes: ["Conclave"] });
    const submitted = await post("/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", {
      MessageId: "Conclave.1.0.TestEvent",
      Message: "Hello from the test",
      MessageSeverity: "Warning",
    });
    expect(submitted.statusCode).toBe(204);
    const got = await waitFor(
      async () => accepted.flatMap((r) => r.body.Events).find((e) => e.Message === "Hello from the test"),
      "the test event",
    );
    expect(got).toMatchObject({ MessageId: "Conclave.1.0.TestEvent", MessageSeverity: "Warning" });
    const bad = await post("/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", {
      MessageSeverity: "Loud",
    });
    expect(messageIds(bad)).toEqual(["ActionParameterValueNotInList"]);
  });
});

describe("a failover", () => {
  it("resumes every subscription on the next PoC where its destination left off", async () => {
    const events = new FakeMemberEvents();
    const subscriptions = createMemorySubscriptionStore();
    facade = await startFacade(
      NAMES.map((name) => ({ name })),
      { events, subscriptions },
    );
    const { base, accepted } = await destinations(() => 200);
    const uri = await subscribe({ Destination: `${base}/console` });
    const id = uri.split("/").at(-1) as string;
    for (let n = 1; n <= 3; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
    await waitFor(async () => (memberEvents(accepted, "/console").length >= 15 ? true : undefined), "15 events");
    // The PoC has committed what the destination accepted (its resume point) before it fails.
    await waitFor(
      async () => (NAMES.every((name) => subscriptions.get(id)?.delivered?.[name]?.[1] === 3) ? true : undefined),
      "the delivery progress committed",
    );
    await facade.app.close();
    for (let n = 4; n <= 6; n++) for (const name of NAMES) events.push(`peer-${name}`, record(name, n));
    const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
    const next = buildApp({ cluster: facade.cluster, auth, events, subscriptions, timeouts: TEST_TIMEOUTS });
    apps.push(next);
    await next.ready();
    await waitFor(async () => (memberEvents(accepted, "/console").length >= 30 ? true : undefined), "30 events");
    const delivered = memberEvents(accepted, "/console");
    expect(delivered).toHaveLength(30);
    for (const name of NAMES) {
      expect(delivered.filter((e) => e.startsWith(`${name}-`))).toEqual([1, 2, 3, 4, 5, 6].map((n) => `${name}-${n}`));
    }
  });
});

describe.skipIf(!hasShared)("against the DMTF schemas", () => {
  it("serves valid EventDestination, collection and EventService", async () => {
    const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
    facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
    const uri = await subscribe({
      Destination: "https://console.example/events",
      Context: "rack7",
      MessageIds: ["ResourceEvent.1.4.3.ResourceChanged"],
      OriginResources: [{ "@odata.id": "/redfish/v1/Systems/bmc1_system" }],
    });
    for (const path of [uri, SUBSCRIPTIONS, "/redfish/v1/EventService"]) {
      expect(validator.validate(await facade.json(path)), path).toEqual([]);
    }
  });
});
