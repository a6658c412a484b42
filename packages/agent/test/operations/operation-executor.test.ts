// Proves the owner's side of the operation journal against the BMC simulator in-process: an operation runs once with x-conclave-operation-id (the simulator's counters), a resend and a restarted executor on the same state directory answer the remembered result without running it again, a restart mid-run answers "unknown", stale PoCs are refused by the newest term seen and by the owner's own Raft term, a status query fences older terms, a BMC that does not answer leaves the outcome unknown (never rerun) while a refused connection lets it run later, a firmware push streams the staged file to MultipartHttpPushUri and removes it, a lost ledger makes the owner answer "unknown" instead of running, and the RPC handler serves members only.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import type { OperationExecution } from "@conclave/redfish-facade";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bmcCredentials } from "../../src/bmc/credentials.ts";
import { type BmcClient, createBmcClient } from "../../src/bmc/index.ts";
import { BmcTimeoutError, BmcUnreachableError, PeerNotAllowedError } from "../../src/errors.ts";
import type { LocalBmc } from "../../src/facade-host/member-bmc-request.ts";
import { createBmcImagePush, type ImagePushTarget } from "../../src/operations/bmc-image-push.ts";
import { ImageStaging, stagedImagesDirOf } from "../../src/operations/image-staging.ts";
import {
  OPERATION_ID_HEADER,
  OperationExecutor,
  type OperationExecutorInit,
  operationRpcHandler,
} from "../../src/operations/operation-executor.ts";
import { ledgerFileOf } from "../../src/operations/operation-ledger-file.ts";

const CREDENTIALS = bmcCredentials("admin", "admin");

let simulator: RunningSimulator;
let systemPath: string;
let stateDir: string;
let localTerm = 1;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  // Firmware updates finish in a few steps of a few ms: one test's update never blocks the next.
  simulator = await startSimulator({
    port: 0,
    host: "127.0.0.1",
    logger: false,
    timing: { updateStepMs: 5, updateStepCount: 2 },
  });
  const systems = (await (
    await fetch(`${simulator.url}/redfish/v1/Systems`, { headers: { authorization: basic() } })
  ).json()) as { Members: { "@odata.id": string }[] };
  systemPath = systems.Members[0]?.["@odata.id"] as string;
});
afterAll(async () => {
  await simulator.close();
});
beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "conclave-executor-"));
  localTerm = 1;
  await fetch(`${simulator.url}/_sim/counters`, { method: "DELETE" });
});
afterEach(async () => {
  await fetch(`${simulator.url}/_sim/faults`, { method: "DELETE" });
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(stateDir, { recursive: true, force: true });
});

function basic(): string {
  return `Basic ${Buffer.from("admin:admin").toString("base64")}`;
}

function bmcClient(requestTimeoutMs = 5_000): BmcClient {
  const bmc = createBmcClient({ redfishUrl: simulator.url, credentials: CREDENTIALS, requestTimeoutMs });
  closers.push(() => bmc.close());
  return bmc;
}

function imagePush(): ImagePushTarget {
  const push = createBmcImagePush({ redfishUrl: simulator.url, credentials: CREDENTIALS });
  closers.push(() => push.close());
  return push;
}

/** An executor over the simulator and a state directory, as the daemon builds it. */
function executor(overrides: Partial<OperationExecutorInit> = {}): {
  executor: OperationExecutor;
  staging: ImageStaging;
} {
  const staging = new ImageStaging({ dir: stagedImagesDirOf(stateDir) });
  closers.push(() => staging.close());
  return {
    staging,
    executor: new OperationExecutor({
      stateDir,
      bmc: bmcClient(),
      imagePush: imagePush(),
      staging,
      localTerm: () => localTerm,
      nodeName: "bmc1",
      ...overrides,
    }),
  };
}

function reset(operationId: string, term: number, timeoutMs = 5_000): OperationExecution {
  return {
    operationId,
    term,
    timeoutMs,
    action: {
      kind: "http",
      request: {
        method: "POST",
        path: `${systemPath}/Actions/ComputerSystem.Reset`,
        headers: { "content-type": "application/json" },
        body: '{"ResetType":"ForceRestart"}',
      },
    },
  };
}

async function runs(operationId: string): Promise<number> {
  const counters = (await (await fetch(`${simulator.url}/_sim/counters`)).json()) as {
    byOperationId: Record<string, { count: number }>;
  };
  return counters.byOperationId[operationId]?.count ?? 0;
}

