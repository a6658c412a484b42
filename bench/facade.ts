// `pnpm bench facade`: the Redfish facade against real listening servers on loopback. One child
// process hosts MEMBER_COUNT generated BMC simulators; this process serves two facades (one with
// the member cache off, for forwarding; one with the default cache) that forward over HTTP with
// undici (one pool per BMC, as the agent does towards its own BMC); autocannon fires from a worker
// thread. Scenarios, each after a warm-up:
// - direct:      GET /redfish/v1/Systems/system on one simulator;
// - proxied:     the same resource through the facade as a console gets it (default member cache,
//                so most requests are answered from the facade's cache);
// - forwarded:   the same through a facade with the cache off (every request goes to the BMC);
// - aggregated:  GET /redfish/v1/Systems over MEMBER_COUNT members (cached), as fast as it goes,
//                then at a fixed FIXED_RATE_PER_S for the latency under a console-like load;
// - expand:      GET /redfish/v1/Systems?$expand=. over MEMBER_COUNT members (cached);
// - reset:       ComputerSystem.Reset direct to a simulator versus through the operation journal
//                over a real three-node Raft group (facade-reset-journal.ts).
// Prints one `facade:` line and writes bench/results/facade.json.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../packages/bmc-simulator/src/index.ts";
import { createMemoryAuthStore } from "../packages/redfish-facade/src/auth/memory-auth-store.ts";
import {
  buildApp,
  type FacadeCluster,
  type FacadeMember,
  LeadershipTransferError,
  type OwnerAnswer,
  OwnerLedger,
  operationResultOf,
  UpstreamError,
  type UpstreamRequest,
  type UpstreamResponse,
} from "../packages/redfish-facade/src/index.ts";
import { createHttpForwarder, type HttpForwarder } from "../packages/redfish-facade/test/support/http-forward.ts";
import { measureResetJournal, RESET_MEMBERS } from "./facade-reset-journal.ts";
import { round, type Summary, writeResults } from "./results.ts";

const MEMBER_COUNT = 16;
/** Seconds per measured scenario (FACADE_BENCH_SECONDS overrides), and of each warm-up. */
const DEFAULT_SECONDS = 10;
const WARMUP_SECONDS = 2;
/** Concurrent connections of the throughput runs, and of the fixed-rate run. */
const CONNECTIONS = 32;
const FIXED_RATE_CONNECTIONS = 16;
const FIXED_RATE_PER_S = 1_000;
/** Bound on the simulators' child process starting. */
const CHILD_START_TIMEOUT_MS = 60_000;
const ROLE_ENV = "CONCLAVE_FACADE_BENCH_ROLE";
const TARGETS = {
  proxied_vs_direct_ratio: 0.7,
  aggregated_req_per_s: 5_000,
  aggregated_p99_ms_at_1000: 20,
  reset_journal_overhead_p99_ms: 10,
} as const;
const SIMULATOR_AUTHORIZATION = `Basic ${Buffer.from("admin:admin").toString("base64")}`;
const CONSOLE_USER = { userName: "admin", password: "conclave-admin", roleId: "Administrator" } as const;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

function seconds(): number {
  const raw = process.env.FACADE_BENCH_SECONDS;
  if (raw === undefined || raw === "") return DEFAULT_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 600) {
    console.error(`FACADE_BENCH_SECONDS must be an integer from 1 to 600, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

/** The child: MEMBER_COUNT simulators on loopback; prints their URLs, runs until stdin closes. */
async function runSimulators(): Promise<void> {
  const running: Awaited<ReturnType<typeof startSimulator>>[] = [];
  for (let i = 0; i < MEMBER_COUNT; i++) {
    const name = `bmc${String(i).padStart(2, "0")}`;
    running.push(await startSimulator({ port: 0, host: "127.0.0.1", logger: false, generator: { nodeName: name } }));
  }
  process.stdout.write(`${JSON.stringify(running.map((r) => r.url))}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await Promise.all(running.map((r) => r.close()));
    process.exit(0);
  });
}

