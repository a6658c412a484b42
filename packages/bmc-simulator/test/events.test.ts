// Proves the SSE stream emits Redfish events on power changes, task progress and updates, and resumes with Last-Event-ID.
import { afterEach, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../src/index.ts";
import { ADMIN, FAST_TIMING, waitFor } from "./helpers.ts";
import { openSse, type SseReader } from "./sse-client.ts";

let running: RunningSimulator | undefined;
const readers: SseReader[] = [];
afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await running?.close();
  running = undefined;
});

async function open(headers: Record<string, string> = {}): Promise<SseReader> {
  const reader = await openSse(`${running?.url}/redfish/v1/EventService/SSE`, { ...ADMIN, ...headers });
  readers.push(reader);
  return reader;
}

function messageIds(reader: SseReader): string[] {
  return reader.events.map((e) => (e.data.Events as Array<{ MessageId: string }>)[0]?.MessageId ?? "");
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${running?.url}${path}`, {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("EventService SSE", () => {
  it("advertises the SSE URI and requires credentials for the stream", async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const service = (await (
      await fetch(`${running.url}/redfish/v1/EventService`, { headers: ADMIN })
    ).json()) as Record<string, unknown>;
    expect(service.ServerSentEventUri).toBe("/redfish/v1/EventService/SSE");
    const anonymous = await fetch(`${running.url}/redfish/v1/EventService/SSE`);
    expect(anonymous.status).toBe(401);
  });

  it("emits power state changes with increasing ids, then resumes after Last-Event-ID", async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const reader = await open();
    expect(reader.status).toBe(200);
    const response = await post("/redfish/v1/Systems/system/Actions/ComputerSystem.Reset", { ResetType: "ForceOff" });
    expect(response.status).toBe(204);
    await waitFor(() => (reader.events.length >= 2 ? true : undefined), "two power events");
    expect(messageIds(reader)).toEqual([
      "ResourceEvent.1.4.3.ResourcePoweringOff",
      "ResourceEvent.1.4.3.ResourcePoweredOff",
    ]);
    const [first, second] = reader.events;
    expect(second?.id).toBeGreaterThan(first?.id ?? Number.POSITIVE_INFINITY);
    expect(reader.events[0]?.data).toMatchObject({ "@odata.type": "#Event.v1_13_0.Event" });
    const records = reader.events[1]?.data.Events as Array<Record<string, unknown>> | undefined;
    const record = records?.[0];
    expect(record?.OriginOfCondition).toEqual({ "@odata.id": "/redfish/v1/Systems/system" });
    reader.close();

    // Events happen while no one listens; a client resuming from the first id gets all it missed.
    await post("/redfish/v1/Systems/system/Actions/ComputerSystem.Reset", { ResetType: "On" });
    await waitFor(async () => {
      const system = (await (
        await fetch(`${running?.url}/redfish/v1/Systems/system`, { headers: ADMIN })
      ).json()) as Record<string, unknown>;
      return system.PowerState === "On" ? true : undefined;
    }, "the system to be on");
    const resumed = await open({ "last-event-id": String(first?.id) });
    await waitFor(() => (resumed.events.length >= 3 ? true : undefined), "the missed events");
    expect(resumed.events.map((e) => e.id)).toEqual([2, 3, 4].map((n) => (first?.id ?? 0) + n - 1));
    expect(messageIds(resumed)).toEqual([
      "ResourceEvent.1.4.3.ResourcePoweredOff",
      "ResourceEvent.1.4.3.ResourcePoweringOn",
      "ResourceEvent.1.4.3.ResourcePoweredOn",
    ]);
  });

  it("emits task progress and the firmware update over SSE", async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const reader = await open();
    const response = await post("/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate", {
      ImageURI: "http://images.example/bmc-3.0.0.tar",
    });
    expect(response.status).toBe(202);
    await waitFor(
      () => (messageIds(reader).includes("TaskEvent.1.0.5.TaskCompletedOK") ? true : undefined),
      "task completion",
    );
    const ids = messageIds(reader);
    expect(ids[0]).toBe("TaskEvent.1.0.5.TaskStarted");
    expect(ids).toContain("TaskEvent.1.0.5.TaskProgressChanged");
    expect(ids).toContain("Update.1.3.0.UpdateSuccessful");
  });

  it("keeps only eventBufferSize events and at most maxSseClients streams", async () => {
    running = await startSimulator({
      logger: false,
      timing: FAST_TIMING,
      limits: { eventBufferSize: 2, maxSseClients: 1 },
    });
    for (let i = 0; i < 5; i++) await post("/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", {});
    expect(running.app.simulator.events.events().map((e) => e.id)).toEqual([4, 5]);
    const reader = await open({ "last-event-id": "0" });
    await waitFor(() => (reader.events.length >= 2 ? true : undefined), "the buffered events");
    expect(reader.events.map((e) => e.id)).toEqual([4, 5]);
    const refused = await fetch(`${running.url}/redfish/v1/EventService/SSE`, { headers: ADMIN });
    expect(refused.status).toBe(503);
  });
});
