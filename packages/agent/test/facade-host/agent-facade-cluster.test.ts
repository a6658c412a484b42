// Proves the agent's FacadeCluster over real libp2p hosts and real BMC simulators: members come from the cluster state with unique names, host names, roles, health and reserved labels hidden; the PoC's own member goes straight to its BMC, another member's request travels over `conclave.bmc.request` and is answered by that member's BMC with that member's credentials; failures become UpstreamError kinds (unknown member, a member without a BMC, a BMC that is down, a BMC that hangs -> timeout, an answer too big for one RPC frame, a caller that is not a member).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { UpstreamError } from "@conclave/redfish-facade";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BmcClient, createBmcClient } from "../../src/bmc/bmc-client.ts";
import type { MemberRecord } from "../../src/cluster-state/types.ts";
import { RPC_METHODS } from "../../src/daemon/rpc-methods.ts";
import { AgentFacadeCluster } from "../../src/facade-host/agent-facade-cluster.ts";
import { BMC_ANSWER_BYTES_MAX, bmcRequestHandler } from "../../src/facade-host/member-bmc-request.ts";
import { newSecret, startHost, type TestHost, waitFor } from "../hosts.ts";

let dir: string;
let simulatorA: RunningSimulator;
let simulatorB: RunningSimulator;
let poc: TestHost;
let member: TestHost;
let outsider: TestHost;
const clients: BmcClient[] = [];
/** Members in the state that are not running: a witness without a BMC, and a node that is gone. */
const WITNESS = "12D3KooWWitnesswitnesswitnesswitnesswitnesswitnessW1";
const GONE = "12D3KooWGonegonegonegonegonegonegonegonegonegonegoneG1";

function bmcFor(simulator: RunningSimulator, requestTimeoutMs = 5_000): BmcClient {
  const credentialsFile = join(dir, `credentials-${clients.length}`);
  writeFileSync(credentialsFile, "username: admin\npassword: admin\n", { mode: 0o600 });
  const client = createBmcClient({
    redfishUrl: simulator.url,
    credentialsFile,
    requestTimeoutMs,
    connectTimeoutMs: 500,
  });
  clients.push(client);
  return client;
}

function record(id: string, overrides: Partial<MemberRecord>): MemberRecord {
  return {
    id,
    role: "voter",
    witness: false,
    addresses: [],
    drained: false,
    priority: 50,
    labels: {},
    health: { status: "ok", bmcReachable: true, reportedAtMs: 1 },
    joinedAtMs: 1,
    ...overrides,
  };
}