async function startChild(): Promise<{ child: ChildProcess; urls: string[] }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, [ROLE_ENV]: "simulators" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the simulators did not start in time")), CHILD_START_TIMEOUT_MS);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as string[]);
    });
    child.once("exit", (code) => reject(new Error(`the simulators exited with ${code}`)));
  });
  return { child, urls };
}

function benchCluster(
  urls: readonly string[],
  term: () => number = () => 1,
): { cluster: FacadeCluster; close(): Promise<void> } {
  const forwarders = new Map<string, HttpForwarder>();
  // Each member's owner side, as the agent runs it (without the ledger file: nothing restarts here).
  const ledgers = new Map<string, OwnerLedger>();
  const forwarderOf = (memberId: string): HttpForwarder => {
    const forwarder = forwarders.get(memberId);
    if (forwarder === undefined) throw new UpstreamError("unknown-member", memberId, "no member");
    return forwarder;
  };
  const members: FacadeMember[] = urls.map((url, i) => {
    const name = `bmc${String(i).padStart(2, "0")}`;
    forwarders.set(`peer-${name}`, createHttpForwarder(url, { authorization: SIMULATOR_AUTHORIZATION }));
    ledgers.set(`peer-${name}`, new OwnerLedger());
    return {
      id: `peer-${name}`,
      name,
      hostName: new URL(url).host,
      role: "voter",
      isPoc: i === 0,
      hasBmc: true,
      health: "OK",
      bmcReachable: true,
      labels: {},
    };
  });
  return {
    cluster: {
      clusterName: "bench",
      clusterUuid: () => "3d0f5a8e-2c4b-4f1a-9e7d-6b5c4a3f2e1d",
      hasQuorum: () => true,
      members: () => members,
      forward(memberId: string, request: UpstreamRequest): Promise<UpstreamResponse> {
        const forwarder = forwarders.get(memberId);
        if (forwarder === undefined) return Promise.reject(new UpstreamError("unknown-member", memberId, "no member"));
        return forwarder.send(memberId, request);
      },
      term,
      async executeOperation(memberId, execution): Promise<OwnerAnswer> {
        const forwarder = forwarderOf(memberId);
        const ledger = ledgers.get(memberId) as OwnerLedger;
        const decision = ledger.begin(execution, 1, Date.now());
        if (decision.kind === "answer") return decision.answer;
        const action = execution.action;
        if (action.kind !== "http") {
          ledger.abandon(execution.operationId);
          return { kind: "image-missing" };
        }
        try {
          const response = await forwarder.send(memberId, {
            ...action.request,
            headers: { ...action.request.headers, "x-conclave-operation-id": execution.operationId },
            timeoutMs: execution.timeoutMs,
          });
          const result = operationResultOf(response);
          ledger.finish(execution.operationId, result, Date.now());
          return { kind: "executed", result };
        } catch (error) {
          ledger.finishUnknown(execution.operationId, Date.now());
          throw error;
        }
      },
      async operationStatus(memberId, query): Promise<OwnerAnswer> {
        forwarderOf(memberId);
        return (ledgers.get(memberId) as OwnerLedger).status(query, 1, Date.now());
      },
      transferLeadership: () => Promise.reject(new LeadershipTransferError("the bench has one PoC")),
      openImageStage: (memberId) =>
        Promise.reject(new UpstreamError("unreachable", memberId, "the bench stages no images")),
    },
    async close() {
      await Promise.all([...forwarders.values()].map((f) => f.close()));
    },
  };
}

