// Proves the facade's accounts and sessions survive a change of leader (a token from the old PoC works on the new one), the auth section's snapshot round-trips byte for byte, and refused commands are refused identically on every node.
import { bootstrapStorage, MemoryStorage, type NodeId } from "@conclave/consensus";
import {
  AuthRuleViolation,
  type AuthStore,
  AuthStoreUnavailableError,
  hashPassword,
  registerAuth,
} from "@conclave/redfish-facade";
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import { bootstrapAdministrator } from "../../src/facade-state/bootstrap-administrator.ts";
import { facadeStateExtensions } from "../../src/facade-state/index.ts";
import { createReplicatedAuthStore } from "../../src/facade-state/replicated-auth-store.ts";
import { MemoryRaftNetwork } from "../../src/raft-driver/memory-transport.ts";
import type { RaftDriverInit, RaftDriverTiming } from "../../src/raft-driver/raft-driver.ts";
import { RaftDriver } from "../../src/raft-driver/raft-driver.ts";
import { waitFor } from "../raft-driver/support.ts";

/**
 * tickMs 25: election timeout [375, 750) ms, lease 250 ms, margin (15 - 1 - 10) x 25 = 100 ms. Slower
 * than the driver tests' 10 ms ticks: scrypt shares the test machine's two cores with the loop.
 */
const TIMING: RaftDriverTiming = Object.freeze({
  tickMs: 25,
  heartbeatTicks: 2,
  electionTicks: 15,
  leaseTicks: 10,
  leaseSafetyMarginMs: 100,
});

const IDS = ["a", "b", "c"] as const;
const ADMIN = { userName: "admin", password: "first-admin-password" };
const SESSIONS = "/redfish/v1/SessionService/Sessions";

interface InProcessCluster {
  readonly drivers: Map<NodeId, RaftDriver>;
  readonly network: MemoryRaftNetwork;
  stop(id: NodeId): void;
  running(): RaftDriver[];
  leader(): Promise<RaftDriver>;
  settled(): Promise<void>;
  close(): void;
}

function startCluster(init: Partial<RaftDriverInit> = {}): InProcessCluster {
  const network = new MemoryRaftNetwork();
  const drivers = new Map<NodeId, RaftDriver>();
  let seed = 7;
  for (const id of IDS) {
    const storage = new MemoryStorage();
    bootstrapStorage(storage, [...IDS]);
    let driver: RaftDriver | undefined;
    const transport = network.attach(id, (message) => driver?.enqueue(message));
    void transport.start();
    driver = new RaftDriver(
      { selfId: id, timing: TIMING, seed: seed++, ...init },
      { storage, transport, state: new ClusterState({ extensions: facadeStateExtensions }) },
    );
    void driver.run().catch(() => {});
    drivers.set(id, driver);
  }
  const running = () => [...drivers.values()].filter((driver) => driver.phase === "running");
  return {
    drivers,
    network,
    running,
    stop(id) {
      drivers.get(id)?.stop();
    },
    async leader() {
      await waitFor("a lease holder", () => running().filter((driver) => driver.status().lease.held).length === 1);
      return running().find((driver) => driver.status().lease.held) as RaftDriver;
    },
    async settled() {
      await waitFor("every running node to apply the same index", () => {
        const indexes = running().map((driver) => driver.state.appliedIndex);
        return indexes.every((index) => index === indexes[0]);
      });
    },
    close() {
      for (const driver of drivers.values()) driver.stop();
    },
  };
}

/** Sends `request` again while the facade answers 503 (the leader's lease may blink on a loaded machine). */
async function until503Passes(app: FastifyInstance, request: InjectOptions): Promise<LightMyRequestResponse> {
  for (let attempt = 1; ; attempt++) {
    const response = await app.inject(request);
    if (response.statusCode !== 503 || attempt === 20) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `work` again while the store cannot commit (no leader for a moment on a loaded machine). */
async function whileUnavailable<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof AuthStoreUnavailableError) || attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function facadeOver(store: AuthStore): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  registerAuth(app, { store });
  app.get("/redfish/v1/Systems", () => ({ served: true }));
  await app.ready();
  apps.push(app);
  return app;
}

let cluster: InProcessCluster | undefined;
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  cluster?.close();
  cluster = undefined;
});

