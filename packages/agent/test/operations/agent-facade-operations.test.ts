// Proves the PoC's side of journaled operations in AgentFacadeCluster, over real libp2p hosts and BMC simulators: an operation for the PoC's own member runs on its own executor, one for another member travels over conclave.bmc.operation and runs on that member's BMC once; a status query goes the same ways; failures become UpstreamError kinds (unknown member, no BMC, a malformed execution never sent, a BMC that hangs -> timeout); the RPC deadline is the execution's plus BMC_REQUEST_TRANSIT_MS; an image is staged on a member in chunks of at most IMAGE_STAGE_CHUNK_BYTES, each write waiting for the member (backpressure), and pushed; a member without room answers with a clear UpstreamError; a leadership transfer goes through the daemon's transfer and fails as LeadershipTransferError.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { LeadershipTransferError, type OperationExecution, UpstreamError } from "@conclave/redfish-facade";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BmcClient, createBmcClient } from "../../src/bmc/bmc-client.ts";
import { bmcCredentials } from "../../src/bmc/credentials.ts";
import type { MemberRecord } from "../../src/cluster-state/types.ts";
import { RPC_METHODS } from "../../src/daemon/rpc-methods.ts";
import { AgentFacadeCluster, type FacadeRpc } from "../../src/facade-host/agent-facade-cluster.ts";
import { BMC_REQUEST_TRANSIT_MS } from "../../src/facade-host/member-bmc-request.ts";
import { createBmcImagePush, type ImagePushTarget } from "../../src/operations/bmc-image-push.ts";
import {
  IMAGE_STAGE_CHUNK_BYTES,
  ImageStaging,
  imageStageHandler,
  STAGED_IMAGES_MAX,
  stagedImagesDirOf,
} from "../../src/operations/image-staging.ts";
import { OperationExecutor, operationRpcHandler } from "../../src/operations/operation-executor.ts";
import { newSecret, startHost, type TestHost, waitFor } from "../hosts.ts";

const CREDENTIALS = bmcCredentials("admin", "admin");
const WITNESS = "12D3KooWWitnesswitnesswitnesswitnesswitnesswitnessW1";

let dir: string;
let simulatorA: RunningSimulator;
let simulatorB: RunningSimulator;
let poc: TestHost;
let member: TestHost;
let memberStaging: ImageStaging;
let cluster: AgentFacadeCluster;
let records: MemberRecord[];
const transfers: (string | undefined)[] = [];
const closers: (() => Promise<void>)[] = [];

function bmcFor(simulator: RunningSimulator): BmcClient {
  const client = createBmcClient({ redfishUrl: simulator.url, credentials: CREDENTIALS, connectTimeoutMs: 500 });
  closers.push(() => client.close());
  return client;
}

function pushFor(simulator: RunningSimulator): ImagePushTarget {
  const push = createBmcImagePush({ redfishUrl: simulator.url, credentials: CREDENTIALS });
  closers.push(() => push.close());
  return push;
}

function record(id: string, labels: Record<string, string>): MemberRecord {
  return {
    id,
    role: "voter",
    witness: false,
    addresses: [],
    drained: false,
    priority: 50,
    labels,
    health: { status: "ok", bmcReachable: true, reportedAtMs: 1 },
    joinedAtMs: 1,
  };
}

async function systemPath(simulator: RunningSimulator): Promise<string> {
  const auth = `Basic ${Buffer.from("admin:admin").toString("base64")}`;
  const systems = (await (
    await fetch(`${simulator.url}/redfish/v1/Systems`, { headers: { authorization: auth } })
  ).json()) as {
    Members: { "@odata.id": string }[];
  };
  return systems.Members[0]?.["@odata.id"] as string;
}

async function runs(simulator: RunningSimulator, operationId: string): Promise<number> {
  const counters = (await (await fetch(`${simulator.url}/_sim/counters`)).json()) as {
    byOperationId: Record<string, { count: number }>;
  };
  return counters.byOperationId[operationId]?.count ?? 0;
}

