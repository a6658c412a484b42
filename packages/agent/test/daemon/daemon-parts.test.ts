// Proves the daemon's pure parts without processes: node arguments resolve by id, unique prefix or name (errors name the value); the peer gate refuses removed members only; the control app maps errors to codes and statuses and creates its socket 0600; the node app redirects (307) or answers 503 with Retry-After and a Redfish error; the VIP app serves a valid ServiceRoot with the cluster UUID; the root logger redacts secrets; sd_notify is off without NOTIFY_SOCKET and pings the watchdog at half WATCHDOG_USEC; cluster formation joins an existing cluster instead of bootstrapping a second one and bootstraps only on a settled view.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createMemoryAuthStore, type FacadeCluster } from "@conclave/redfish-facade";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import type { MemberRecord } from "../../src/cluster-state/types.ts";
import type { StatusDocument } from "../../src/control/control-protocol.ts";
import { formCluster } from "../../src/daemon/cluster-formation.ts";
import { buildControlApp, type ControlHandlers, createControlServer } from "../../src/daemon/control-server.ts";
import { buildNodeApp, type NodeRouting } from "../../src/daemon/node-app.ts";
import { resolveNode } from "../../src/daemon/node-resolver.ts";
import { PeerAdmission } from "../../src/daemon/peer-admission.ts";
import { createRootLogger } from "../../src/daemon/root-logger.ts";
import type { HelloAnswer } from "../../src/daemon/rpc-methods.ts";
import { createSdNotifier } from "../../src/daemon/sd-notify.ts";
import { AmbiguousNodeError, NoPocError, UnknownNodeError } from "../../src/errors.ts";
import { buildVipApp } from "../../src/facade-host/vip-app.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const A = "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111";
const B = "12D3KooWAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2222";
const C = "12D3KooWCccccccccccccccccccccccccccccccccccccccc3333";
const members = [
  { id: A, labels: { name: "slot-1" } },
  { id: B, labels: {} },
  { id: C, labels: { name: "slot-3" } },
] as unknown as MemberRecord[];

describe("node arguments", () => {
  it("resolve by id, unique prefix, shown tail and name; unknown and ambiguous values are named", () => {
    expect(resolveNode(B, members)).toBe(B);
    expect(resolveNode("slot-3", members)).toBe(C);
    expect(resolveNode("12D3KooWC", members)).toBe(C);
    expect(resolveNode("…bbb2222", members)).toBe(B);
    expect(() => resolveNode("slot-9", members)).toThrow(UnknownNodeError);
    expect(() => resolveNode("slot-9", members)).toThrow(/"slot-9"/);
    expect(() => resolveNode("12D3KooWA", members)).toThrow(AmbiguousNodeError);
    expect(() => resolveNode("12D3KooWA", members)).toThrow(/"12D3KooWA" matches 2 members/);
  });
});

describe("peer gate", () => {
  it("serves members and joiners, and refuses a member once it is removed", () => {
    const gate = new PeerAdmission(A);
    gate.setMembers([A, B]);
    expect(gate.isPeerAllowed(B, "/conclave/raft/1")).toBe(true);
    expect(gate.isPeerAllowed(C, "/conclave/rpc/1")).toBe(true); // a joiner that holds the secret
    expect(gate.setMembers([A])).toEqual([B]);
    expect(gate.isPeerAllowed(B, "/conclave/raft/1")).toBe(false);
    gate.setMembers([A, B]); // added back by an operator
    expect(gate.isPeerAllowed(B, "/conclave/raft/1")).toBe(true);
  });
});

function fakeStatus(): StatusDocument {
  return {
    apiVersion: 1,
    cluster: { name: "t", uuid: "0f8fad5b-d9cb-469f-a165-70867728950e" },
    node: { id: A, name: "slot-1", role: "voter", raftRole: "leader", drained: false },
    term: 2,
    pocId: A,
    lease: { heldHere: true, msLeft: 100 },
    vip: { mode: "loopback", address: "127.0.0.9", heldHere: true },
    commitIndex: 3,
    appliedIndex: 3,
    members: [],
    warnings: [],
  };
}

function handlers(overrides: Partial<ControlHandlers> = {}): ControlHandlers {
  const refuse = () => Promise.reject(new NoPocError());
  return {
    status: fakeStatus,
    members: () => ({ members: [] }),
    history: () => ({ history: [] }),
    transferLeadership: refuse,
    stepDown: refuse,
    drain: () => Promise.reject(new UnknownNodeError("nope")),
    undrain: refuse,
    remove: refuse,
    ...overrides,
  };
}

