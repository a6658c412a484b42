// Proves the fault knobs (latency, seeded error rate, hang, down) and the per-operation execution counters.
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { OPERATION_ID_HEADER, type RunningSimulator, startSimulator } from "../src/index.ts";
import { ADMIN, FAST_TIMING, testSimulator, waitFor } from "./helpers.ts";

let app: FastifyInstance | undefined;
let running: RunningSimulator | undefined;
afterEach(async () => {
  await app?.close();
  await running?.close();
  app = undefined;
  running = undefined;
});

const RESET = "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset";

async function setFaults(instance: FastifyInstance, faults: Record<string, unknown>): Promise<void> {
  const response = await instance.inject({ method: "POST", url: "/_sim/faults", payload: faults });
  expect(response.statusCode).toBe(200);
}

async function statuses(instance: FastifyInstance, count: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < count; i++)
    codes.push((await instance.inject({ url: "/redfish/v1/Systems", headers: ADMIN })).statusCode);
  return codes;
}

describe("fault knobs", () => {
  it("reads, sets and clears faults; rejects unknown knobs with a clear message", async () => {
    app = testSimulator();
    expect((await app.inject({ url: "/_sim/faults" })).json()).toMatchObject({
      latencyMs: 0,
      errorRate: 0,
      hang: false,
      down: false,
    });
    const bad = await app.inject({ method: "POST", url: "/_sim/faults", payload: { errorRate: 2 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe("errorRate must be a number from 0 to 1, got 2");
    const unknown = await app.inject({ method: "POST", url: "/_sim/faults", payload: { slow: true } });
    expect(unknown.json().error).toBe('unknown fault knob "slow"');
    await setFaults(app, { latencyMs: 30 });
    expect((await app.inject({ method: "DELETE", url: "/_sim/faults" })).json().latencyMs).toBe(0);
  });

  it("adds latency to Redfish requests but not to the admin endpoint", async () => {
    app = testSimulator();
    await setFaults(app, { latencyMs: 50 });
    const started = performance.now();
    const response = await app.inject({ url: "/redfish/v1/Systems", headers: ADMIN });
    // Only a lower bound: a timer never fires early by more than its clock granularity.
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(response.statusCode).toBe(200);
  });

  it("fails the same requests for the same seed, with a Redfish 500, and does not execute them", async () => {
    app = testSimulator();
    await setFaults(app, { errorRate: 0.5, errorSeed: 42 });
    const first = await statuses(app, 20);
    await setFaults(app, { errorSeed: 42 });
    const second = await statuses(app, 20);
    expect(second).toEqual(first);
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(2);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(2);
    await setFaults(app, { errorRate: 1 });
    const failed = await app.inject({ method: "POST", url: RESET, headers: ADMIN, payload: { ResetType: "ForceOff" } });
    expect(failed.statusCode).toBe(500);
    expect(failed.json().error.code).toBe("Base.1.19.0.InternalError");
    expect((await app.inject({ url: "/_sim/counters" })).json().operations).toEqual({});
  });

  it("errorPhase after executes the operation, then answers 500: the case a retry must not repeat", async () => {
    app = testSimulator();
    await setFaults(app, { errorRate: 1, errorPhase: "after" });
    const response = await app.inject({
      method: "POST",
      url: RESET,
      headers: { ...ADMIN, [OPERATION_ID_HEADER]: "op-7" },
      payload: { ResetType: "ForceOff" },
    });
    expect(response.statusCode).toBe(500);
    const counters = (await app.inject({ url: "/_sim/counters" })).json();
    expect(counters.byOperationId["op-7"]).toEqual({
      count: 1,
      operations: [`ComputerSystem.Reset /redfish/v1/Systems/system`],
    });
  });

  it("hang holds requests unanswered and unexecuted until cleared", async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const url = running.url;
    await fetch(`${url}/_sim/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"hang":true}',
    });
    const hung = fetch(`${url}${RESET}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: '{"ResetType":"ForceOff"}',
    }).then(
      (r) => `answered ${r.status}`,
      () => "dropped",
    );
    const early = await Promise.race([hung, new Promise((r) => setTimeout(() => r("still waiting"), 150))]);
    expect(early).toBe("still waiting");
    const cleared = await fetch(`${url}/_sim/faults`, { method: "DELETE" });
    expect(cleared.status).toBe(200);
    expect(await hung).toBe("dropped");
    expect(((await (await fetch(`${url}/_sim/counters`)).json()) as Record<string, unknown>).operations).toEqual({});
    expect((await fetch(`${url}/redfish/v1/Systems`, { headers: ADMIN })).status).toBe(200);
  });

  it('down "reset" drops Redfish connections while the admin endpoint still answers', async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const url = running.url;
    await fetch(`${url}/_sim/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"down":"reset"}',
    });
    await expect(fetch(`${url}/redfish/v1/Systems`, { headers: ADMIN })).rejects.toThrow();
    expect((await fetch(`${url}/_sim/faults`)).status).toBe(200);
    await fetch(`${url}/_sim/faults`, { method: "DELETE" });
    expect((await fetch(`${url}/redfish/v1/Systems`, { headers: ADMIN })).status).toBe(200);
  });

  it('down "refuse" closes the listener (connection refused) and reopens it after downForMs', async () => {
    running = await startSimulator({ logger: false, timing: FAST_TIMING });
    const url = running.url;
    const set = await fetch(`${url}/_sim/faults`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: '{"down":"refuse","downForMs":300}',
    });
    expect(set.status).toBe(200);
    const refused = await waitFor(
      () =>
        fetch(`${url}/redfish/v1`).then(
          () => undefined,
          (error: Error & { cause?: { code?: string } }) => error.cause?.code,
        ),
      "the listener to close",
    );
    expect(refused).toBe("ECONNREFUSED");
    await waitFor(
      () =>
        fetch(`${url}/redfish/v1`).then(
          (r) => (r.status === 200 ? true : undefined),
          () => undefined,
        ),
      "the listener to reopen",
    );
    expect(((await (await fetch(`${url}/_sim/faults`)).json()) as Record<string, unknown>).down).toBe(false);
  });
});

describe("execution counters", () => {
  it("count each executed operation by name, by target and by X-Conclave-Operation-Id", async () => {
    app = testSimulator();
    const headers = { ...ADMIN, [OPERATION_ID_HEADER]: "op-1" };
    await app.inject({ method: "POST", url: RESET, headers, payload: { ResetType: "ForceOff" } });
    await app.inject({ method: "POST", url: RESET, headers: ADMIN, payload: { ResetType: "On" } });
    await app.inject({
      method: "PATCH",
      url: "/redfish/v1/Chassis/chassis",
      headers: { ...ADMIN, [OPERATION_ID_HEADER]: "op-2" },
      payload: { AssetTag: "a" },
    });
    // Rejected requests are not executions.
    await app.inject({ method: "POST", url: RESET, headers, payload: { ResetType: "Bogus" } });
    const counters = (await app.inject({ url: "/_sim/counters" })).json();
    expect(counters.operations).toEqual({ "ComputerSystem.Reset": 2, PATCH: 1 });
    expect(counters.byTarget).toEqual({
      "ComputerSystem.Reset /redfish/v1/Systems/system": 2,
      "PATCH /redfish/v1/Chassis/chassis": 1,
    });
    expect(counters.byOperationId).toEqual({
      "op-1": { count: 1, operations: ["ComputerSystem.Reset /redfish/v1/Systems/system"] },
      "op-2": { count: 1, operations: ["PATCH /redfish/v1/Chassis/chassis"] },
    });
    await app.inject({ method: "DELETE", url: "/_sim/counters" });
    expect((await app.inject({ url: "/_sim/counters" })).json().operations).toEqual({});
  });
});
