// `pnpm bench events`: every member BMC's events through the PoC to the consoles, with the real
// code of every stage:
//   MEMBER_COUNT simulated BMCs (EventHub, the simulator's SSE stream over HTTP)
//   → each member agent's event path (bmc-event-source reading that stream, MemberEventBuffer,
//     the `conclave.events.pull` handler on its own libp2p host)
//   → the PoC's pulls over `/conclave/rpc/1` between real libp2p hosts on loopback (TCP,
//     pre-shared key, noise, yamux; rpcFacadeEventSource)
//   → the facade's fan-in (EventFanIn, member URI rewriting, the merged log)
//   → `/redfish/v1/EventService/SSE` (EventStream) over HTTP
//   → CLIENT_COUNT SSE clients.
// Hosting on a small machine: one child process (events-members.ts) runs the simulators, the
// emitters and the MEMBER_COUNT member agents' hosts; this process runs the PoC (its libp2p host
// and the facade, buildApp as the daemon builds it, with member discovery over HTTP to the
// simulators); a worker thread of this process (events-clients.ts) runs the SSE clients.
//
// Three phases, each EVENTS_BENCH_SECONDS (default 10), clients connected before the first:
// - max:  every emitter publishes as fast as it can, pausing only while its member holds
//         MAX_WINDOW events not yet pulled by the PoC (the agent's buffer holds EVENT_BUFFER_MAX:
//         without the window a saturated PoC would make the buffers overflow, which is loss by
//         design, not a measure of throughput). Gives events_per_s: events every client received,
//         per second from the first emission to that client's last event (the slowest client).
// - rate: the emitters together publish TARGET_RATE_PER_S, paced. Gives delivery_p99_ms: the p99
//         of (receipt − emit) over every client's events, at the target rate. A pipeline that
//         cannot keep up queues events (latency grows) and past the members' buffers loses them.
// - light: the same at LIGHT_RATE_PER_S (several times ibmcrassd's ~117 alerts/s): the latency of
//         the path when nothing queues, delivery_p99_ms_at_light.
// After each phase, the clients get DRAIN_TIMEOUT_MS to receive what was emitted. `lost` counts,
// over all phases and every client, each emitted event that client never received; `duplicated`
// each event a client received more than once. `dropped_at_members` is the members' buffers' own
// count: records that left a ring before a pull acknowledged them, which includes records already
// sent in an answer the next pull had not yet acknowledged (so it can exceed what was lost).
// CPU per event: this thread (the PoC), the clients' thread, and the members' whole process.
// Prints one `events:` line and writes bench/results/events.json.
import { type ChildProcess, spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { pullEvents } from "../packages/agent/src/events/events-pull.ts";
import { rpcFacadeEventSource } from "../packages/agent/src/events/facade-event-source.ts";
import { MemberEventBuffer } from "../packages/agent/src/events/member-event-buffer.ts";
import { createConclaveHost, generateClusterSecret, parseClusterSecret } from "../packages/agent/src/index.ts";
import { createMemoryAuthStore } from "../packages/redfish-facade/src/auth/memory-auth-store.ts";
import {
  buildApp,
  type FacadeCluster,
  type FacadeMember,
  LeadershipTransferError,
  UpstreamError,
} from "../packages/redfish-facade/src/index.ts";
import { createHttpForwarder, type HttpForwarder } from "../packages/redfish-facade/test/support/http-forward.ts";
import type { ClientsInit } from "./events-clients.ts";
import { newNodeKey, runMembers } from "./events-members.ts";
import type {
  ChildMessage,
  ClientReport,
  ClientsMessage,
  ClientsRequest,
  EmitPhase,
  EmitReport,
  MemberAddress,
} from "./events-protocol.ts";
import { round, type Summary, writeResults } from "./results.ts";

const MEMBER_COUNT = 16;
const CLIENT_COUNT = 10;
const DEFAULT_SECONDS = 10;
const TARGET_RATE_PER_S = 10_000;
const LIGHT_RATE_PER_S = 1_000;
/** Events a member may hold not yet pulled while its emitter runs at full speed (a quarter of its buffer). */
const MAX_WINDOW = 512;
/** Bound on the child's start (16 simulators and libp2p hosts), on the PoC reaching every member. */
const CHILD_START_TIMEOUT_MS = 90_000;
const CONNECT_TIMEOUT_MS = 30_000;
/** Bound on an emission phase's report beyond its own seconds. */
const PHASE_REPORT_GRACE_MS = 30_000;
/** How long the clients may take to receive what was emitted, after the emitters stop. */
const DRAIN_TIMEOUT_MS = 20_000;
const DRAIN_POLL_MS = 100;
/** Pause between phases, so the first's tail does not count in the second. */
const SETTLE_MS = 1_000;
const ROLE_ENV = "CONCLAVE_EVENTS_BENCH_ROLE";
const SECRET_ENV = "CONCLAVE_EVENTS_BENCH_SECRET";
const TARGETS = { events_per_s: 10_000, delivery_p99_ms: 100, lost: 0 } as const;
const SIMULATOR_AUTHORIZATION = `Basic ${Buffer.from("admin:admin").toString("base64")}`;
const CONSOLE_USER = { userName: "admin", password: "conclave-admin", roleId: "Administrator" } as const;

function seconds(): number {
  const raw = process.env.EVENTS_BENCH_SECONDS;
  if (raw === undefined || raw === "") return DEFAULT_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 600) {
    console.error(`EVENTS_BENCH_SECONDS must be an integer from 1 to 600, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The child and a way to wait for its next message of a type. */
async function startChild(secret: string): Promise<{
  child: ChildProcess;
  members: readonly MemberAddress[];
  next(timeoutMs: number): Promise<EmitReport>;
}> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, [ROLE_ENV]: "members", [SECRET_ENV]: secret },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const inbox: ChildMessage[] = [];
  let wake: (() => void) | undefined;
  let exited: string | undefined;
  lines.on("line", (line) => {
    inbox.push(JSON.parse(line) as ChildMessage);
    wake?.();
  });
  child.once("exit", (code) => {
    exited = `the members' process exited with ${code}`;
    wake?.();
  });
  const receive = async (timeoutMs: number): Promise<ChildMessage> => {
    const deadline = Date.now() + timeoutMs;
    while (inbox.length === 0) {
      if (exited !== undefined) throw new Error(exited);
      if (Date.now() > deadline) throw new Error("the members' process did not answer in time");
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
    return inbox.shift() as ChildMessage;
  };
  const ready = await receive(CHILD_START_TIMEOUT_MS);
  if (ready.type !== "ready") throw new Error(`the members' process said ${ready.type} first`);
  return {
    child,
    members: ready.members,
    async next(timeoutMs) {
      const message = await receive(timeoutMs);
      if (message.type !== "emitted") throw new Error(`unexpected ${message.type} from the members' process`);
      return message;
    },
  };
}

function facadeCluster(
  members: readonly MemberAddress[],
  pocId: string,
): { cluster: FacadeCluster; close(): Promise<void> } {
  const forwarders = new Map<string, HttpForwarder>();
  const facadeMembers: FacadeMember[] = [
    {
      id: pocId,
      name: "poc",
      hostName: "127.0.0.1",
      role: "voter",
      isPoc: true,
      hasBmc: false,
      health: "OK",
      bmcReachable: false,
      labels: {},
    },
  ];
  for (const member of members) {
    forwarders.set(member.peerId, createHttpForwarder(member.url, { authorization: SIMULATOR_AUTHORIZATION }));
    facadeMembers.push({
      id: member.peerId,
      name: member.name,
      hostName: new URL(member.url).host,
      role: "voter",
      isPoc: false,
      hasBmc: true,
      health: "OK",
      bmcReachable: true,
      labels: {},
    });
  }
  const refuse = (memberId: string) =>
    Promise.reject(new UpstreamError("unreachable", memberId, "the events bench runs no operations"));
  return {
    cluster: {
      clusterName: "bench-events",
      clusterUuid: () => "6a1f3c2e-8b4d-4e7f-9a0c-1d2e3f4a5b6c",
      hasQuorum: () => true,
      members: () => facadeMembers,
      forward(memberId, request) {
        const forwarder = forwarders.get(memberId);
        if (forwarder === undefined) return Promise.reject(new UpstreamError("unknown-member", memberId, "no BMC"));
        return forwarder.send(memberId, request);
      },
      term: () => 1,
      executeOperation: (memberId) => refuse(memberId),
      operationStatus: (memberId) => refuse(memberId),
      transferLeadership: () => Promise.reject(new LeadershipTransferError("the bench has one PoC")),
      openImageStage: (memberId) => refuse(memberId),
    },
    async close() {
      await Promise.all([...forwarders.values()].map((f) => f.close()));
    },
  };
}

async function login(url: string): Promise<Record<string, string>> {
  const response = await fetch(`${url}/redfish/v1/SessionService/Sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ UserName: CONSOLE_USER.userName, Password: CONSOLE_USER.password }),
  });
  const token = response.headers.get("x-auth-token");
  if (response.status !== 201 || token === null) throw new Error(`login answered ${response.status}`);
  return { "x-auth-token": token };
}

/** The SSE clients' worker, and a way to ask it something. */
function startClients(init: ClientsInit) {
  const worker = new Worker(fileURLToPath(new URL("./events-clients.ts", import.meta.url)), { workerData: init });
  const waiting: ((message: ClientsMessage) => void)[] = [];
  let failed: unknown;
  worker.on("message", (message: ClientsMessage) => waiting.shift()?.(message));
  worker.on("error", (error) => {
    failed = error;
  });
  const nextMessage = (timeoutMs: number) =>
    new Promise<ClientsMessage>((resolve, reject) => {
      if (failed !== undefined) reject(failed);
      const timer = setTimeout(() => reject(new Error("the SSE clients did not answer in time")), timeoutMs);
      waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  return {
    worker,
    connected: nextMessage(CONNECT_TIMEOUT_MS),
    ask(request: ClientsRequest, timeoutMs = 10_000): Promise<ClientsMessage> {
      const answer = nextMessage(timeoutMs);
      worker.postMessage(request);
      return answer;
    },
  };
}

function histogramPercentile(histogram: readonly number[], p: number): number {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms] as number;
    if (seen >= rank) return ms;
  }
  return histogram.length - 1;
}

interface PhaseResult {
  readonly phase: string;
  readonly emitted: number;
  readonly emit_per_s: number;
  /** Events per second the slowest client received (first emission to its last event). */
  readonly events_per_s: number;
  /** Event messages written to all clients together, per second. */
  readonly fan_out_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly gaps: number;
  readonly dropped_at_members: number;
  readonly window_waits: number;
  readonly drain_ms: number;
  /** CPU used over the phase (emission and drain) as a share of one core, and per event emitted. */
  readonly cpu_pct_poc_thread: number;
  readonly cpu_pct_clients_thread: number;
  readonly cpu_pct_members_process: number;
  readonly cpu_us_per_event_poc_thread: number;
  readonly cpu_us_per_event_clients_thread: number;
  readonly cpu_us_per_event_members_process: number;
  readonly pulls: PhaseRun["pulls"];
}

interface PhaseRun {
  readonly report: EmitReport;
  readonly drainMs: number;
  /** CPU of the PoC's thread and of the clients' thread, from just before the first emission to the drain's end. */
  readonly pocCpuMs: number;
  readonly clientsCpuMs: number;
  readonly wallMs: number;
  readonly pulls: { count: number; failed: number; events_per_pull: number; mean_ms_with_events: number };
}

function phaseResult(run: PhaseRun, clients: readonly ClientReport[]): PhaseResult {
  const { report, drainMs } = run;
  const emitted = Object.values(report.emitted).reduce((sum, n) => sum + n, 0);
  const histogram = new Array<number>(0);
  let lost = 0;
  let duplicated = 0;
  let gaps = 0;
  let slowest = Number.POSITIVE_INFINITY;
  let fanOut = 0;
  let lastAt = report.startedAt;
  for (const client of clients) {
    const seen = client.phases[report.phase];
    if (seen === undefined) {
      lost += emitted;
      slowest = 0;
      continue;
    }
    // Received in order once each: the member's seqs up to lastSeq, less the gaps.
    lost += emitted - seen.received;
    duplicated += seen.duplicated;
    gaps += seen.gaps;
    fanOut += seen.received;
    lastAt = Math.max(lastAt, seen.lastAt);
    const elapsedS = Math.max(1, seen.lastAt - report.startedAt) / 1_000;
    slowest = Math.min(slowest, seen.received / elapsedS);
    seen.latencyHistogram.forEach((n, ms) => {
      histogram[ms] = (histogram[ms] ?? 0) + n;
    });
  }
  const elapsedS = Math.max(1, lastAt - report.startedAt) / 1_000;
  const max = histogram.findLastIndex((n) => n > 0);
  return {
    phase: report.phase,
    emitted,
    emit_per_s: round(emitted / (Math.max(1, report.endedAt - report.startedAt) / 1_000), 0),
    events_per_s: round(slowest, 0),
    fan_out_per_s: round(fanOut / elapsedS, 0),
    p50_ms: histogramPercentile(histogram, 50),
    p99_ms: histogramPercentile(histogram, 99),
    max_ms: max,
    lost,
    duplicated,
    gaps,
    dropped_at_members: report.droppedAtMembers,
    window_waits: report.windowWaits,
    drain_ms: drainMs,
    cpu_pct_poc_thread: round((run.pocCpuMs / run.wallMs) * 100, 0),
    cpu_pct_clients_thread: round((run.clientsCpuMs / run.wallMs) * 100, 0),
    cpu_pct_members_process: round((report.cpuMs / Math.max(1, report.endedAt - report.startedAt)) * 100, 0),
    cpu_us_per_event_poc_thread: round((run.pocCpuMs * 1_000) / Math.max(1, emitted), 1),
    cpu_us_per_event_clients_thread: round((run.clientsCpuMs * 1_000) / Math.max(1, emitted), 1),
    cpu_us_per_event_members_process: round((report.cpuMs * 1_000) / Math.max(1, emitted), 1),
    pulls: run.pulls,
  };
}

async function main(): Promise<void> {
  const secret = generateClusterSecret();
  const { child, members, next } = await startChild(secret);
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const poc = await createConclaveHost({
      privateKey: await newNodeKey(),
      clusterSecret: parseClusterSecret(Buffer.from(secret), "bench").psk,
      clusterName: "bench-events",
      listen: ["/ip4/127.0.0.1/tcp/0"],
      staticPeers: members.map((m) => m.address),
      mdns: false,
      isPeerAllowed: () => true,
      onRaftMessage: () => {},
    });
    await poc.start();
    closers.push(() => poc.stop());
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    while (poc.connectedPeers().length < MEMBER_COUNT) {
      if (Date.now() > deadline)
        throw new Error(`the PoC reached ${poc.connectedPeers().length} of ${MEMBER_COUNT} members`);
      await sleep(50);
    }
    // The PoC has no BMC here: its own buffer stays empty (the fan-in pulls members with one).
    const ownBuffer = new MemberEventBuffer();
    const { cluster, close } = facadeCluster(members, poc.nodeId);
    closers.push(close);
    const source = rpcFacadeEventSource({
      rpc: poc.rpc,
      selfId: poc.nodeId,
      local: { pullLocal: (request, signal) => pullEvents(ownBuffer, request, signal) },
    });
    // Counted around the real source: how many pulls, how full, how long each took.
    const pulls = { count: 0, events: 0, withEvents: 0, msWithEvents: 0, failed: 0 };
    const app = buildApp({
      cluster,
      auth: await createMemoryAuthStore({ accounts: [CONSOLE_USER] }),
      events: {
        async pull(memberId, after, max, waitMs, signal) {
          const started = performance.now();
          try {
            const answer = await source.pull(memberId, after, max, waitMs, signal);
            pulls.count += 1;
            pulls.events += answer.events.length;
            // Long polls that waited for a first event say nothing of the transport: left out.
            if (answer.events.length > 0 && after !== null && !answer.restarted) {
              pulls.withEvents += 1;
              pulls.msWithEvents += performance.now() - started;
            }
            return answer;
          } catch (error) {
            pulls.failed += 1;
            throw error;
          }
        },
      },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const headers = await login(url);

    const clients = startClients({ url, headers, clientCount: CLIENT_COUNT });
    closers.push(() => clients.worker.terminate().then(() => undefined));
    await clients.connected;

    const runPhase = async (phase: EmitPhase): Promise<PhaseRun> => {
      const pullsBefore = { ...pulls };
      const pocCpuBefore = process.threadCpuUsage();
      const clientsBefore = await clients.ask({ type: "progress", phase: phase.name });
      if (clientsBefore.type !== "progress") throw new Error("the SSE clients answered out of turn");
      child.stdin?.write(`${JSON.stringify({ type: "emit", phase })}\n`);
      const report = await next(phase.seconds * 1_000 + PHASE_REPORT_GRACE_MS);
      const emitted = Object.values(report.emitted).reduce((sum, n) => sum + n, 0);
      const drainStart = Date.now();
      let clientsCpuMs = 0;
      for (;;) {
        const progress = await clients.ask({ type: "progress", phase: phase.name });
        if (progress.type !== "progress") throw new Error("the SSE clients answered out of turn");
        clientsCpuMs = progress.cpuMs - clientsBefore.cpuMs;
        if (progress.received.every((n) => n >= emitted) || Date.now() - drainStart > DRAIN_TIMEOUT_MS) break;
        await sleep(DRAIN_POLL_MS);
      }
      const cpu = process.threadCpuUsage(pocCpuBefore);
      const count = pulls.count - pullsBefore.count;
      return {
        report,
        drainMs: Date.now() - drainStart,
        pocCpuMs: (cpu.user + cpu.system) / 1_000,
        clientsCpuMs,
        wallMs: Date.now() - report.startedAt,
        pulls: {
          count,
          failed: pulls.failed - pullsBefore.failed,
          events_per_pull: round((pulls.events - pullsBefore.events) / Math.max(1, count), 1),
          mean_ms_with_events: round(
            (pulls.msWithEvents - pullsBefore.msWithEvents) / Math.max(1, pulls.withEvents - pullsBefore.withEvents),
            1,
          ),
        },
      };
    };
    const max = await runPhase({ kind: "max", name: "max", seconds: seconds(), window: MAX_WINDOW });
    await sleep(SETTLE_MS);
    const rate = await runPhase({ kind: "rate", name: "rate", seconds: seconds(), ratePerS: TARGET_RATE_PER_S });
    await sleep(SETTLE_MS);
    const light = await runPhase({ kind: "rate", name: "light", seconds: seconds(), ratePerS: LIGHT_RATE_PER_S });
    const final = await clients.ask({ type: "report" }, 30_000);
    if (final.type !== "report") throw new Error("the SSE clients answered out of turn");
    const errors = final.clients.map((c) => c.error).filter((e): e is string => e !== undefined);
    const maxResult = phaseResult(max, final.clients);
    const rateResult = phaseResult(rate, final.clients);
    const lightResult = phaseResult(light, final.clients);
    const otherRecords = final.clients.reduce((sum, c) => sum + c.otherRecords, 0);

    const summary = {
      members: MEMBER_COUNT,
      clients: CLIENT_COUNT,
      events_per_s: maxResult.events_per_s,
      emit_per_s_max: maxResult.emit_per_s,
      fan_out_per_s_max: maxResult.fan_out_per_s,
      delivery_p50_ms_max: maxResult.p50_ms,
      delivery_p99_ms_max: maxResult.p99_ms,
      delivery_p99_ms: rateResult.p99_ms,
      delivery_p50_ms: rateResult.p50_ms,
      delivery_max_ms: rateResult.max_ms,
      events_per_s_at_rate: rateResult.events_per_s,
      offered_per_s: TARGET_RATE_PER_S,
      delivery_p50_ms_at_light: lightResult.p50_ms,
      delivery_p99_ms_at_light: lightResult.p99_ms,
      light_offered_per_s: LIGHT_RATE_PER_S,
      lost: maxResult.lost + rateResult.lost + lightResult.lost,
      duplicated: maxResult.duplicated + rateResult.duplicated + lightResult.duplicated,
      dropped_at_members: maxResult.dropped_at_members + rateResult.dropped_at_members + lightResult.dropped_at_members,
      cpu_us_per_event_poc_thread: maxResult.cpu_us_per_event_poc_thread,
      cpu_us_per_event_clients_thread: maxResult.cpu_us_per_event_clients_thread,
      cpu_us_per_event_members_process: maxResult.cpu_us_per_event_members_process,
      pull_ms_mean_max: maxResult.pulls.mean_ms_with_events,
      client_errors: errors.length,
      other_records: otherRecords,
      load_average_1m: round(loadavg()[0] ?? 0, 2),
    } satisfies Summary;
    const file = writeResults("events", summary, {
      seconds_per_phase: seconds(),
      max_window: MAX_WINDOW,
      targets: TARGETS,
      phases: { max: maxResult, rate: rateResult, light: lightResult },
      client_errors: errors,
    });
    const verdict = (ok: boolean): string => (ok ? "ok" : "MISSED");
    console.log(
      `events: ${MEMBER_COUNT} BMCs -> PoC -> ${CLIENT_COUNT} SSE clients; as fast as they can ` +
        `${summary.events_per_s} events/s to every client (emitted ${maxResult.emit_per_s}/s, ` +
        `${maxResult.fan_out_per_s} deliveries/s, p99 ${maxResult.p99_ms} ms) ` +
        `[>= ${TARGETS.events_per_s}: ${verdict(summary.events_per_s >= TARGETS.events_per_s)}]; ` +
        `at ${TARGET_RATE_PER_S}/s offered ${rateResult.events_per_s} events/s, p50 ${rateResult.p50_ms} ms, ` +
        `p99 ${summary.delivery_p99_ms} ms [<= ${TARGETS.delivery_p99_ms}: ${verdict(summary.delivery_p99_ms <= TARGETS.delivery_p99_ms)}]; ` +
        `at ${LIGHT_RATE_PER_S}/s p50 ${lightResult.p50_ms} ms, p99 ${lightResult.p99_ms} ms; ` +
        `CPU per event: PoC ${summary.cpu_us_per_event_poc_thread} us, clients ${summary.cpu_us_per_event_clients_thread} us, ` +
        `members ${summary.cpu_us_per_event_members_process} us; ` +
        `lost ${summary.lost} [${TARGETS.lost}: ${verdict(summary.lost === TARGETS.lost)}], duplicated ${summary.duplicated}, ` +
        `dropped at members ${summary.dropped_at_members}, client errors ${summary.client_errors}; ` +
        `load ${summary.load_average_1m} -> ${file}`,
    );
  } finally {
    for (const closer of closers.reverse()) await Promise.resolve(closer()).catch(() => undefined);
    child.stdin?.end();
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

if (process.env[ROLE_ENV] === "members") await runMembers(MEMBER_COUNT, process.env[SECRET_ENV] ?? "");
else {
  await main();
  // Timers of stopped libp2p and HTTP machinery would keep the process a minute longer: the results are out.
  process.exit(0);
}