describe("control API", () => {
  it("serves every route and maps errors to stable codes and statuses", async () => {
    const app = buildControlApp(handlers());
    const status = await app.inject({ method: "GET", url: "/v1/status" });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ apiVersion: 1, pocId: A });
    const drain = await app.inject({ method: "POST", url: "/v1/drain", payload: { node: "nope" } });
    expect(drain.statusCode).toBe(404);
    expect(drain.json()).toEqual({
      error: { code: "AGENT_ERR_UNKNOWN_NODE", message: expect.stringContaining('"nope"') },
    });
    const noPoc = await app.inject({ method: "POST", url: "/v1/step-down" });
    expect(noPoc.statusCode).toBe(503);
    expect(noPoc.json().error.code).toBe("AGENT_ERR_NO_POC");
    const bad = await app.inject({ method: "POST", url: "/v1/remove", payload: { nod: "x" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("AGENT_ERR_CONTROL_REQUEST");
    const unknown = await app.inject({ method: "GET", url: "/v1/nothing" });
    expect(unknown.statusCode).toBe(404);
    await app.close();
  });

  it("listens on a unix socket of mode 0600 and removes it on stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conclave-control-"));
    dirs.push(dir);
    const socketPath = join(dir, "control.sock");
    const server = createControlServer({ socketPath, handlers: handlers() });
    await server.start();
    try {
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath, path: "/v1/status", method: "GET" }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve(text));
        })
          .on("error", reject)
          .end();
      });
      expect(JSON.parse(body)).toMatchObject({ pocId: A });
    } finally {
      await server.stop();
    }
    expect(() => statSync(socketPath)).toThrow();
  });
});

describe("HTTP on the VIP and on a node's own address", () => {
  const uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

  it("the VIP serves the facade's ServiceRoot with the cluster UUID, 503 without a quorum, and the status document to a logged-in client", async () => {
    let quorum = true;
    const cluster: FacadeCluster = {
      clusterName: "rack-a",
      clusterUuid: () => uuid,
      hasQuorum: () => quorum,
      members: () => [],
      forward: () => Promise.reject(new Error("no members")),
      term: () => 1,
      executeOperation: () => Promise.reject(new Error("no members")),
      operationStatus: () => Promise.reject(new Error("no members")),
      transferLeadership: () => Promise.reject(new Error("no members")),
      openImageStage: () => Promise.reject(new Error("no members")),
    };
    const auth = await createMemoryAuthStore({
      accounts: [{ userName: "reader", password: "reader-pw1", roleId: "ReadOnly" }],
    });
    const app = buildVipApp({ cluster, auth, status: fakeStatus });
    const root = await app.inject({ method: "GET", url: "/redfish/v1" });
    expect(root.statusCode).toBe(200);
    expect(root.headers["odata-version"]).toBe("4.0");
    expect(root.json()).toMatchObject({
      "@odata.id": "/redfish/v1",
      "@odata.type": expect.stringMatching(/^#ServiceRoot\.v1_\d+_\d+\.ServiceRoot$/),
      UUID: uuid,
    });
    // The status shows the cluster's insides: on the VIP it needs a Redfish login, like all but the root.
    expect((await app.inject({ method: "GET", url: "/conclave/v1/status" })).statusCode).toBe(401);
    const basic = `Basic ${Buffer.from("reader:reader-pw1").toString("base64")}`;
    const statusAnswer = await app.inject({
      method: "GET",
      url: "/conclave/v1/status",
      headers: { authorization: basic },
    });
    expect(statusAnswer.json()).toMatchObject({ pocId: A });
    quorum = false;
    const unavailable = await app.inject({ method: "GET", url: "/redfish/v1" });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers["retry-after"]).toEqual(expect.any(String));
    await app.close();
  });

  it("a follower redirects to the VIP, with no PoC answers 503 with Retry-After and a Redfish error, and the PoC hands requests to the facade", async () => {
    let routing: NodeRouting = { kind: "redirect", baseUrl: "https://127.0.0.9:8443" };
    const serve = Fastify();
    serve.get("/redfish/v1", async () => ({ UUID: uuid }));
    serve.post("/redfish/v1/Systems", async (request) => ({ echoed: request.body }));
    await serve.ready();
    const app = buildNodeApp({ serve, routing: () => routing });
    const redirect = await app.inject({ method: "POST", url: "/redfish/v1/Systems?x=1" });
    expect(redirect.statusCode).toBe(307);
    expect(redirect.headers.location).toBe("https://127.0.0.9:8443/redfish/v1/Systems?x=1");
    routing = { kind: "unavailable" };
    const unavailable = await app.inject({ method: "GET", url: "/redfish/v1" });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers["retry-after"]).toBe("2");
    const info = unavailable.json().error["@Message.ExtendedInfo"][0];
    expect(info).toMatchObject({
      MessageId: "Base.1.22.ServiceTemporarilyUnavailable",
      MessageArgs: ["2"],
      MessageSeverity: "Critical",
    });
    routing = { kind: "serve" };
    expect((await app.inject({ method: "GET", url: "/redfish/v1" })).json().UUID).toBe(uuid);
    // The body reaches the facade whole: the node app does not read it.
    const posted = await app.inject({ method: "POST", url: "/redfish/v1/Systems", payload: { ResetType: "On" } });
    expect(posted.statusCode).toBe(200);
    expect(posted.json()).toEqual({ echoed: { ResetType: "On" } });
    await app.close();
    await serve.close();
  });
});