describe("the replicated AuthStore over three Raft drivers", () => {
  it("keeps a session created on the leader valid on the next leader", async () => {
    cluster = startCluster();
    const c = cluster;
    await c.leader();
    // The facade follows leadership, as the daemon's VIP does: its store proposes on whichever node leads now.
    const leaderNow = () => c.running().find((driver) => driver.status().role === "leader");
    const firstStore = createReplicatedAuthStore({ driver: leaderNow });
    const credential = { userName: ADMIN.userName, passwordHash: await hashPassword(ADMIN.password) };
    expect(await whileUnavailable(() => bootstrapAdministrator(firstStore, credential))).toBe("created");

    const firstFacade = await facadeOver(firstStore);
    const login = await until503Passes(firstFacade, {
      method: "POST",
      url: SESSIONS,
      payload: { UserName: ADMIN.userName, Password: ADMIN.password },
    });
    expect(login.statusCode).toBe(201);
    const token = String(login.headers["x-auth-token"]);
    const location = String(login.headers.location);
    const operator = await until503Passes(firstFacade, {
      method: "POST",
      url: "/redfish/v1/AccountService/Accounts",
      headers: { "x-auth-token": token },
      payload: { UserName: "oper", Password: "operator-password", RoleId: "Operator" },
    });
    expect(operator.statusCode).toBe(201);
    await c.settled();
    const first = await c.leader();

    c.stop(first.selfId);
    const second = await c.leader();
    expect(second.selfId).not.toBe(first.selfId);
    const secondStore = createReplicatedAuthStore({ driver: () => second });
    const secondFacade = await facadeOver(secondStore);
    const after = await secondFacade.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": token } });
    expect(after.statusCode).toBe(200);
    const own = await secondFacade.inject({ url: location, headers: { "x-auth-token": token } });
    expect(own.json()).toMatchObject({ UserName: "admin" });
    const basic = await secondFacade.inject({
      url: "/redfish/v1/Systems",
      headers: { authorization: `Basic ${Buffer.from("oper:operator-password").toString("base64")}` },
    });
    expect(basic.statusCode).toBe(200);
    // The first administrator is committed once, whichever PoC asks again.
    expect(await whileUnavailable(() => bootstrapAdministrator(secondStore, credential))).toBe("already-has-accounts");

    const logout = await until503Passes(secondFacade, {
      method: "DELETE",
      url: location,
      headers: { "x-auth-token": token },
    });
    expect(logout.statusCode).toBe(204);
    const gone = await secondFacade.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": token } });
    expect(gone.statusCode).toBe(401);
  });

  it("refuses deleting the last Administrator identically on every node, and its snapshot round-trips", async () => {
    cluster = startCluster();
    const c = cluster;
    await c.leader();
    const store = createReplicatedAuthStore({
      driver: () => c.running().find((driver) => driver.status().role === "leader"),
    });
    const passwordHash = await hashPassword(ADMIN.password);
    await whileUnavailable(() => bootstrapAdministrator(store, { userName: "admin", passwordHash }));
    const refused = await whileUnavailable(() => store.commit({ type: "account.delete", body: { id: "1" } })).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AuthRuleViolation);
    expect((refused as AuthRuleViolation).code).toBe("last-administrator");
    await whileUnavailable(() =>
      store.commit({
        type: "session.create",
        body: {
          id: "0123456789abcdef0123456789abcdef",
          accountId: "1",
          tokenHash: "A".repeat(43),
          atMs: 1_000,
          clientOrigin: "192.0.2.1",
          context: null,
        },
      }),
    );
    await cluster.settled();
    const leader = await c.leader();
    for (const driver of cluster.running()) {
      expect(driver.state.rejectedCommands().recent).toEqual([
        expect.objectContaining({ type: "account.delete", code: "last-administrator" }),
      ]);
    }
    const snapshots = cluster.running().map((driver) => new TextDecoder().decode(driver.state.snapshot()));
    expect(new Set(snapshots).size).toBe(1);
    expect(snapshots[0]).not.toContain(ADMIN.password);

    const bytes = leader.state.snapshot();
    const restored = new ClusterState({ extensions: facadeStateExtensions });
    restored.restore(bytes, { index: leader.state.appliedIndex, confState: { voters: [...IDS], learners: [] } });
    expect(new TextDecoder().decode(restored.snapshot())).toBe(new TextDecoder().decode(bytes));
    const restoredStore = createReplicatedAuthStore({
      driver: { state: restored, propose: () => Promise.reject(new Error("read only")) },
    });
    expect(restoredStore.accountByUserName("admin")?.roleId).toBe("Administrator");
    expect(restoredStore.sessionByTokenHash("A".repeat(43))?.clientOrigin).toBe("192.0.2.1");
  });
});

