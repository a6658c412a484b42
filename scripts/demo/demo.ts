// `npm run demo`: three simulated BMCs, each with its own Conclave agent, on loopback. Prints the
// VIP, a login and commands to paste, then stays up until Ctrl-C (or --exit-after MS /
// CONCLAVE_DEMO_EXIT_AFTER_MS), and stops cleanly: SIGTERM to every child, wait, temp dir removed.
//   node scripts/demo/demo.ts [--timing lan|fast] [--exit-after MS]
// Writes <temp dir>/demo.json (pids, VIP URL, certificate, configs) for scripts and the demo's test.
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import {
  eventually,
  type LoopbackGroup,
  SOURCE_CLI,
  SOURCE_DAEMON,
  startLoopbackGroup,
  type TimingProfile,
  waitForVip,
} from "./loopback-group.ts";
import { readUnitMemoryEnvironment } from "./unit-environment.ts";

const GROUP_SIZE = 3;
const CLUSTER_NAME = "demo";
/** Bound on the cluster forming and the VIP answering (`lan`: 3 s of settling before the bootstrap). */
const VIP_TIMEOUT_MS = 90_000;
/** Bound on the facade listing the members' systems after the VIP first answers. */
const SYSTEMS_TIMEOUT_MS = 30_000;
/** Bound on waiting for the autopilot to promote the learners (10 s of stability on `lan`). */
const VOTERS_TIMEOUT_MS = 15_000;
/** Longest --exit-after accepted: a day. */
const EXIT_AFTER_MS_MAX = 86_400_000;
export const DEMO_FILE_NAME = "demo.json";

const USAGE = "usage: node scripts/demo/demo.ts [--timing lan|fast] [--exit-after MS]";