describe("root logger", () => {
  it("redacts passwords, tokens and authorization headers at any depth it covers", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createRootLogger({ destination, level: "info" });
    logger.child({ component: "bmc" }).info(
      {
        password: "p1",
        token: "t1",
        "x-auth-token": "t2",
        request: { headers: { authorization: "Basic abc", "x-auth-token": "t3" } },
        credentials: { password: "p2" },
      },
      "login",
    );
    const line = lines.join("");
    for (const secret of ["p1", "p2", "t1", "t2", "t3", "Basic abc"]) expect(line).not.toContain(`"${secret}"`);
    expect(JSON.parse(line)).toMatchObject({ component: "bmc", msg: "login", password: "[redacted]" });
  });
});

describe("cluster formation", () => {
  const noCluster: HelloAnswer = { member: false, hasState: false, leaderId: null, clusterUuid: null };

  it("joins a peer that already belongs to a cluster instead of bootstrapping a second one", async () => {
    const outcome = await formCluster({
      selfId: A, // the lowest id: it would bootstrap if nobody had a cluster
      bootstrapExpect: 3,
      hasState: false,
      settleMs: 0,
      discovered: () => [B, C],
      hello: async (peer) => (peer === C ? { member: true, hasState: true, leaderId: B, clusterUuid: "u" } : noCluster),
      signal: new AbortController().signal,
      pollMs: 1,
    });
    expect(outcome).toEqual({ action: "join", via: B });
  });

  it("bootstraps only on a settled view of bootstrapExpect nodes, and resumes with state", async () => {
    let polls = 0;
    const views = [[B], [B, C], [B, C], [B, C], [B, C], [B, C]];
    const outcome = await formCluster({
      selfId: A,
      bootstrapExpect: 3,
      hasState: false,
      settleMs: 30,
      discovered: () => views[Math.min(polls++, views.length - 1)] as string[],
      hello: async () => noCluster,
      signal: new AbortController().signal,
      pollMs: 1,
      nowMs: () => polls * 10, // 10 ms per poll
    });
    expect(outcome).toEqual({ action: "bootstrap" });
    expect(polls).toBeGreaterThanOrEqual(4);
    const resumed = await formCluster({
      selfId: C,
      bootstrapExpect: 3,
      hasState: true,
      settleMs: 0,
      discovered: () => [],
      hello: async () => noCluster,
      signal: new AbortController().signal,
    });
    expect(resumed).toEqual({ action: "resume" });
  });

  it("asks each peer again only after helloRefreshMs, and every peer once more before bootstrapping", async () => {
    const D = "12D3KooWDddddddddddddddddddddddddddddddddddddddd4444";
    let now = 0;
    let polls = 0;
    const asked = new Map<string, number>();
    const outcome = await formCluster({
      selfId: A,
      bootstrapExpect: 4,
      hasState: false,
      settleMs: 0,
      helloRefreshMs: 1_000,
      // 40 polls with three of four nodes (1 ms each), then D appears.
      discovered: () => (polls++ < 40 ? [B, C] : [B, C, D]),
      hello: async (peer) => {
        asked.set(peer, (asked.get(peer) ?? 0) + 1);
        return noCluster;
      },
      signal: new AbortController().signal,
      pollMs: 1,
      nowMs: () => now++,
    });
    expect(outcome).toEqual({ action: "bootstrap" });
    expect(Object.fromEntries(asked)).toEqual({ [B]: 2, [C]: 2, [D]: 2 });
  });

  it("joins instead of bootstrapping when the last round finds a cluster formed meanwhile", async () => {
    let round = 0;
    const outcome = await formCluster({
      selfId: A,
      bootstrapExpect: 3,
      hasState: false,
      settleMs: 0,
      helloRefreshMs: 60_000,
      discovered: () => [B, C],
      hello: async (peer) => {
        if (peer === B) round++;
        return round >= 2 && peer === C ? { member: true, hasState: true, leaderId: C, clusterUuid: "u" } : noCluster;
      },
      signal: new AbortController().signal,
      pollMs: 1,
    });
    expect(outcome).toEqual({ action: "join", via: C });
  });

  it("a node that is not the lowest joins through the lowest", async () => {
    const outcome = await formCluster({
      selfId: C,
      bootstrapExpect: 3,
      hasState: false,
      settleMs: 0,
      discovered: () => [A, B],
      hello: async () => noCluster,
      signal: new AbortController().signal,
      pollMs: 1,
    });
    expect(outcome).toEqual({ action: "join", via: A });
  });
});

describe("sd_notify", () => {
  it("is off without NOTIFY_SOCKET, and pings the watchdog at half of WATCHDOG_USEC for this pid only", () => {
    expect(createSdNotifier({}).enabled).toBe(false);
    expect(createSdNotifier({ NOTIFY_SOCKET: "" }).enabled).toBe(false);
    const notifier = createSdNotifier({ NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "4000000" });
    expect(notifier.enabled).toBe(true);
    expect(notifier.watchdogIntervalMs).toBe(2_000);
    const other = createSdNotifier({
      NOTIFY_SOCKET: "/run/systemd/notify",
      WATCHDOG_USEC: "4000000",
      WATCHDOG_PID: String(process.pid + 1),
    });
    expect(other.watchdogIntervalMs).toBeUndefined();
  });
});