describe("a lagging node", () => {
  it("catches up on accounts and sessions by InstallSnapshot, and serves the same token", async () => {
    cluster = startCluster({ snapshotPolicy: { everyAppliedEntries: 4, retainEntries: 1 } });
    const c = cluster;
    const first = await c.leader();
    const lagging = c.running().find((driver) => driver !== first) as RaftDriver;
    let installed = 0;
    lagging.on("snapshotInstalled", () => installed++);
    c.network.isolate(lagging.selfId);
    const store = createReplicatedAuthStore({
      driver: () => c.running().find((driver) => driver.status().role === "leader" && driver !== lagging),
    });
    const passwordHash = await hashPassword(ADMIN.password);
    await whileUnavailable(() => bootstrapAdministrator(store, { userName: "admin", passwordHash }));
    const facade = await facadeOver(store);
    const logins = [];
    for (let i = 0; i < 6; i++) {
      const login = await until503Passes(facade, {
        method: "POST",
        url: SESSIONS,
        payload: { UserName: ADMIN.userName, Password: ADMIN.password },
      });
      expect(login.statusCode).toBe(201);
      logins.push(String(login.headers["x-auth-token"]));
    }
    c.network.heal();
    await waitFor("the lagging node to install a snapshot and catch up", () => {
      const leader = c.running().find((driver) => driver.status().role === "leader");
      return installed > 0 && leader !== undefined && lagging.state.appliedIndex >= leader.state.appliedIndex;
    });
    const laggingStore = createReplicatedAuthStore({ driver: lagging });
    expect(laggingStore.sessions()).toHaveLength(6);
    const laggingFacade = await facadeOver(laggingStore);
    const answer = await laggingFacade.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": logins[5] } });
    expect(answer.statusCode).toBe(200);
  });
});

describe("the auth section without a driver", () => {
  it("applies the same commands to the same state on two nodes, and refuses a bad body the same way", () => {
    const states = [0, 1].map(() => new ClusterState({ extensions: facadeStateExtensions }));
    const hash = "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U";
    const inputs = [
      { type: "account.bootstrap", body: { userName: "admin", passwordHash: hash, atMs: 5 } },
      {
        type: "account.create",
        body: { userName: "admin", roleId: "ReadOnly", enabled: true, passwordHash: hash, atMs: 6 },
      },
      { type: "account.update", body: { id: "1", roleId: "Operator", atMs: 7 } },
      { type: "auth.settings", body: { minPasswordLength: 20, maxPasswordLength: 12 } },
    ];
    for (const state of states) {
      const outcomes = inputs.map((input, i) => state.apply(i + 1, state.encode(input, 100 + i)));
      expect(outcomes.map((outcome) => (outcome.ok ? "ok" : outcome.code))).toEqual([
        "ok",
        "user-name-taken",
        "last-administrator",
        "password-length-conflict",
      ]);
    }
    expect(new TextDecoder().decode(states[0]!.snapshot())).toBe(new TextDecoder().decode(states[1]!.snapshot()));
    // A body that does not match its schema never reaches the log from an honest proposer...
    expect(() => states[0]!.encode({ type: "session.touch", body: { id: "x", lastUsedAtMs: 1 } }, 1)).toThrow(
      /session.touch/,
    );
    // ...and from a dishonest one is rejected on apply, changing nothing but the rejection record.
    const forged = new TextEncoder().encode(
      JSON.stringify({ v: 1, type: "account.delete", version: 1, atMs: 1, body: { id: "1", extra: true } }),
    );
    expect(states[0]!.apply(5, forged)).toMatchObject({ ok: false, code: "invalid-body" });
  });
});
