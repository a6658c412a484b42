// A group of simulated BMCs, each with its own Conclave agent, on loopback: what `npm run demo`
// shows and what the deploy tests boot from the bundle. One temp dir holds everything (secret,
// configs, state dirs, logs); `stop()` sends SIGTERM to every child, waits for each by pid (SIGKILL
// after CHILD_EXIT_TIMEOUT_MS) and removes the dir. Helpers copied in spirit from
// packages/agent/test/daemon/agents.ts (config shape, free ports, loopback VIP), not imported: that
// file belongs to the agent's tests and changes with them.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const SOURCE_DAEMON = join(REPO_ROOT, "packages/agent/src/bin/conclaved.ts");
export const SOURCE_CLI = join(REPO_ROOT, "packages/agent/src/bin/conclave.ts");
export const SIMULATOR_CLI = join(REPO_ROOT, "packages/bmc-simulator/src/cli.ts");

/** Bound on a simulator printing its URL after being started. */
const SIMULATOR_START_TIMEOUT_MS = 20_000;
/** Bound on a child exiting after SIGTERM (the PoC hands over for up to 3 s first) before SIGKILL. */
export const CHILD_EXIT_TIMEOUT_MS = 10_000;
/** Bound on one `conclave` CLI run. */
const CLI_TIMEOUT_MS = 20_000;
/** Bound on one HTTP request to the VIP. */
const REQUEST_TIMEOUT_MS = 3_000;
/** Bound on one HTTP answer body kept in memory. */
const RESPONSE_BYTES_MAX = 1024 * 1024;
/** Pause between two probes while waiting. */
const POLL_INTERVAL_MS = 200;
/** Entropy of the generated administrator password (16 bytes: 22 characters). */
const ADMIN_PASSWORD_BYTES = 16;
/** Sizes this helper accepts: one cluster of a few agents on one host. */
export const GROUP_SIZE_MAX = 7;

/** Credentials of the simulated BMCs (the simulator's default administrator). */
export const SIMULATOR_USERNAME = "admin";
export const SIMULATOR_PASSWORD = "admin";

export type TimingProfile = "lan" | "fast";

export interface LoopbackGroupInit {
  readonly size: number;
  readonly clusterName: string;
  readonly timing: TimingProfile;
  /** How to run `conclaved` and `conclave`: argv prefixes, e.g. [node, "dist/conclaved.mjs"]. */
  readonly daemonCommand: readonly string[];
  readonly cliCommand: readonly string[];
  /** Variables set for the agents only (e.g. the unit's NODE_OPTIONS and MALLOC_ARENA_MAX). */
  readonly agentEnvironment?: Readonly<Record<string, string>>;
  /** Prefix of the temp dir's name. */
  readonly tempPrefix?: string;
}

export interface GroupSimulator {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
}

export interface GroupAgent {
  readonly name: string;
  readonly configFile: string;
  readonly socketPath: string;
  readonly logFile: string;
  readonly child: ChildProcess;
}

