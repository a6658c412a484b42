// Test helpers: real `conclaved` processes on loopback, each with its own state dir, config and log
// file under one temp dir; a tiny HTTP-over-unix-socket client for the control API; bounded waits.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeAdminCredentialFile } from "../../src/facade-state/admin-credential-file.ts";
import { generateClusterSecret } from "../../src/identity/cluster-secret.ts";

const BIN = resolve(import.meta.dirname, "../../src/bin/conclaved.ts");
const CLI = resolve(import.meta.dirname, "../../src/bin/conclave.ts");
/** Bound on one `conclave` CLI run. */
const CLI_TIMEOUT_MS = 20_000;
/** Bound on one HTTP request in these tests. */
const REQUEST_TIMEOUT_MS = 3_000;
/** Every test cluster's first administrator (admin.yaml in the cluster's dir). */
export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "conclave-test-admin";
/** Basic auth of that administrator, for the VIP's authenticated routes. */
export const ADMIN_AUTHORIZATION = `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString("base64")}`;

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

/** A VIP in 127.0.0.0/8 unlikely to be used by any other test run. */
export function randomLoopbackVip(): string {
  const byte = () => 1 + Math.floor(Math.random() * 253);
  return `127.${byte()}.${byte()}.${byte()}`;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  json<T = unknown>(): T;
}

function send(
  options: { socketPath?: string; host?: string; port?: number; path: string; method: string },
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        ...options,
        timeout: REQUEST_TIMEOUT_MS,
        headers:
          payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => collectAnswer(res, resolveAnswer, reject),
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${options.path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Reads a whole response into an Answer. */
function collectAnswer(
  res: IncomingMessage,
  resolveAnswer: (answer: Answer) => void,
  reject: (error: Error) => void,
): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
  });
  res.on("error", reject);
}

/** One HTTP or HTTPS request; HTTPS trusts `ca` (the cluster's self-signed certificate) only. */
export function fetchAnswer(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; ca?: string } = {},
): Promise<Answer> {
  const parsed = new URL(url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolveAnswer, reject) => {
    const send = parsed.protocol === "https:" ? httpsRequest : request;
    const req = send(
      {
        host: parsed.hostname,
        port: Number(parsed.port),
        path: `${parsed.pathname}${parsed.search}`,
        method: options.method ?? "GET",
        timeout: REQUEST_TIMEOUT_MS,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        headers: {
          ...options.headers,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }),
        },
      },
      (res) => collectAnswer(res, resolveAnswer, reject),
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return fetchAnswer(url, { headers });
}

/** Polls `probe` until it returns a value (not undefined) or fails with `what` after `timeoutMs`. */
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
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface AgentSpec {
  /** Override of the shared secret file (a node with the wrong secret). */
  readonly secret?: string;
  readonly extra?: Record<string, unknown>;
}

export class Agent {
  readonly index: number;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly p2pPort: number;
  child: ChildProcess | undefined;
  exit: Promise<number | null> | undefined;
  /** A command that runs the agent, e.g. `ip netns exec NS` (it must exec, keeping the pid). */
  launcher: readonly string[] = [];

  constructor(index: number, dir: string, configFile: string, p2pPort: number) {
    this.index = index;
    this.dir = dir;
    this.configFile = configFile;
    this.logFile = join(dir, `agent-${index}.log`);
    this.p2pPort = p2pPort;
  }

  get socketPath(): string {
    return join(this.dir, `state-${this.index}`, "control.sock");
  }

  start(): void {
    const command = [...this.launcher, process.execPath, BIN, "--config", this.configFile];
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CONCLAVE_LOG_LEVEL: "info", NOTIFY_SOCKET: "" },
    });
    const append = (chunk: Buffer) => writeFileSync(this.logFile, chunk, { flag: "a" });
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.child = child;
    this.exit = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    if (!this.running) return this.child?.exitCode ?? null;
    this.child?.kill(signal);
    return this.exit as Promise<number | null>;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** The node's own HTTP address, from its "conclaved ready" line. */
  nodeHttpUrl(): string | undefined {
    for (const line of this.log().split("\n").reverse()) {
      if (!line.includes('"conclaved ready"')) continue;
      return (JSON.parse(line) as { nodeHttp: string }).nodeHttp;
    }
    return undefined;
  }

  /** Runs the real `conclave` CLI against this agent's config. */
  cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolveRun) => {
      execFile(
        process.execPath,
        [CLI, ...args, "--config", this.configFile],
        { timeout: CLI_TIMEOUT_MS, encoding: "utf8" },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
          resolveRun({ code, stdout, stderr });
        },
      );
    });
  }

  control(method: "GET" | "POST", path: string, body?: unknown): Promise<Answer> {
    return send({ socketPath: this.socketPath, path, method }, body);
  }
}