let cluster: AgentFacadeCluster;
let records: MemberRecord[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "conclave-facade-cluster-"));
  [simulatorA, simulatorB] = await Promise.all([
    startSimulator({ host: "127.0.0.1", port: 0, logger: false }),
    startSimulator({ host: "127.0.0.1", port: 0, logger: false }),
  ]);
  const secret = newSecret();
  member = await startHost(secret);
  poc = await startHost(secret, { staticPeers: [member.address] });
  outsider = await startHost(secret, { staticPeers: [member.address] });
  await waitFor("the hosts to connect", () => member.host.connectedPeers().length === 2);
  const memberBmc = bmcFor(simulatorB);
  const tooLarge = { request: async () => ({ statusCode: 200, headers: {}, text: "x".repeat(BMC_ANSWER_BYTES_MAX) }) };
  member.host.rpc.register(
    RPC_METHODS.bmcRequest,
    bmcRequestHandler({
      isMember: (peerId) => peerId === poc.host.nodeId,
      bmc: {
        request: (method, path, options) =>
          path === "/redfish/v1/too-large" ? tooLarge.request() : memberBmc.request(method, path, options),
      },
      nodeName: "bmc2",
    }),
  );
  records = [
    record(poc.host.nodeId, {
      labels: { name: "bmc1", slot: "1" },
      addresses: ["/ip4/0.0.0.0/tcp/7420", "/ip4/127.0.0.1/tcp/7420", "/ip4/10.0.0.11/tcp/7420"],
    }),
    record(member.host.nodeId, {
      labels: { name: "bmc2", "conclave.bmc-host": "10.1.0.12" },
      health: {
        status: "critical",
        bmcReachable: false,
        cpuPercent: 97,
        memoryPercent: 41,
        diskPercent: 12,
        reportedAtMs: 5,
      },
      role: "learner",
    }),
    record(WITNESS, { labels: { name: "mgmt", "conclave.bmc": "none" }, role: "witness", witness: true, health: null }),
    record(GONE, { labels: { name: "bmc1" }, joinedAtMs: 9 }),
  ];
  cluster = new AgentFacadeCluster({
    clusterName: "rack-a",
    selfId: poc.host.nodeId,
    clusterUuid: () => "0f8fad5b-d9cb-469f-a165-70867728950e",
    members: () => records,
    pocId: () => poc.host.nodeId,
    localBmc: bmcFor(simulatorA),
    rpc: poc.host.rpc,
  });
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([poc?.host.stop(), member?.host.stop(), outsider?.host.stop()]);
  await Promise.all([simulatorA?.close(), simulatorB?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("members", () => {
  it("come from the cluster state: unique names, host names, roles, health and its numbers, BMC and operator labels", () => {
    expect(cluster.clusterUuid()).toBe("0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(cluster.hasQuorum()).toBe(true);
    expect(cluster.members()).toEqual([
      {
        id: poc.host.nodeId,
        name: "bmc1",
        hostName: "10.0.0.11",
        role: "voter",
        isPoc: true,
        hasBmc: true,
        health: "OK",
        bmcReachable: true,
        labels: { slot: "1" },
        diagnostics: { health: "OK", bmcReachable: true, reportedAtMs: 1 },
      },
      expect.objectContaining({ id: GONE, name: `bmc1-${GONE.slice(-8)}`, isPoc: false }),
      {
        id: member.host.nodeId,
        name: "bmc2",
        hostName: "10.1.0.12",
        role: "learner",
        isPoc: false,
        hasBmc: true,
        health: "Critical",
        bmcReachable: false,
        labels: {},
        // The replicated report, served as the member's ManagerDiagnosticData.
        diagnostics: {
          health: "Critical",
          bmcReachable: false,
          cpuPercent: 97,
          memoryPercent: 41,
          stateDiskPercent: 12,
          reportedAtMs: 5,
        },
      },
      {
        id: WITNESS,
        name: "mgmt",
        hostName: undefined,
        role: "witness",
        isPoc: false,
        hasBmc: false,
        health: "Warning",
        bmcReachable: false,
        labels: {},
      },
    ]);
  });
});

describe("forward", () => {
  const get = (path: string, timeoutMs = 3_000) => ({ method: "GET", path, headers: {}, timeoutMs });

  it("counts a member whose agent has been silent past the threshold as unreachable, never the PoC itself", () => {
    const healthy = [
      record(poc.host.nodeId, {
        labels: { name: "bmc1" },
        health: { status: "ok", bmcReachable: true, reportedAtMs: 1 },
      }),
      record(member.host.nodeId, {
        labels: { name: "bmc2" },
        health: { status: "ok", bmcReachable: true, reportedAtMs: 1 },
      }),
    ];
    let now = 10_000;
    const heard = new Map([[member.host.nodeId, 9_600]]);
    const silent = new AgentFacadeCluster({
      clusterName: "rack-a",
      selfId: poc.host.nodeId,
      clusterUuid: () => null,
      members: () => healthy,
      pocId: () => poc.host.nodeId,
      localBmc: undefined,
      rpc: poc.host.rpc,
      agentSilence: { lastHeardAtMs: (id) => heard.get(id), silentAfterMs: 500, nowMs: () => now },
    });
    const reachable = () => Object.fromEntries(silent.members().map((m) => [m.name, m.bmcReachable]));
    expect(reachable()).toEqual({ bmc1: true, bmc2: true });
    now = 10_101; // 501 ms since bmc2's agent was last heard
    expect(reachable()).toEqual({ bmc1: true, bmc2: false });
    heard.delete(member.host.nodeId); // never heard at all
    expect(reachable()).toEqual({ bmc1: true, bmc2: false });
  });

  it("sends the PoC's own requests to its BMC and another member's over the RPC to that member's BMC", async () => {
    const own = await cluster.forward(poc.host.nodeId, get("/redfish/v1/Systems"));
    const other = await cluster.forward(member.host.nodeId, get("/redfish/v1/Systems"));
    for (const answer of [own, other]) {
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ "@odata.id": "/redfish/v1/Systems" });
      expect(answer.headers["x-auth-token"]).toBeUndefined();
    }
    // Each BMC saw its own agent log in: the member's session is on simulator B only.
    const sessions = async (simulator: RunningSimulator) =>
      ((await (await fetch(`${simulator.url}/_sim/state`)).json()) as { sessions: number }).sessions;
    expect(await sessions(simulatorA)).toBe(1);
    expect(await sessions(simulatorB)).toBe(1);
    // Any status comes back as an answer.
    const missing = await cluster.forward(member.host.nodeId, get("/redfish/v1/Systems/nope"));
    expect(missing.statusCode).toBe(404);
  });

  it("turns failures into UpstreamError kinds", async () => {
    const kindOf = async (memberId: string, request: ReturnType<typeof get>) => {
      const error = await cluster.forward(memberId, request).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      return { kind: (error as UpstreamError).kind, message: (error as Error).message };
    };
    expect(await kindOf("12D3KooWNobody", get("/redfish/v1"))).toMatchObject({ kind: "unknown-member" });
    expect(await kindOf(WITNESS, get("/redfish/v1"))).toMatchObject({
      kind: "unreachable",
      message: expect.stringContaining("has no BMC"),
    });
    expect(await kindOf(member.host.nodeId, get("/redfish/v1/too-large"))).toMatchObject({
      kind: "unreachable",
      message: expect.stringContaining(`exceeds ${BMC_ANSWER_BYTES_MAX} bytes`),
    });
    expect(await kindOf(GONE, get("/redfish/v1"))).toMatchObject({ kind: "unreachable" });

    await fetch(`${simulatorB.url}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ hang: true }),
      headers: { "content-type": "application/json" },
    });
    try {
      expect(await kindOf(member.host.nodeId, get("/redfish/v1/Chassis", 300))).toMatchObject({ kind: "timeout" });
    } finally {
      await fetch(`${simulatorB.url}/_sim/faults`, { method: "DELETE" });
    }
  });

  it("is served to members only", async () => {
    const refused = outsider.host.rpc.call(member.host.nodeId, RPC_METHODS.bmcRequest, get("/redfish/v1"));
    await expect(refused).rejects.toMatchObject({ remoteCode: "AGENT_ERR_PEER_NOT_ALLOWED" });
  });
});