async function startFacade(cluster: FacadeCluster, memberCacheTtlMs: number | undefined) {
  const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
  const app = buildApp({
    cluster,
    auth,
    ...(memberCacheTtlMs === undefined ? {} : { timeouts: { memberCacheTtlMs } }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const login = await fetch(`${url}/redfish/v1/SessionService/Sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ UserName: CONSOLE_USER.userName, Password: CONSOLE_USER.password }),
  });
  const token = login.headers.get("x-auth-token");
  const headers: Record<string, string> =
    token !== null
      ? { "x-auth-token": token }
      : {
          authorization: `Basic ${Buffer.from(`${CONSOLE_USER.userName}:${CONSOLE_USER.password}`).toString("base64")}`,
        };
  return { app, url, headers };
}

interface Measured {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  failures: number;
}

async function measure(
  url: string,
  headers: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<Measured> {
  const base = { url, headers, connections: CONNECTIONS, workers: 1, ...extra };
  await autocannon({ ...base, duration: WARMUP_SECONDS });
  const result = await autocannon({ ...base, duration: seconds() });
  return {
    req_per_s: round(result.requests.average, 0),
    p50_ms: round(result.latency.p50, 2),
    p99_ms: round(result.latency.p99, 2),
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

async function main(): Promise<void> {
  const { child, urls } = await startChild();
  const { cluster, close } = benchCluster(urls);
  const forwarding = await startFacade(cluster, 0);
  const caching = await startFacade(cluster, undefined);
  try {
    // Discovery and the first member reads, so no scenario measures a cold start.
    for (const facade of [forwarding, caching]) {
      const check = await fetch(`${facade.url}/redfish/v1/Systems`, { headers: facade.headers });
      if (check.status !== 200) throw new Error(`the facade answered ${check.status}: ${await check.text()}`);
      const body = (await check.json()) as { "Members@odata.count": number };
      if (body["Members@odata.count"] !== MEMBER_COUNT) throw new Error(`expected ${MEMBER_COUNT} systems`);
    }
    const directUrl = `${urls[0]}/redfish/v1/Systems/system`;
    const direct = await measure(directUrl, { authorization: SIMULATOR_AUTHORIZATION });
    const proxied = await measure(`${caching.url}/redfish/v1/Systems/bmc00_system`, caching.headers);
    const forwarded = await measure(`${forwarding.url}/redfish/v1/Systems/bmc00_system`, forwarding.headers);
    const aggregated = await measure(`${caching.url}/redfish/v1/Systems`, caching.headers);
    const atRate = await measure(`${caching.url}/redfish/v1/Systems`, caching.headers, {
      connections: FIXED_RATE_CONNECTIONS,
      overallRate: FIXED_RATE_PER_S,
    });
    const expand = await measure(`${caching.url}/redfish/v1/Systems?$expand=.`, caching.headers);
    const journalClusters: { close(): Promise<void> }[] = [];
    const reset = await measureResetJournal({
      autocannon,
      simulatorUrls: urls,
      simulatorAuthorization: SIMULATOR_AUTHORIZATION,
      cluster: (term) => {
        const built = benchCluster(urls, term);
        journalClusters.push(built);
        return built.cluster;
      },
      seconds: seconds(),
      warmupSeconds: WARMUP_SECONDS,
    }).finally(() => Promise.all(journalClusters.map((built) => built.close())));
    const journalOverhead = round(reset.journaled.p99_ms - reset.direct.p99_ms, 2);

    const ratio = round(proxied.req_per_s / direct.req_per_s, 3);
    const forwardedRatio = round(forwarded.req_per_s / direct.req_per_s, 3);
    const summary: Summary = {
      members: MEMBER_COUNT,
      direct_req_per_s: direct.req_per_s,
      direct_p50_ms: direct.p50_ms,
      direct_p99_ms: direct.p99_ms,
      proxied_req_per_s: proxied.req_per_s,
      proxied_p50_ms: proxied.p50_ms,
      proxied_p99_ms: proxied.p99_ms,
      proxied_vs_direct_ratio: ratio,
      forwarded_req_per_s: forwarded.req_per_s,
      forwarded_p50_ms: forwarded.p50_ms,
      forwarded_p99_ms: forwarded.p99_ms,
      forwarded_vs_direct_ratio: forwardedRatio,
      aggregated_req_per_s: aggregated.req_per_s,
      aggregated_p50_ms: aggregated.p50_ms,
      aggregated_p99_ms: aggregated.p99_ms,
      aggregated_req_per_s_at_1000: atRate.req_per_s,
      aggregated_p50_ms_at_1000: atRate.p50_ms,
      aggregated_p99_ms_at_1000: atRate.p99_ms,
      expand_req_per_s: expand.req_per_s,
      expand_p50_ms: expand.p50_ms,
      expand_p99_ms: expand.p99_ms,
      reset_direct_p50_ms: reset.direct.p50_ms,
      reset_direct_p99_ms: reset.direct.p99_ms,
      reset_journal_p50_ms: reset.journaled.p50_ms,
      reset_journal_p99_ms: reset.journaled.p99_ms,
      reset_journal_overhead_p99_ms: journalOverhead,
      reset_journal_ops_per_s: reset.journaledSpread.req_per_s,
      reset_journal_members: RESET_MEMBERS,
      failed_requests:
        direct.failures +
        proxied.failures +
        forwarded.failures +
        aggregated.failures +
        atRate.failures +
        expand.failures +
        reset.direct.failures +
        reset.journaled.failures +
        reset.journaledSpread.failures,
      load_average_1m: round(loadavg()[0] ?? 0, 2),
    };
    const file = writeResults("facade", summary, {
      seconds_per_scenario: seconds(),
      connections: CONNECTIONS,
      targets: TARGETS,
      scenarios: {
        direct,
        proxied,
        forwarded,
        aggregated,
        aggregated_at_1000: atRate,
        expand,
        reset_direct: reset.direct,
        reset_journaled: reset.journaled,
        reset_journaled_over_members: reset.journaledSpread,
      },
    });
    const verdict = (ok: boolean): string => (ok ? "ok" : "MISSED");
    console.log(
      `facade: direct ${direct.req_per_s} req/s (p50 ${direct.p50_ms} ms, p99 ${direct.p99_ms} ms); ` +
        `proxied ${proxied.req_per_s} req/s (p50 ${proxied.p50_ms} ms, p99 ${proxied.p99_ms} ms), ` +
        `ratio ${ratio} [>= ${TARGETS.proxied_vs_direct_ratio}: ${verdict(ratio >= TARGETS.proxied_vs_direct_ratio)}]; ` +
        `forwarded (cache off) ${forwarded.req_per_s} req/s (p99 ${forwarded.p99_ms} ms), ratio ${forwardedRatio}; ` +
        `aggregated over ${MEMBER_COUNT} ${aggregated.req_per_s} req/s (p99 ${aggregated.p99_ms} ms) ` +
        `[>= ${TARGETS.aggregated_req_per_s}: ${verdict(aggregated.req_per_s >= TARGETS.aggregated_req_per_s)}], ` +
        `p99 ${atRate.p99_ms} ms at ${FIXED_RATE_PER_S} req/s ` +
        `[<= ${TARGETS.aggregated_p99_ms_at_1000}: ${verdict(atRate.p99_ms <= TARGETS.aggregated_p99_ms_at_1000)}]; ` +
        `$expand over ${MEMBER_COUNT} ${expand.req_per_s} req/s (p99 ${expand.p99_ms} ms); ` +
        `ComputerSystem.Reset direct p50/p99 ${reset.direct.p50_ms}/${reset.direct.p99_ms} ms, journaled ` +
        `${reset.journaled.p50_ms}/${reset.journaled.p99_ms} ms, overhead p99 ${journalOverhead} ms ` +
        `[<= ${TARGETS.reset_journal_overhead_p99_ms}: ${verdict(journalOverhead <= TARGETS.reset_journal_overhead_p99_ms)}], ` +
        `${reset.journaledSpread.req_per_s} ops/s over ${RESET_MEMBERS} members; ` +
        `${summary.failed_requests} failed requests; load ${summary.load_average_1m} -> ${file}`,
    );
  } finally {
    await forwarding.app.close();
    await caching.app.close();
    await close();
    child.stdin?.end();
    child.kill("SIGTERM");
  }
}

if (process.env[ROLE_ENV] === "simulators") await runSimulators();
else await main();