function reset(path: string, operationId: string, term = 3, timeoutMs = 5_000): OperationExecution {
  return {
    operationId,
    term,
    timeoutMs,
    action: {
      kind: "http",
      request: {
        method: "POST",
        path: `${path}/Actions/ComputerSystem.Reset`,
        headers: { "content-type": "application/json" },
        body: '{"ResetType":"ForceRestart"}',
      },
    },
  };
}

let pathA: string;
let pathB: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "conclave-facade-operations-"));
  [simulatorA, simulatorB] = await Promise.all([
    startSimulator({ host: "127.0.0.1", port: 0, logger: false, timing: { updateStepMs: 5, updateStepCount: 2 } }),
    startSimulator({ host: "127.0.0.1", port: 0, logger: false, timing: { updateStepMs: 5, updateStepCount: 2 } }),
  ]);
  [pathA, pathB] = await Promise.all([systemPath(simulatorA), systemPath(simulatorB)]);
  const secret = newSecret();
  member = await startHost(secret);
  poc = await startHost(secret, { staticPeers: [member.address] });
  await waitFor("the hosts to connect", () => member.host.connectedPeers().length === 1);

  // The member's side, as its daemon registers it.
  memberStaging = new ImageStaging({ dir: stagedImagesDirOf(join(dir, "member")) });
  closers.push(() => memberStaging.close());
  const memberExecutor = new OperationExecutor({
    stateDir: join(dir, "member"),
    bmc: bmcFor(simulatorB),
    imagePush: pushFor(simulatorB),
    staging: memberStaging,
    localTerm: () => 3,
    nodeName: "bmc2",
  });
  const isMember = (peerId: string) => peerId === poc.host.nodeId;
  member.host.rpc.register(RPC_METHODS.bmcOperation, operationRpcHandler({ isMember, executor: memberExecutor }));
  member.host.rpc.register(RPC_METHODS.imageStage, imageStageHandler({ isMember, staging: memberStaging }));

  // The PoC's own parts.
  const pocStaging = new ImageStaging({ dir: stagedImagesDirOf(join(dir, "poc")) });
  closers.push(() => pocStaging.close());
  records = [
    record(poc.host.nodeId, { name: "bmc1" }),
    record(member.host.nodeId, { name: "bmc2" }),
    record(WITNESS, { name: "mgmt", "conclave.bmc": "none" }),
  ];
  cluster = new AgentFacadeCluster({
    clusterName: "rack-a",
    selfId: poc.host.nodeId,
    clusterUuid: () => null,
    members: () => records,
    pocId: () => poc.host.nodeId,
    localBmc: bmcFor(simulatorA),
    rpc: poc.host.rpc,
    term: () => 3,
    executor: new OperationExecutor({
      stateDir: join(dir, "poc"),
      bmc: bmcFor(simulatorA),
      imagePush: pushFor(simulatorA),
      staging: pocStaging,
      localTerm: () => 3,
      nodeName: "bmc1",
    }),
    staging: pocStaging,
    transferLeadership: async (to) => {
      transfers.push(to);
      if (to === member.host.nodeId) throw new Error("bmc2 is drained: undrain it first");
    },
  });
}, 30_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await Promise.all([poc?.host.stop(), member?.host.stop()]);
  await Promise.all([simulatorA?.close(), simulatorB?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("journaled operations through AgentFacadeCluster", () => {
  it("runs the PoC's own member's operation locally and another member's over RPC, once each", async () => {
    expect(cluster.term()).toBe(3);
    const local = await cluster.executeOperation(poc.host.nodeId, reset(pathA, "op-000000000000d001"));
    const remote = await cluster.executeOperation(member.host.nodeId, reset(pathB, "op-000000000000d002"));
    expect(local.kind).toBe("executed");
    expect(remote.kind).toBe("executed");
    expect(await runs(simulatorA, "op-000000000000d001")).toBe(1);
    expect(await runs(simulatorB, "op-000000000000d002")).toBe(1);
    expect(await runs(simulatorB, "op-000000000000d001")).toBe(0);
    // A resend, and a status query, answer the same without running again.
    expect(await cluster.executeOperation(member.host.nodeId, reset(pathB, "op-000000000000d002"))).toEqual(remote);
    expect(await cluster.operationStatus(member.host.nodeId, { operationId: "op-000000000000d002", term: 3 })).toEqual(
      remote,
    );
    expect(await cluster.operationStatus(poc.host.nodeId, { operationId: "op-000000000000d009", term: 3 })).toEqual({
      kind: "not-executed",
    });
    expect(await runs(simulatorB, "op-000000000000d002")).toBe(1);
    // The owner's fence answers through the RPC too.
    expect(await cluster.executeOperation(member.host.nodeId, reset(pathB, "op-000000000000d003", 2))).toEqual({
      kind: "stale-term",
      newestTerm: 3,
    });
  });

  it("turns failures into UpstreamError kinds", async () => {
    const kind = async (work: Promise<unknown>) => {
      const error = await work.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      return [(error as UpstreamError).kind, (error as UpstreamError).message];
    };
    expect((await kind(cluster.executeOperation("nobody", reset(pathB, "op-000000000000d010"))))[0]).toBe(
      "unknown-member",
    );
    expect((await kind(cluster.executeOperation(WITNESS, reset(pathB, "op-000000000000d011"))))[0]).toBe("unreachable");
    expect(await kind(cluster.executeOperation(member.host.nodeId, reset(pathB, "op-1")))).toEqual([
      "unreachable",
      'operationId "op-1" is not op- and 16 hex digits',
    ]);
    await fetch(`${simulatorB.url}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ hang: true, pathPrefix: "/redfish/v1/Systems" }),
      headers: { "content-type": "application/json" },
    });
    try {
      expect(
        (await kind(cluster.executeOperation(member.host.nodeId, reset(pathB, "op-000000000000d012", 3, 300))))[0],
      ).toBe("timeout");
    } finally {
      await fetch(`${simulatorB.url}/_sim/faults`, { method: "DELETE" });
    }
    expect(await cluster.operationStatus(member.host.nodeId, { operationId: "op-000000000000d012", term: 3 })).toEqual({
      kind: "unknown",
    });
  });

  it("gives the RPC the execution's deadline plus BMC_REQUEST_TRANSIT_MS", async () => {
    const calls: { method: string; timeoutMs: number | undefined }[] = [];
    const rpc: FacadeRpc = {
      call: async (_peer, method, _body, options) => {
        calls.push({ method, timeoutMs: options?.timeoutMs });
        return { kind: "running" };
      },
    };
    const recording = new AgentFacadeCluster({
      clusterName: "rack-a",
      selfId: poc.host.nodeId,
      clusterUuid: () => null,
      members: () => records,
      pocId: () => poc.host.nodeId,
      localBmc: undefined,
      rpc,
    });
    expect(await recording.executeOperation(member.host.nodeId, reset(pathB, "op-000000000000d020", 3, 4_000))).toEqual(
      {
        kind: "running",
      },
    );
    expect(calls).toEqual([{ method: RPC_METHODS.bmcOperation, timeoutMs: 4_000 + BMC_REQUEST_TRANSIT_MS }]);
  });
});

describe("image staging through AgentFacadeCluster", () => {
  it("stages on a member in bounded chunks, then the member pushes it to its BMC", async () => {
    const image = Buffer.alloc(2 * IMAGE_STAGE_CHUNK_BYTES + 1_000);
    for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 0xff;
    const writer = await cluster.openImageStage(member.host.nodeId, "fw-remote-1", image.length);
    // One write larger than a chunk is split; each piece is awaited by the member.
    await writer.write(image.subarray(0, IMAGE_STAGE_CHUNK_BYTES + 500));
    await writer.write(image.subarray(IMAGE_STAGE_CHUNK_BYTES + 500));
    expect(await writer.finish()).toEqual({
      bytes: image.length,
      sha256: createHash("sha256").update(image).digest("hex"),
    });
    expect(memberStaging.imageFile("fw-remote-1")).toBeDefined();
    const pushed = await cluster.executeOperation(member.host.nodeId, {
      operationId: "op-000000000000e001",
      term: 3,
      timeoutMs: 10_000,
      action: { kind: "firmware-push", stageId: "fw-remote-1", imageName: "fw-3.1.bin", updateParameters: {} },
    });
    expect(pushed).toMatchObject({ kind: "executed", result: { statusCode: 202 } });
    expect(await runs(simulatorB, "op-000000000000e001")).toBe(1);
    expect(memberStaging.imageFile("fw-remote-1")).toBeUndefined();
  });

  it("waits for the member before the next piece (backpressure), and aborts without rejecting", async () => {
    const sent: { op: string; offset?: number; bytes?: number }[] = [];
    let answer: (() => void) | undefined;
    const rpc: FacadeRpc = {
      call: (_peer, _method, body) => {
        const request = body as { op: string; offset?: number; data?: string };
        sent.push({
          op: request.op,
          ...(request.offset === undefined ? {} : { offset: request.offset }),
          ...(request.data === undefined ? {} : { bytes: Buffer.from(request.data, "base64").length }),
        });
        if (request.op !== "chunk")
          return request.op === "abort" ? Promise.reject(new Error("gone")) : Promise.resolve({});
        return new Promise((resolve) => {
          answer = () => resolve({});
        });
      },
    };
    const slow = new AgentFacadeCluster({
      clusterName: "rack-a",
      selfId: poc.host.nodeId,
      clusterUuid: () => null,
      members: () => records,
      pocId: () => poc.host.nodeId,
      localBmc: undefined,
      rpc,
    });
    const writer = await slow.openImageStage(member.host.nodeId, "fw-slow", undefined);
    let written = false;
    const writing = writer.write(Buffer.alloc(2 * IMAGE_STAGE_CHUNK_BYTES)).then(() => {
      written = true;
    });
    await waitFor("the first piece", () => sent.length === 2);
    await new Promise((resolve) => setImmediate(resolve));
    // The member has not answered: the second piece is not sent, the write has not resolved.
    expect(sent).toEqual([{ op: "open" }, { op: "chunk", offset: 0, bytes: IMAGE_STAGE_CHUNK_BYTES }]);
    expect(written).toBe(false);
    answer?.();
    await waitFor("the second piece", () => sent.length === 3);
    expect(sent[2]).toEqual({ op: "chunk", offset: IMAGE_STAGE_CHUNK_BYTES, bytes: IMAGE_STAGE_CHUNK_BYTES });
    expect(written).toBe(false);
    answer?.();
    await writing;
    await writer.abort("the console went away");
    expect(sent.at(-1)).toEqual({ op: "abort" });
  });

  it("reports a member without room as an UpstreamError naming the limit, locally and over RPC", async () => {
    const opened = [];
    for (let i = 0; i < STAGED_IMAGES_MAX; i++) {
      opened.push(await cluster.openImageStage(member.host.nodeId, `fw-full-${i}`, undefined));
    }
    const refused = await cluster.openImageStage(member.host.nodeId, "fw-full-x", undefined).catch((error) => error);
    expect(refused).toBeInstanceOf(UpstreamError);
    expect((refused as UpstreamError).message).toMatch(/at most 4/);
    for (const writer of opened) await writer.abort("test done");
    expect(memberStaging.imageFile("fw-full-0")).toBeUndefined();

    const local = await cluster.openImageStage(poc.host.nodeId, "fw-local", 3);
    await local.write(Buffer.from("abc"));
    expect((await local.finish()).bytes).toBe(3);
    const duplicate = await cluster.openImageStage(poc.host.nodeId, "fw-local", 3).catch((error) => error);
    expect(duplicate).toBeInstanceOf(UpstreamError);
    expect((duplicate as UpstreamError).message).toMatch(/already staged/);
  });
});

describe("leadership transfer through AgentFacadeCluster", () => {
  it("goes through the daemon's transfer, and fails as LeadershipTransferError", async () => {
    await cluster.transferLeadership(undefined);
    const drained = await cluster.transferLeadership(member.host.nodeId).catch((error) => error);
    expect(drained).toBeInstanceOf(LeadershipTransferError);
    expect((drained as Error).message).toMatch(/undrain it first/);
    const unknown = await cluster.transferLeadership("nobody").catch((error) => error);
    expect(unknown).toBeInstanceOf(LeadershipTransferError);
    expect(transfers).toEqual([undefined, member.host.nodeId]);
  });
});
