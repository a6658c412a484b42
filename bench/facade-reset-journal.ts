// The operation journal's cost, for `pnpm bench facade`: `ComputerSystem.Reset` sent straight to
// a simulator versus the same action through a facade whose journal is a real three-node Raft
// group in this process (FileStorage with fsync in a temp dir, `lan` timing, in-memory links).
// Every forwarded reset commits `operation.accept` before it is sent and `operation.finish` after
// the BMC answered, and runs through the owner's ledger, as on the PoC. Measured: latency p50/p99
// of both at a console-like concurrency, and operations/s through the journal over 3 members.
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterState } from "../packages/agent/src/cluster-state/cluster-state.ts";
import { resolveTiming } from "../packages/agent/src/config/timing.ts";
import { facadeStateExtensions } from "../packages/agent/src/facade-state/index.ts";
import { createReplicatedOperationStore } from "../packages/agent/src/facade-state/replicated-operation-store.ts";
import { MemoryRaftNetwork } from "../packages/agent/src/raft-driver/memory-transport.ts";
import { RaftDriver } from "../packages/agent/src/raft-driver/raft-driver.ts";
import { bootstrapStorage, FileStorage, type NodeId } from "../packages/consensus/src/index.ts";
import { createMemoryAuthStore } from "../packages/redfish-facade/src/auth/memory-auth-store.ts";
import { buildApp, type FacadeCluster } from "../packages/redfish-facade/src/index.ts";

/** Members the journal forwards to (issue 5: 3). */
export const RESET_MEMBERS = 3;
/** Concurrent consoles resetting at once. */
const RESET_CONNECTIONS = 4;
/** Bound on the Raft group electing a leader. */
const LEADER_TIMEOUT_MS = 10_000;
const RESET_BODY = JSON.stringify({ ResetType: "ForceRestart" });
const CONSOLE_USER = { userName: "admin", password: "conclave-admin", roleId: "Administrator" } as const;

export interface ResetMeasured {
  readonly req_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly failures: number;
}

export type Cannon = (options: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}>;

async function fire(
  autocannon: Cannon,
  options: Record<string, unknown>,
  seconds: number,
  warmupSeconds: number,
): Promise<ResetMeasured> {
  const base = { connections: RESET_CONNECTIONS, workers: 1, method: "POST", ...options };
  await autocannon({ ...base, duration: warmupSeconds });
  const result = await autocannon({ ...base, duration: seconds });
  return {
    req_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

/** A three-node Raft group on disk, in this process; resolves once one of them leads. */
async function startRaftGroup(dir: string): Promise<{ leader: RaftDriver; stop(): void }> {
  const ids: NodeId[] = ["journal-a", "journal-b", "journal-c"];
  const network = new MemoryRaftNetwork();
  const timing = resolveTiming("lan");
  const storages: FileStorage[] = [];
  const drivers = ids.map((id, i) => {
    const storage = FileStorage.open({ dir: join(dir, id) });
    storages.push(storage);
    bootstrapStorage(storage, ids);
    let driver: RaftDriver | undefined;
    const transport = network.attach(id, (message) => driver?.enqueue(message));
    void transport.start();
    driver = new RaftDriver(
      { selfId: id, timing, seed: 101 + i },
      { storage, transport, state: new ClusterState({ extensions: facadeStateExtensions }) },
    );
    void driver.run().catch(() => undefined);
    return driver;
  });
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const leader = drivers.find((driver) => driver.status().role === "leader");
    if (leader !== undefined) {
      return {
        leader,
        stop() {
          for (const driver of drivers) driver.stop();
          for (const storage of storages) storage.close();
        },
      };
    }
    if (Date.now() > deadline) throw new Error("the journal's Raft group elected no leader");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `cluster` forwards to the simulators (its executeOperation runs each member's owner ledger);
 * its term() must be the journal leader's, which `withTerm` supplies.
 */
export async function measureResetJournal(init: {
  readonly autocannon: Cannon;
  readonly simulatorUrls: readonly string[];
  readonly simulatorAuthorization: string;
  readonly cluster: (term: () => number) => FacadeCluster;
  readonly seconds: number;
  readonly warmupSeconds: number;
}): Promise<{ direct: ResetMeasured; journaled: ResetMeasured; journaledSpread: ResetMeasured }> {
  const dir = mkdtempSync(join(tmpdir(), "conclave-bench-journal-"));
  const group = await startRaftGroup(dir);
  try {
    const operations = createReplicatedOperationStore({ driver: group.leader });
    const cluster = init.cluster(() => group.leader.status().term);
    const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
    const app = buildApp({ cluster, auth, operations });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const headers = {
        authorization: `Basic ${Buffer.from(`${CONSOLE_USER.userName}:${CONSOLE_USER.password}`).toString("base64")}`,
        "content-type": "application/json",
      };
      const members = cluster.members().slice(0, RESET_MEMBERS);
      const resetPath = (name: string) => `/redfish/v1/Systems/${name}_system/Actions/ComputerSystem.Reset`;
      const check = await fetch(`${url}${resetPath(members[0]?.name ?? "")}`, {
        method: "POST",
        headers,
        body: RESET_BODY,
      });
      if (check.status >= 300) throw new Error(`the journaled reset answered ${check.status}: ${await check.text()}`);
      const direct = await fire(
        init.autocannon,
        {
          url: `${init.simulatorUrls[0]}/redfish/v1/Systems/system/Actions/ComputerSystem.Reset`,
          headers: { authorization: init.simulatorAuthorization, "content-type": "application/json" },
          body: RESET_BODY,
        },
        init.seconds,
        init.warmupSeconds,
      );
      const journaled = await fire(
        init.autocannon,
        { url: `${url}${resetPath(members[0]?.name ?? "")}`, headers, body: RESET_BODY },
        init.seconds,
        init.warmupSeconds,
      );
      const journaledSpread = await fire(
        init.autocannon,
        {
          url,
          headers,
          requests: members.map((member) => ({
            method: "POST",
            path: resetPath(member.name),
            headers,
            body: RESET_BODY,
          })),
        },
        init.seconds,
        init.warmupSeconds,
      );
      return { direct, journaled, journaledSpread };
    } finally {
      await app.close();
    }
  } finally {
    group.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