export interface LoopbackGroup {
  readonly dir: string;
  readonly vip: string;
  readonly facadePort: number;
  readonly secretFile: string;
  /** The facade's self-signed certificate (`curl --cacert`). */
  readonly certFile: string;
  /** The first Redfish administrator, from `conclave init`. */
  readonly adminUserName: string;
  readonly adminPassword: string;
  readonly simulators: readonly GroupSimulator[];
  readonly agents: readonly GroupAgent[];
  /** Every child's pid (simulators and agents), for checks that nothing is left behind. */
  pids(): number[];
  /** Runs the `conclave` CLI against agent `index`'s config. */
  cli(index: number, args: readonly string[]): Promise<CliRun>;
  /** The status document of agent `index` (`conclave status --json`). */
  status(index: number): Promise<GroupStatus>;
  /** Stops every child (SIGTERM, wait, SIGKILL after the bound) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** What `conclave init --json` reports (the part used here). */
interface InitResult {
  readonly secretFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly adminFile: string;
  readonly adminUserName: string;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The part of the agent's StatusDocument the demo and the tests read. */
export interface GroupStatus {
  readonly cluster: { readonly name: string; readonly uuid: string | null };
  readonly term: number;
  readonly pocId: string | null;
  readonly members: readonly {
    readonly id: string;
    readonly name: string;
    readonly role: "voter" | "learner" | "witness";
    readonly isPoC: boolean;
  }[];
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** A VIP in 127.0.0.0/8 unlikely to be used by anyone else on this host (never 127.0.0.x). */
export function randomLoopbackVip(): string {
  const byte = (low: number) => low + Math.floor(Math.random() * (255 - low));
  return `127.${byte(1)}.${byte(0)}.${byte(1)}`;
}

/**
 * GET on the VIP. The facade may serve TLS with a self-signed certificate (the demo has no CA),
 * so `https:` is asked without verification; `http:` is plain.
 */
export function httpGet(url: string): Promise<HttpAnswer> {
  const parsed = new URL(url);
  const request = parsed.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      parsed,
      {
        method: "GET",
        timeout: REQUEST_TIMEOUT_MS,
        rejectUnauthorized: false,
        headers: { accept: "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > RESPONSE_BYTES_MAX)
            req.destroy(new Error(`answer from ${url} exceeds ${RESPONSE_BYTES_MAX} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () =>
          resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Polls `probe` until it returns a value (not undefined); fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const last = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, POLL_INTERVAL_MS));
  }
}

export interface ServiceRootAnswer {
  readonly url: string;
  readonly uuid: string;
}

/**
 * The ServiceRoot on the VIP, over https (the facade) or http (the agent's own ServiceRoot before
 * the facade): the first scheme that answers 200 with a UUID.
 */
export async function getServiceRoot(vip: string, port: number): Promise<ServiceRootAnswer | undefined> {
  let lastError: unknown;
  for (const scheme of ["https", "http"]) {
    const url = `${scheme}://${vip}:${port}`;
    try {
      const answer = await httpGet(`${url}/redfish/v1`);
      if (answer.status !== 200) continue;
      const root = JSON.parse(answer.body) as { UUID?: unknown };
      if (typeof root.UUID === "string") return { url, uuid: root.UUID };
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError !== undefined) throw lastError;
  return undefined;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when `child` has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once("exit", () => resolveExit()));
}

/** SIGTERM, then SIGKILL if the child is still there after CHILD_EXIT_TIMEOUT_MS. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout("timeout"), CHILD_EXIT_TIMEOUT_MS);
  });
  if ((await Promise.race([done, timedOut])) === "timeout") {
    child.kill("SIGKILL");
    await done;
  }
  clearTimeout(timer);
}

function runCommand(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolveRun) => {
    execFile(
      argv[0] as string,
      argv.slice(1),
      { timeout: CLI_TIMEOUT_MS, encoding: "utf8", env: env ?? process.env },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}

/** Own process group: a Ctrl-C in the demo's terminal reaches the demo, which stops the children in order. */
function spawnChild(argv: readonly string[], env: NodeJS.ProcessEnv, log: WriteStream): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env, detached: true });
  child.stderr?.pipe(log, { end: false });
  return child;
}

async function startSimulator(name: string, dir: string, logs: WriteStream[]): Promise<GroupSimulator> {
  const log = createWriteStream(join(dir, `${name}-simulator.log`));
  logs.push(log);
  const child = spawnChild(
    [process.execPath, SIMULATOR_CLI, "--port", "0", "--name", name, "--log-level", "warn"],
    { ...process.env, NODE_OPTIONS: "" },
    log,
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buffered = "";
    const timer = setTimeout(
      () => reject(new Error(`simulator ${name} printed no URL within ${SIMULATOR_START_TIMEOUT_MS} ms`)),
      SIMULATOR_START_TIMEOUT_MS,
    );
    child.once("exit", (code) => reject(new Error(`simulator ${name} exited with ${code} before listening`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString("utf8");
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolveUrl((JSON.parse(buffered.slice(0, newline)) as { url: string }).url);
      } catch (error) {
        reject(new Error(`simulator ${name} printed ${JSON.stringify(buffered.slice(0, newline))}: ${String(error)}`));
      }
    });
  });
  return { name, url, child };
}

/**
 * The agents of a group share one host: its CPU and memory use say nothing about any one simulated
 * BMC, and a busy host would make every agent critical at once (no learner promoted, hand-overs
 * for nothing, a `member.health` entry at every flicker). Sampled and shown, never judged; the
 * BMC's reachability and the state dir's disk still are.
 */
const SHARED_HOST_HEALTH = { cpu: { judged: false }, memory: { judged: false } };

/**
 * Starts `size` simulators and `size` agents (static peers, loopback VIP, bootstrapExpect = size).
 * `conclave init` writes the cluster secret, the facade's certificate (for the VIP) and the first
 * administrator; each agent's config points at those files and holds what differs between agents
 * sharing one host (ports, state dir, node name, BMC URL).
 * On any failure everything started so far is stopped before the error is thrown.
 */
export async function startLoopbackGroup(init: LoopbackGroupInit): Promise<LoopbackGroup> {
  if (!Number.isInteger(init.size) || init.size < 1 || init.size > GROUP_SIZE_MAX) {
    throw new Error(`group size must be an integer from 1 to ${GROUP_SIZE_MAX}, not ${init.size}`);
  }
  const dir = mkdtempSync(join(tmpdir(), init.tempPrefix ?? "conclave-group-"));
  // A fresh password per group: the demo prints it, the tests log in with it.
  const adminPassword = randomBytes(ADMIN_PASSWORD_BYTES).toString("base64url");
  const simulators: GroupSimulator[] = [];
  const agents: GroupAgent[] = [];
  const logs: WriteStream[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(agents.map((agent) => terminate(agent.child)));
      await Promise.all(simulators.map((simulator) => terminate(simulator.child)));
      await Promise.all(logs.map((log) => new Promise((resolveEnd) => log.end(resolveEnd))));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    const vip = randomLoopbackVip();
    const adminPasswordFile = join(dir, "admin-password.txt");
    writeFileSync(adminPasswordFile, `${adminPassword}\n`, { mode: 0o600 });
    const initRun = await runCommand([
      ...init.cliCommand,
      "init",
      "--dir",
      dir,
      "--cluster-name",
      init.clusterName,
      "--vip",
      vip,
      "--admin-password-file",
      adminPasswordFile,
      "--json",
    ]);
    if (initRun.code !== 0) throw new Error(`conclave init failed (${initRun.code}): ${initRun.stderr.trim()}`);
    const written = JSON.parse(initRun.stdout) as InitResult;
    const credentialsFile = join(dir, "bmc-credentials.json");
    writeFileSync(credentialsFile, JSON.stringify({ username: SIMULATOR_USERNAME, password: SIMULATOR_PASSWORD }), {
      mode: 0o600,
    });

    for (let i = 1; i <= init.size; i++) simulators.push(await startSimulator(`bmc${i}`, dir, logs));

    const facadePort = await freePort();
    const ports: number[] = [];
    for (let i = 0; i < init.size; i++) ports.push(await freePort());
    const peers = ports.map((port) => `/ip4/127.0.0.1/tcp/${port}`);
    const env: NodeJS.ProcessEnv = { ...process.env, CONCLAVE_LOG_LEVEL: "info", NOTIFY_SOCKET: "" };
    Object.assign(env, init.agentEnvironment);
    for (let i = 0; i < init.size; i++) {
      const name = `bmc${i + 1}`;
      const stateDir = join(dir, `state-${name}`);
      const configFile = join(dir, `conclave-${name}.json`);
      const config = {
        clusterName: init.clusterName,
        listen: [peers[i]],
        peers,
        mdns: false,
        timing: init.timing,
        bootstrapExpect: init.size,
        secretFile: written.secretFile,
        facadeTls: { certFile: written.certFile, keyFile: written.keyFile },
        adminCredentialFile: written.adminFile,
        nodeName: name,
        stateDir,
        nodeHttp: "127.0.0.1:0",
        facadePort,
        vip: { mode: "loopback", address: vip },
        bmc: { redfishUrl: (simulators[i] as GroupSimulator).url, credentialsFile, verifyTls: false },
        health: SHARED_HOST_HEALTH,
      };
      writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
      const logFile = join(dir, `${name}-agent.log`);
      const log = createWriteStream(logFile);
      logs.push(log);
      const child = spawnChild([...init.daemonCommand, "--config", configFile], env, log);
      child.stdout?.pipe(log, { end: false });
      agents.push({ name, configFile, socketPath: join(stateDir, "control.sock"), logFile, child });
    }

    const cli = (index: number, args: readonly string[]): Promise<CliRun> => {
      const agent = agents[index];
      if (agent === undefined) throw new Error(`no agent ${index} in a group of ${agents.length}`);
      return runCommand([...init.cliCommand, ...args, "--config", agent.configFile]);
    };
    return {
      dir,
      vip,
      facadePort,
      secretFile: written.secretFile,
      certFile: written.certFile,
      adminUserName: written.adminUserName,
      adminPassword,
      simulators,
      agents,
      pids: () => [...simulators, ...agents].map((c) => c.child.pid).filter((pid): pid is number => pid !== undefined),
      cli,
      async status(index) {
        const run = await cli(index, ["status", "--json"]);
        if (run.code !== 0) throw new Error(`conclave status failed (${run.code}): ${run.stderr.trim()}`);
        return JSON.parse(run.stdout) as GroupStatus;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Waits until the VIP serves the ServiceRoot with the cluster's UUID as agent 0 reports it, and
 * returns the VIP's base URL and that UUID.
 */
export async function waitForVip(group: LoopbackGroup, timeoutMs: number): Promise<ServiceRootAnswer> {
  return eventually(
    `the VIP ${group.vip}:${group.facadePort} to serve the cluster's ServiceRoot`,
    async () => {
      const root = await getServiceRoot(group.vip, group.facadePort);
      if (root === undefined) return undefined;
      const status = await group.status(0);
      return status.cluster.uuid === root.uuid ? root : undefined;
    },
    timeoutMs,
  );
}