function usageError(message: string): never {
  console.error(`demo: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseOptions(): { timing: TimingProfile; exitAfterMs: number | undefined } {
  let values: { timing?: string; "exit-after"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        timing: { type: "string", default: "lan" },
        "exit-after": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const timing = values.timing ?? "lan";
  if (timing !== "lan" && timing !== "fast") usageError(`--timing must be "lan" or "fast", not "${timing}"`);
  const rawExitAfter = values["exit-after"] ?? process.env.CONCLAVE_DEMO_EXIT_AFTER_MS;
  let exitAfterMs: number | undefined;
  if (rawExitAfter !== undefined && rawExitAfter !== "") {
    exitAfterMs = Number(rawExitAfter);
    if (!/^\d+$/.test(rawExitAfter) || exitAfterMs < 1 || exitAfterMs > EXIT_AFTER_MS_MAX) {
      usageError(
        `--exit-after (or CONCLAVE_DEMO_EXIT_AFTER_MS) must be 1 to ${EXIT_AFTER_MS_MAX} ms, not "${rawExitAfter}"`,
      );
    }
  }
  return { timing, exitAfterMs };
}

/** The first system's path on the VIP, as the facade names it (`<nodeName>_<id>`). */
/** Every member's system, as the facade lists them, once every member is in the list. */
async function allSystemPaths(group: LoopbackGroup, baseUrl: string, authorization: string): Promise<string[]> {
  return eventually(
    "the facade to list the members' systems",
    async () => {
      const answer = await httpGetWithAuth(`${baseUrl}/redfish/v1/Systems`, authorization);
      if (answer.status !== 200) return undefined;
      const members = (JSON.parse(answer.body) as { Members?: { "@odata.id"?: string }[] }).Members ?? [];
      const paths = members.map((member) => member["@odata.id"]).filter((id): id is string => typeof id === "string");
      return paths.length >= group.agents.length ? paths : undefined;
    },
    SYSTEMS_TIMEOUT_MS,
  );
}

async function httpGetWithAuth(url: string, authorization: string) {
  const { request } = await import("node:https");
  return new Promise<{ status: number; body: string }>((resolveAnswer, reject) => {
    const req = request(url, { method: "GET", rejectUnauthorized: false, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(3_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Lines of an agent's log shown when the demo cannot start. */
const LOG_TAIL_LINES = 20;

function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-LOG_TAIL_LINES).join("\n");
  } catch {
    return "(no log)";
  }
}

function shellQuote(value: string): string {
  return /^[\w./:@=-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

const { timing, exitAfterMs } = parseOptions();
const agentEnvironment = readUnitMemoryEnvironment();
console.log(
  `Starting ${GROUP_SIZE} simulated BMCs and ${GROUP_SIZE} Conclave agents on loopback (timing ${timing})...`,
);

let group: LoopbackGroup | undefined;
let starting: Promise<LoopbackGroup> | undefined;
let stopping = false;
async function stopAndExit(reason: string, code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  console.log(`\n${reason}: stopping the agents and the simulators...`);
  // Stopped while starting: wait for the start (it stops what it started if it fails), then stop.
  const started = group ?? (await starting?.catch(() => undefined));
  await started?.stop();
  console.log("Stopped; the demo's files are removed.");
  process.exit(code);
}
// The children run in their own process groups, so Ctrl-C reaches only this process, which
// stops them in order (a second Ctrl-C exits at once).
process.on("SIGINT", () => void stopAndExit("Ctrl-C", 0));
process.on("SIGTERM", () => void stopAndExit("SIGTERM", 0));

try {
  starting = startLoopbackGroup({
    size: GROUP_SIZE,
    clusterName: CLUSTER_NAME,
    timing,
    daemonCommand: [process.execPath, SOURCE_DAEMON],
    cliCommand: [process.execPath, SOURCE_CLI],
    agentEnvironment,
    tempPrefix: "conclave-demo-",
  });
  group = await starting;
  const started = group;
  const root = await waitForVip(group, VIP_TIMEOUT_MS).catch((error: unknown) => {
    // The logs go with the temp dir: show their ends before stopping.
    for (const agent of started.agents) console.error(`--- ${agent.name} ---\n${logTail(agent.logFile)}`);
    throw error;
  });
  // transfer-leadership needs voters: the autopilot promotes learners once they have been stable.
  const voters = await eventually(
    "every member to be a voter",
    async () => {
      const current = await started.status(0);
      return current.members.every((member) => member.role === "voter") ? current : undefined;
    },
    VOTERS_TIMEOUT_MS,
  ).catch(() => undefined);
  const status = voters ?? (await group.status(0));
  const learners = status.members.filter((member) => member.role !== "voter").map((member) => member.name);
  const pocName = status.members.find((member) => member.isPoC)?.name;
  const poc = group.agents.find((agent) => agent.name === pocName);
  const authorization = `Basic ${Buffer.from(`${group.adminUserName}:${group.adminPassword}`).toString("base64")}`;
  const tls = root.url.startsWith("https:");
  const systemPaths = tls ? await allSystemPaths(group, root.url, authorization).catch(() => []) : [];
  const systemPath = systemPaths[0];

  const cli = `node ${relative(process.cwd(), SOURCE_CLI) || SOURCE_CLI}`;
  const config = (index: number) => `--config ${shellQuote((group as LoopbackGroup).agents[index]?.configFile ?? "")}`;
  const curl = `curl -s ${tls ? `--cacert ${shellQuote(group.certFile)} ` : ""}-u ${shellQuote(`${group.adminUserName}:${group.adminPassword}`)}`;
  const other = group.agents.find((agent) => agent !== poc)?.name ?? "bmc2";
  const demoFile = join(group.dir, DEMO_FILE_NAME);
  writeFileSync(
    demoFile,
    `${JSON.stringify(
      {
        vipUrl: root.url,
        clusterUuid: root.uuid,
        certFile: group.certFile,
        adminUserName: group.adminUserName,
        adminPassword: group.adminPassword,
        pocName: pocName ?? null,
        agents: group.agents.map((agent) => ({ name: agent.name, pid: agent.child.pid, configFile: agent.configFile })),
        simulators: group.simulators.map((simulator) => ({
          name: simulator.name,
          pid: simulator.child.pid,
          url: simulator.url,
        })),
      },
      null,
      2,
    )}\n`,
  );

  const lines = [
    "",
    `Conclave is up: one Redfish service for ${GROUP_SIZE} BMCs at the VIP ${group.vip}.`,
    "",
    `  VIP URL       ${root.url}/redfish/v1   (cluster UUID ${root.uuid})`,
    `  login         ${group.adminUserName} / ${group.adminPassword}`,
    ...(tls ? [`  certificate   ${group.certFile}   (self-signed by conclave init for the VIP)`] : []),
    `  demo files    ${group.dir}`,
    "",
    "  agent  pid      BMC simulator",
    ...group.agents.map(
      (agent, i) =>
        `  ${agent.name.padEnd(6)} ${String(agent.child.pid).padEnd(8)} ${group?.simulators[i]?.url ?? ""}${agent === poc ? "   <- PoC (holds the VIP)" : ""}`,
    ),
    "",
    "Try (from the repository root):",
    "",
    "  # the Systems collection of the whole group, through the VIP",
    `  ${curl} ${root.url}/redfish/v1/Systems`,
    "",
    "  # power-cycle a system through the VIP (the PoC forwards it to that system's BMC)",
    `  ${curl} -X POST -H 'content-type: application/json' -d '{"ResetType":"PowerCycle"}' \\`,
    `    ${root.url}${systemPath ?? "/redfish/v1/Systems/bmc1_system"}/Actions/ComputerSystem.Reset`,
    "",
    "  # power-cycle every system, one BMC at a time, as a task that survives a failover (202 + task monitor)",
    `  ${curl} -i -X POST -H 'content-type: application/json' \\`,
    `    -d '{"TargetURIs":[${(systemPaths.length > 0 ? systemPaths : ["/redfish/v1/Systems/bmc1_system"]).map((uri) => `"${uri}"`).join(",")}],"ResetType":"PowerCycle","BatchSize":1,"DelayBetweenBatchesInSeconds":2}' \\`,
    `    ${root.url}/redfish/v1/AggregationService/Actions/AggregationService.Reset`,
    `  ${curl} '${root.url}/redfish/v1/TaskService/Tasks?$expand=.'`,
    "",
    "  # every BMC's events in one stream (Ctrl-C to stop)",
    `  ${curl} -N ${root.url}/redfish/v1/EventService/SSE`,
    "",
    "  # the cluster as the agents see it",
    `  ${cli} status ${config(0)}`,
    "",
    `  # hand the PoC role to ${other} (the VIP follows)`,
    ...(learners.length === 0
      ? []
      : [
          `  # (${learners.join(", ")} ${learners.length === 1 ? "is" : "are"} still learners: a learner cannot lead; the autopilot`,
          "  #  promotes a learner after 10 s of good health, and `status` shows why one is not healthy)",
        ]),
    `  ${cli} transfer-leadership --to ${other} ${config(0)}`,
    "",
    "  # kill the PoC and watch the VIP move (find the PoC's pid with `status`; the demo leaves it down)",
    `  kill -9 ${poc?.child.pid ?? "<PoC pid>"}`,
    `  while sleep 0.5; do ${curl} -o /dev/null -w '%{http_code}\\n' ${root.url}/redfish/v1; done`,
    "",
    exitAfterMs === undefined
      ? "Press Ctrl-C to stop everything."
      : `Stopping by itself in ${exitAfterMs} ms (Ctrl-C stops it sooner).`,
  ];
  console.log(lines.join("\n"));
  if (exitAfterMs !== undefined) setTimeout(() => void stopAndExit(`--exit-after ${exitAfterMs} ms`, 0), exitAfterMs);
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  await stopAndExit("failed", 1);
}