export interface Cluster {
  readonly dir: string;
  readonly agents: Agent[];
  readonly vip: string;
  readonly facadePort: number;
  readonly vipUrl: string;
  /** Adds an agent with its own config (not started). */
  add(spec?: AgentSpec): Promise<Agent>;
  /** SIGKILLs every agent still running and removes the temp dir. */
  destroy(): Promise<void>;
  /** The last lines of every agent's log, for a failed test's report. */
  logs(lines?: number): string;
}

export async function createCluster(options: {
  size: number;
  bootstrapExpect: number;
  name: string;
  /**
   * Runs once the temp dir and the VIP are known, before any config is written (certificates,
   * simulators); returns each agent's extra config keys.
   */
  setUp?: (context: {
    readonly dir: string;
    readonly vip: string;
  }) => Promise<(index: number) => Record<string, unknown>>;
}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), `conclave-daemon-${options.name}-`));
  const secretFile = join(dir, "cluster.key");
  writeFileSync(secretFile, generateClusterSecret(), { mode: 0o600 });
  const vip = randomLoopbackVip();
  const adminCredentialFile = join(dir, "admin.yaml");
  await writeAdminCredentialFile(adminCredentialFile, { userName: ADMIN_USER, password: ADMIN_PASSWORD });
  const extraFor = (await options.setUp?.({ dir, vip })) ?? (() => ({}));
  const facadePort = await freePort();
  const ports: number[] = [];
  for (let i = 0; i < options.size; i++) ports.push(await freePort());
  const peers = ports.map((port) => `/ip4/127.0.0.1/tcp/${port}`);
  const agents: Agent[] = [];
  const write = (index: number, port: number, spec: AgentSpec): Agent => {
    const configFile = join(dir, `agent-${index}.json`);
    let secret = secretFile;
    if (spec.secret !== undefined) {
      secret = join(dir, `other-${index}.key`);
      writeFileSync(secret, spec.secret, { mode: 0o600 });
    }
    const config = {
      clusterName: options.name,
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      peers,
      mdns: false,
      timing: "fast",
      bootstrapExpect: options.bootstrapExpect,
      secretFile: secret,
      stateDir: join(dir, `state-${index}`),
      nodeHttp: "127.0.0.1:0",
      facadePort,
      vip: { mode: "loopback", address: vip },
      nodeName: `agent-${index}`,
      adminCredentialFile,
      // Plain HTTP on the VIP unless a test gives the cluster a certificate.
      facadeTls: { enabled: false },
      bmc: { redfishUrl: "http://127.0.0.1:9", credentialsFile: join(dir, "bmc-credentials") },
      // No BMC in these tests, and a busy test machine must not make a PoC hand over for its CPU.
      health: {
        bmcUnreachableGraceMs: 600_000,
        cpu: { warningPercent: 99, criticalPercent: 100 },
        memory: { warningPercent: 99, criticalPercent: 100 },
        disk: { warningPercent: 99, criticalPercent: 100 },
      },
      ...spec.extra,
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    return new Agent(index, dir, configFile, port);
  };
  for (let i = 0; i < options.size; i++) agents.push(write(i, ports[i] as number, { extra: extraFor(i) }));
  return {
    dir,
    agents,
    vip,
    facadePort,
    vipUrl: `http://${vip}:${facadePort}`,
    async add(spec = {}) {
      const agent = write(agents.length, await freePort(), spec);
      agents.push(agent);
      return agent;
    },
    async destroy() {
      await Promise.all(agents.map((agent) => agent.kill("SIGKILL")));
      rmSync(dir, { recursive: true, force: true });
    },
    logs(lines = 40) {
      return agents
        .map((agent) => `--- agent ${agent.index} ---\n${agent.log().split("\n").slice(-lines).join("\n")}`)
        .join("\n");
    },
  };
}

export function otherSecret(): string {
  return generateClusterSecret();
}
