// The operation journal end to end: buildApp over simulated members, each owner with its ledger.
// The simulators count executions per operation id, which proves exactly-once.
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  createMemoryOperationStore,
  JOURNALED_BODY_MAX_BYTES,
  OPERATIONS_UNFINISHED_MAX,
  type OperationRecord,
  type OperationStore,
  UpstreamError,
} from "../../src/index.ts";
import { CONSOLE, type Facade, messageIds, startFacade, threeMembers, waitFor } from "../support/facade-fixture.ts";

let facade: Facade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

const RESET_PATH = "/redfish/v1/Systems/bmc1_system/Actions/ComputerSystem.Reset";

function send(
  method: "PATCH" | "POST" | "DELETE",
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const app = (facade as Facade).app;
  return app.inject({
    method,
    url,
    headers: { ...CONSOLE, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

interface Counters {
  operations: Record<string, number>;
  byOperationId: Record<string, { count: number; operations: string[] }>;
}

async function counters(name: string): Promise<Counters> {
  const response = await (facade as Facade).cluster.simulator(name).inject({ method: "GET", url: "/_sim/counters" });
  return response.json() as Counters;
}

function journaled(store: OperationStore) {
  return store.operations().filter((op) => op.taskId === null);
}

describe("the operation journal", () => {
  it("journals a PATCH before sending it, honours If-Match at the owner, and runs it once", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store, timeouts: { memberCacheTtlMs: 0 } });
    facade.cluster.setTerm(4);
    const before = await facade.get("/redfish/v1/Systems/bmc1_system");
    const stale = await send("PATCH", "/redfish/v1/Systems/bmc1_system", { AssetTag: "x" }, { "if-match": '"stale"' });
    expect(stale.statusCode).toBe(412);
    const patch = await send(
      "PATCH",
      "/redfish/v1/Systems/bmc1_system",
      { AssetTag: "rack7-u12" },
      { "if-match": before.headers.etag as string },
    );
    expect(patch.statusCode).toBe(200);
    expect(patch.json()["@odata.id"]).toBe("/redfish/v1/Systems/bmc1_system");
    const [refused, done] = journaled(store);
    expect(refused).toMatchObject({ phase: "completed", acceptedTerm: 4, result: { statusCode: 412 } });
    expect(done).toMatchObject({
      phase: "completed",
      memberId: "peer-bmc1",
      facadePath: "/redfish/v1/Systems/bmc1_system",
      action: { kind: "http", request: { method: "PATCH", path: "/redfish/v1/Systems/system" } },
      result: { statusCode: 200 },
    });
    const execution = facade.cluster.executions.at(-1);
    expect(execution?.execution).toMatchObject({ operationId: done?.id, term: 4 });
    expect((await counters("bmc1")).byOperationId[done?.id as string]?.count).toBe(1);
    expect((await facade.json("/redfish/v1/Systems/bmc1_system")).AssetTag).toBe("rack7-u12");
  });

  it("replays the journaled outcome for a repeated Idempotency-Key, and refuses the key on another request", async () => {
    facade = await startFacade(threeMembers());
    const key = { "idempotency-key": "console-42" };
    const first = await send("POST", RESET_PATH, { ResetType: "ForceRestart" }, key);
    expect(first.statusCode).toBe(204);
    const again = await send("POST", RESET_PATH, { ResetType: "ForceRestart" }, key);
    expect(again.statusCode).toBe(204);
    const counted = await counters("bmc1");
    expect(counted.operations["ComputerSystem.Reset"]).toBe(1);
    expect(Object.values(counted.byOperationId).map((entry) => entry.count)).toEqual([1]);
    const other = await send(
      "POST",
      "/redfish/v1/Systems/bmc3_system/Actions/ComputerSystem.Reset",
      { ResetType: "On" },
      key,
    );
    expect(other.statusCode).toBe(409);
    expect(messageIds(other)).toEqual(["HeaderInvalid"]);
    const tooLong = await send("POST", RESET_PATH, { ResetType: "On" }, { "idempotency-key": "k".repeat(129) });
    expect(tooLong.statusCode).toBe(400);
    expect((await counters("bmc3")).operations["ComputerSystem.Reset"]).toBeUndefined();
  });

  it("a repeated Idempotency-Key while the first request still runs waits for its outcome", async () => {
    facade = await startFacade(threeMembers());
    await facade.json("/redfish/v1/Systems/bmc1_system");
    await facade.cluster.setFaults("bmc1", { latencyMs: 300 });
    const key = { "idempotency-key": "console-43" };
    const [first, second] = await Promise.all([
      send("POST", RESET_PATH, { ResetType: "ForceRestart" }, key),
      new Promise((r) => setTimeout(r, 50)).then(() => send("POST", RESET_PATH, { ResetType: "ForceRestart" }, key)),
    ]);
    await facade.cluster.setFaults("bmc1", { latencyMs: 0 });
    expect([first.statusCode, second.statusCode]).toEqual([204, 204]);
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBe(1);
    expect(facade.cluster.executions.length).toBe(1);
  });

  it("refuses a body larger than JOURNALED_BODY_MAX_BYTES with 413, an oversize If-Match with 400, and sends nothing", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    const response = await send("PATCH", "/redfish/v1/Systems/bmc1_system", {
      AssetTag: "x".repeat(JOURNALED_BODY_MAX_BYTES),
    });
    expect(response.statusCode).toBe(413);
    expect(messageIds(response)).toEqual(["PayloadTooLarge"]);
    const ifMatch = await send(
      "PATCH",
      "/redfish/v1/Systems/bmc1_system",
      { AssetTag: "x" },
      { "if-match": `"${"e".repeat(2_000)}"` },
    );
    expect(ifMatch.statusCode).toBe(400);
    expect(messageIds(ifMatch)).toEqual(["HeaderInvalid"]);
    expect(store.operations()).toEqual([]);
    expect(facade.cluster.executions).toEqual([]);
  });

  it("answers 503 with Retry-After when the journal is full, and sends nothing", async () => {
    const store = createMemoryOperationStore();
    for (let n = 0; n < OPERATIONS_UNFINISHED_MAX; n++) {
      await store.commit({
        type: "operation.accept",
        body: {
          id: `op-${n.toString(16).padStart(16, "0")}`,
          memberId: "peer-bmc2",
          action: { kind: "http", request: { method: "POST", path: "/x", headers: {} } },
          facadePath: "/x",
          term: 9,
          taskId: null,
          idempotencyKey: null,
          atMs: Date.now(),
        },
      });
    }
    facade = await startFacade(threeMembers(), { operations: store });
    // Their owner cannot say what happened yet, so they stay unfinished.
    const cluster = facade.cluster as { operationStatus: Facade["cluster"]["operationStatus"] };
    cluster.operationStatus = async (memberId) => {
      throw new UpstreamError("unreachable", memberId, "the agent is down");
    };
    const response = await send("POST", RESET_PATH, { ResetType: "On" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBeUndefined();
  });

  it("a stale PoC's write is refused by the owner: 503, failed as stale-term, never run", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    facade.cluster.setTerm(3);
    // The owner has seen a newer PoC (its own Raft term is 5).
    facade.cluster.setMemberTerm("bmc1", 5);
    const response = await send("POST", RESET_PATH, { ResetType: "ForceOff" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(journaled(store)[0]).toMatchObject({ phase: "failed", failure: { reason: "stale-term" } });
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBeUndefined();
  });

  it("an owner that does not answer in time: 504, the operation failed with a reason", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store, timeouts: { memberWriteTimeoutMs: 200 } });
    // Discovery first: the slow BMC below delays only the write.
    await facade.json("/redfish/v1/Systems/bmc1_system");
    await facade.cluster.setFaults("bmc1", { latencyMs: 600 });
    const response = await send("POST", RESET_PATH, { ResetType: "ForceOff" });
    expect(response.statusCode).toBe(504);
    expect(messageIds(response)).toEqual(["OperationTimeout"]);
    expect(journaled(store)[0]).toMatchObject({ phase: "failed", failure: { reason: "timeout" } });
    await facade.cluster.setFaults("bmc1", { latencyMs: 0 });
  });

  it("an unreachable owner: 503 with Retry-After, the operation failed as unreachable", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    const cluster = facade.cluster as { executeOperation: Facade["cluster"]["executeOperation"] };
    cluster.executeOperation = async (memberId) => {
      throw new UpstreamError("unreachable", memberId, "the agent is down");
    };
    const response = await send("POST", RESET_PATH, { ResetType: "ForceOff" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(journaled(store)[0]).toMatchObject({ phase: "failed", failure: { reason: "unreachable" } });
  });
});

describe("a new PoC settles what an earlier PoC left unfinished", () => {
  function acceptedReset(id: string, term: number) {
    return {
      type: "operation.accept" as const,
      body: {
        id,
        memberId: "peer-bmc1",
        action: {
          kind: "http" as const,
          request: {
            method: "POST" as const,
            path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ ResetType: "ForceRestart" }),
          },
        },
        facadePath: RESET_PATH,
        term,
        taskId: null,
        idempotencyKey: "console-7",
        atMs: Date.now(),
      },
    };
  }

  it("one the owner ran is completed with the owner's result, and not run again", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    // The old PoC (term 1) accepted it and the owner ran it; the PoC died before committing the outcome.
    facade.cluster.setQuorum(false);
    await store.commit(acceptedReset("op-00000000000000a1", 1));
    const answer = await facade.cluster.executeOperation("peer-bmc1", {
      operationId: "op-00000000000000a1",
      term: 1,
      action: (store.operation("op-00000000000000a1") as OperationRecord).action,
      timeoutMs: 1_000,
    });
    expect(answer.kind).toBe("executed");
    facade.cluster.setTerm(2);
    facade.cluster.setQuorum(true);
    const settled = await waitFor(async () => {
      const op = store.operation("op-00000000000000a1");
      return op?.phase === "accepted" ? undefined : op;
    }, "the operation settled");
    expect(settled).toMatchObject({ phase: "completed", result: { statusCode: 204 } });
    expect((await counters("bmc1")).byOperationId["op-00000000000000a1"]?.count).toBe(1);
    // The console's retry with its key gets the outcome, without a second run.
    const retry = await send("POST", RESET_PATH, { ResetType: "ForceRestart" }, { "idempotency-key": "console-7" });
    expect(retry.statusCode).toBe(204);
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBe(1);
  });

  it("one the owner never ran is failed visibly, and the old PoC's late send is refused", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    facade.cluster.setQuorum(false);
    await store.commit(acceptedReset("op-00000000000000b2", 1));
    facade.cluster.setTerm(2);
    facade.cluster.setQuorum(true);
    const settled = await waitFor(async () => {
      const op = store.operation("op-00000000000000b2");
      return op?.phase === "accepted" ? undefined : op;
    }, "the operation settled");
    expect(settled).toMatchObject({ phase: "failed", failure: { reason: "not-run" } });
    // The status question fenced term 1: the old PoC's send arriving now is refused.
    const late = await facade.cluster.executeOperation("peer-bmc1", {
      operationId: "op-00000000000000b2",
      term: 1,
      action: settled.action,
      timeoutMs: 1_000,
    });
    expect(late).toEqual({ kind: "stale-term", newestTerm: 2 });
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBeUndefined();
    const retry = await send("POST", RESET_PATH, { ResetType: "ForceRestart" }, { "idempotency-key": "console-7" });
    expect(retry.statusCode).toBe(503);
  });

  it("an operation of a task cancelled meanwhile is settled too, not left to fill the journal", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    facade.cluster.setQuorum(false);
    const action = acceptedReset("op-00000000000000d4", 1).body.action;
    await store.commit({
      type: "task.create",
      body: {
        id: "t1",
        kind: "aggregate-reset",
        name: "Aggregate reset",
        payload: {
          targetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
          httpOperation: "POST",
          jsonBody: "{}",
        },
        stopOnFailure: false,
        subtasks: [
          {
            id: "t1-1",
            memberId: "peer-bmc1",
            targetUri: "/redfish/v1/Systems/bmc1_system",
            action,
            operationId: "op-00000000000000d4",
          },
        ],
        stages: [{ subtaskIds: ["t1-1"], delayBeforeMs: 0, label: "batch 1 of 1", handOverFrom: null }],
        atMs: Date.now(),
      },
    });
    await store.commit({
      type: "operation.accept",
      body: { ...acceptedReset("op-00000000000000d4", 1).body, facadePath: "", taskId: "t1", idempotencyKey: null },
    });
    await store.commit({
      type: "task.advance",
      body: { id: "t1", subtasks: [], messages: [], finish: "Cancelled", atMs: Date.now() },
    });
    facade.cluster.setTerm(2);
    facade.cluster.setQuorum(true);
    const settled = await waitFor(async () => {
      const op = store.operation("op-00000000000000d4");
      return op?.phase === "accepted" ? undefined : op;
    }, "the operation settled");
    // Its task no longer runs, so it is not sent again.
    expect(settled).toMatchObject({ phase: "failed", failure: { reason: "not-run" } });
    expect((await counters("bmc1")).operations["ComputerSystem.Reset"]).toBeUndefined();
  });

  it("one whose owner restarted mid-run is failed as outcome-unknown", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(threeMembers(), { operations: store });
    facade.cluster.setQuorum(false);
    await store.commit(acceptedReset("op-00000000000000c3", 1));
    const ledger = facade.cluster.ledgers.get("bmc1");
    ledger?.begin({ operationId: "op-00000000000000c3", term: 1 }, 1, Date.now());
    ledger?.finishUnknown("op-00000000000000c3", Date.now());
    facade.cluster.setTerm(2);
    facade.cluster.setQuorum(true);
    const settled = await waitFor(async () => {
      const op = store.operation("op-00000000000000c3");
      return op?.phase === "accepted" ? undefined : op;
    }, "the operation settled");
    expect(settled).toMatchObject({ phase: "failed", failure: { reason: "outcome-unknown" } });
    const retry = await send("POST", RESET_PATH, { ResetType: "ForceRestart" }, { "idempotency-key": "console-7" });
    expect(retry.statusCode).toBe(502);
    expect(messageIds(retry)).toEqual(["UndeterminedFault"]);
  });
});