/** Waits (bounded) until the simulator runs no update task: it takes one image at a time. */
async function updatesIdle(): Promise<void> {
  const get = async (path: string) =>
    (await (await fetch(`${simulator.url}${path}`, { headers: { authorization: basic() } })).json()) as {
      Members?: { "@odata.id": string }[];
      TaskState?: string;
    };
  for (let attempt = 0; attempt < 200; attempt++) {
    const tasks = (await get("/redfish/v1/TaskService/Tasks")).Members ?? [];
    const states = await Promise.all(tasks.map(async (task) => (await get(task["@odata.id"])).TaskState));
    if (states.every((state) => state !== "Running" && state !== "New" && state !== "Starting")) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the simulator's update task did not end");
}

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  await fetch(`${simulator.url}/_sim/faults`, {
    method: "POST",
    body: JSON.stringify(faults),
    headers: { "content-type": "application/json" },
  });
}

describe("running an operation on the owner", () => {
  it("runs it once, with the operation id header, and answers a resend with the remembered result", async () => {
    const { executor: owner } = executor();
    const first = await owner.execute(reset("op-0000000000000a01", 1));
    expect(first).toMatchObject({ kind: "executed", result: { statusCode: expect.any(Number), truncated: false } });
    const statusCode = (first as { result: { statusCode: number } }).result.statusCode;
    expect(statusCode).toBeGreaterThanOrEqual(200);
    expect(statusCode).toBeLessThan(300);
    expect(await runs("op-0000000000000a01")).toBe(1);
    expect(await owner.execute(reset("op-0000000000000a01", 1))).toEqual(first);
    expect(await owner.status({ operationId: "op-0000000000000a01", term: 1 })).toEqual(first);
    expect(await runs("op-0000000000000a01")).toBe(1);
  });

  it("never runs an id twice across a restart of the executor on the same state directory", async () => {
    const first = executor().executor;
    const answer = await first.execute(reset("op-0000000000000a02", 2));
    // A new process: a new executor, new clients, the same state directory.
    const second = executor().executor;
    expect(await second.execute(reset("op-0000000000000a02", 2))).toEqual(answer);
    expect(await runs("op-0000000000000a02")).toBe(1);
  });

  it("answers 'unknown' for an id that was running when the owner died, and never runs it", async () => {
    let release: (() => void) | undefined;
    const hanging: LocalBmc = {
      request: () =>
        new Promise((_resolve, reject) => {
          release = () => reject(new Error("the process died"));
        }),
    };
    const dying = executor({ bmc: hanging }).executor;
    const inFlight = dying.execute(reset("op-0000000000000a03", 1)).catch(() => undefined);
    // The ledger is on disk before the BMC is asked: wait until the request is out.
    for (let i = 0; i < 200 && release === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(release).toBeDefined();
    const restarted = executor().executor;
    expect(await restarted.execute(reset("op-0000000000000a03", 1))).toEqual({ kind: "unknown" });
    expect(await restarted.status({ operationId: "op-0000000000000a03", term: 1 })).toEqual({ kind: "unknown" });
    expect(await runs("op-0000000000000a03")).toBe(0);
    release?.();
    await inFlight;
  });

  it("refuses a stale term: older than the newest seen, or than the owner's own Raft term", async () => {
    const { executor: owner } = executor();
    await owner.execute(reset("op-0000000000000a04", 5));
    expect(await owner.execute(reset("op-0000000000000a05", 4))).toEqual({ kind: "stale-term", newestTerm: 5 });
    // The owner's own Raft term moved to 7 (a newer PoC was elected) before that PoC sent anything.
    localTerm = 7;
    expect(await owner.execute(reset("op-0000000000000a06", 6))).toEqual({ kind: "stale-term", newestTerm: 7 });
    expect(await owner.status({ operationId: "op-0000000000000a04", term: 6 })).toEqual({
      kind: "stale-term",
      newestTerm: 7,
    });
    expect(await runs("op-0000000000000a05")).toBe(0);
    expect(await runs("op-0000000000000a06")).toBe(0);
    // The newest term outlives a restart.
    localTerm = 1;
    const restarted = executor().executor;
    expect(await restarted.execute(reset("op-0000000000000a07", 4))).toEqual({ kind: "stale-term", newestTerm: 5 });
  });

  it("fences older terms with a status query: an id never run is then refused to the older PoC", async () => {
    const { executor: owner } = executor();
    expect(await owner.status({ operationId: "op-0000000000000a08", term: 9 })).toEqual({ kind: "not-executed" });
    expect(await owner.execute(reset("op-0000000000000a08", 8))).toEqual({ kind: "stale-term", newestTerm: 9 });
    expect(await runs("op-0000000000000a08")).toBe(0);
    expect((await owner.execute(reset("op-0000000000000a08", 9))).kind).toBe("executed");
    expect(await runs("op-0000000000000a08")).toBe(1);
  });

  it("leaves the outcome unknown when the BMC does not answer in time, and never reruns it", async () => {
    const { executor: owner } = executor();
    await setFaults({ hang: true, pathPrefix: "/redfish/v1/Systems" });
    const failed = await owner.execute(reset("op-0000000000000a09", 1, 300)).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(BmcTimeoutError);
    await fetch(`${simulator.url}/_sim/faults`, { method: "DELETE" });
    expect(await owner.execute(reset("op-0000000000000a09", 1))).toEqual({ kind: "unknown" });
    expect(await owner.status({ operationId: "op-0000000000000a09", term: 1 })).toEqual({ kind: "unknown" });
  });

  it("answers 'running' when the BMC takes longer than an answer may wait, then the outcome once it has it", async () => {
    let release: (() => void) | undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const bmc = bmcClient();
    const slow: LocalBmc = {
      request: async (method, path, options) => {
        await released;
        return bmc.request(method, path, options);
      },
    };
    const { executor: owner } = executor({ bmc: slow, answerWithinMs: 20 });
    const execution = reset("op-0000000000000a0d", 1, 60_000);
    expect(await owner.execute(execution)).toEqual({ kind: "running" });
    expect(await owner.execute(execution)).toEqual({ kind: "running" });
    expect(await owner.status({ operationId: "op-0000000000000a0d", term: 1 })).toEqual({ kind: "running" });
    expect(await runs("op-0000000000000a0d")).toBe(0);
    release?.();
    let answer = await owner.status({ operationId: "op-0000000000000a0d", term: 1 });
    for (let i = 0; i < 200 && answer.kind === "running"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      answer = await owner.status({ operationId: "op-0000000000000a0d", term: 1 });
    }
    expect(answer.kind).toBe("executed");
    expect(await runs("op-0000000000000a0d")).toBe(1);
    // An operation within the wait is answered with its outcome, never "running".
    expect((await owner.execute(reset("op-0000000000000a0e", 1, 15))).kind).not.toBe("running");
  });

  it("lets an id run later when nothing reached the BMC (connection refused)", async () => {
    const gone = await startSimulator({ port: 0, logger: false });
    const url = gone.url;
    await gone.close();
    const refusedBmc = createBmcClient({ redfishUrl: url, credentials: CREDENTIALS, connectTimeoutMs: 500 });
    closers.push(() => refusedBmc.close());
    const offline = executor({ bmc: refusedBmc }).executor;
    const failed = await offline.execute(reset("op-0000000000000a0a", 1)).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(BmcUnreachableError);
    expect(await offline.status({ operationId: "op-0000000000000a0a", term: 1 })).toEqual({ kind: "not-executed" });
    const online = executor().executor;
    expect((await online.execute(reset("op-0000000000000a0a", 1))).kind).toBe("executed");
    expect(await runs("op-0000000000000a0a")).toBe(1);
  });

  it("answers 'unknown' and runs nothing while its ledger is lost (a corrupt file moved aside)", async () => {
    const first = executor().executor;
    await first.execute(reset("op-0000000000000a0b", 1));
    writeFileSync(ledgerFileOf(stateDir), "{ torn");
    const forgetful = executor().executor;
    expect(await forgetful.execute(reset("op-0000000000000a0b", 1))).toEqual({ kind: "unknown" });
    expect(await forgetful.execute(reset("op-0000000000000a0c", 1))).toEqual({ kind: "unknown" });
    expect(await forgetful.status({ operationId: "op-0000000000000a0c", term: 1 })).toEqual({ kind: "unknown" });
    expect(await runs("op-0000000000000a0b")).toBe(1);
    expect(await runs("op-0000000000000a0c")).toBe(0);
    // A restart inside the window keeps it.
    expect(await executor().executor.execute(reset("op-0000000000000a0c", 1))).toEqual({ kind: "unknown" });
  });
});

describe("a firmware push", () => {
  beforeEach(updatesIdle);

  it("streams the staged image to the BMC's MultipartHttpPushUri once, then removes it", async () => {
    const { executor: owner, staging } = executor();
    const image = Buffer.alloc(3 * 256 * 1024 + 17, 7);
    await staging.open("fw-push-1", image.length);
    for (let offset = 0; offset < image.length; offset += 256 * 1024) {
      await staging.write("fw-push-1", offset, image.subarray(offset, offset + 256 * 1024));
    }
    await staging.finish("fw-push-1");
    const push: OperationExecution = {
      operationId: "op-0000000000000b01",
      term: 1,
      timeoutMs: 10_000,
      action: { kind: "firmware-push", stageId: "fw-push-1", imageName: "bmc-fw-2.0.0.bin", updateParameters: {} },
    };
    const answer = await owner.execute(push);
    expect(answer).toMatchObject({ kind: "executed", result: { statusCode: 202 } });
    expect((answer as { result: { headers: Record<string, string> } }).result.headers.location).toMatch(
      /^\/redfish\/v1\/TaskService\//,
    );
    expect(await runs("op-0000000000000b01")).toBe(1);
    expect(staging.imageFile("fw-push-1")).toBeUndefined();
    // A resend answers what happened; the image is gone but nothing runs again.
    expect(await owner.execute(push)).toEqual(answer);
    expect(await runs("op-0000000000000b01")).toBe(1);
  });

  it("answers image-missing for an image that is not staged, and may run once it is", async () => {
    const { executor: owner, staging } = executor();
    const push: OperationExecution = {
      operationId: "op-0000000000000b02",
      term: 1,
      timeoutMs: 10_000,
      action: { kind: "firmware-push", stageId: "fw-missing", imageName: "fw.bin", updateParameters: {} },
    };
    expect(await owner.execute(push)).toEqual({ kind: "image-missing" });
    expect(await owner.status({ operationId: "op-0000000000000b02", term: 1 })).toEqual({ kind: "not-executed" });
    expect(await runs("op-0000000000000b02")).toBe(0);
    await staging.open("fw-missing", 4);
    await staging.write("fw-missing", 0, Buffer.from("fw!\n"));
    await staging.finish("fw-missing");
    expect(await owner.execute(push)).toMatchObject({ kind: "executed", result: { statusCode: 202 } });
    expect(await runs("op-0000000000000b02")).toBe(1);
  });
});

describe("the conclave.bmc.operation handler", () => {
  it("serves members only and refuses malformed bodies naming the bad value", async () => {
    const handler = operationRpcHandler({ isMember: (peer) => peer === "member", executor: executor().executor });
    const body = { op: "execute", execution: reset("op-0000000000000c01", 1) };
    await expect(handler(body, { peerId: "stranger" })).rejects.toBeInstanceOf(PeerNotAllowedError);
    expect((await handler(body, { peerId: "member" })).kind).toBe("executed");
    expect(
      await handler({ op: "status", query: { operationId: "op-0000000000000c01", term: 1 } }, { peerId: "member" }),
    ).toMatchObject({ kind: "executed" });
    const refused = (value: unknown) => handler(value, { peerId: "member" });
    await expect(refused({ op: "run" })).rejects.toThrow(/op "run" is not one of execute, status/);
    await expect(refused({ op: "status", query: { operationId: "op-1", term: 1 } })).rejects.toThrow(
      /operationId "op-1" is not op- and 16 hex digits/,
    );
    await expect(refused({ op: "status", query: { operationId: "op-0000000000000c01", term: 0 } })).rejects.toThrow(
      /term 0 is not a Raft term/,
    );
    const withHeader = reset("op-0000000000000c02", 1);
    const smuggled = {
      ...withHeader,
      action: {
        kind: "http",
        request: { ...(withHeader.action as { request: object }).request, headers: { authorization: "Basic x" } },
      },
    };
    await expect(refused({ op: "execute", execution: smuggled })).rejects.toThrow(
      /headers authorization are not journaled/,
    );
    expect(await runs("op-0000000000000c02")).toBe(0);
    expect(OPERATION_ID_HEADER).toBe("x-conclave-operation-id");
  });
});
