// A real rack in network namespaces: N BMC namespaces, each running a simulated BMC (bmc-simulator,
// listening on the namespace's own 127.0.0.1 as bmcweb does) and a `conclaved` in `interface` VIP
// mode that finds the others by mDNS, plus a console namespace. Everything one run creates — the
// namespaces, processes, tmpfs mounts and the temp dir — is removed by `destroy()`, which tests call
// from `afterAll`, and which also runs on SIGINT/SIGTERM of the test process.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { StatusDocument } from "../../packages/agent/src/control/control-protocol.ts";
import { writeAdminCredentialFile } from "../../packages/agent/src/facade-state/admin-credential-file.ts";
import { generateClusterSecret } from "../../packages/agent/src/identity/cluster-secret.ts";
import { type HostPort, RackNetwork, run } from "./network.ts";
import { RackProcess } from "./process.ts";

/** Where the programs run from: this checkout, or CONCLAVE_RACK_ROOT (e.g. a clean worktree). */
const ROOT = process.env.CONCLAVE_RACK_ROOT ?? resolve(import.meta.dirname, "../..");
/**
 * A folder that keeps every process log of every rack when it is destroyed (one sub-folder per
 * rack), for diagnosing a failure the last lines printed by a test do not explain. Unset: nothing is kept.
 */
const KEEP_LOGS_DIR = process.env.CONCLAVE_RACK_KEEP_LOGS;
/** The agents' log level (CONCLAVE_RACK_LOG_LEVEL=debug for a diagnosis; `info` by default). */
const LOG_LEVEL = process.env.CONCLAVE_RACK_LOG_LEVEL ?? "info";
/** The programs a rack runs: the agent, its CLI and the simulated BMC. */
interface RackPrograms {
  readonly agent: string;
  readonly cli: string;
  readonly simulator: string;
}
const SOURCE_PROGRAMS: RackPrograms = Object.freeze({
  agent: join(ROOT, "packages/agent/src/bin/conclaved.ts"),
  cli: join(ROOT, "packages/agent/src/bin/conclave.ts"),
  simulator: join(ROOT, "packages/bmc-simulator/src/cli.ts"),
});

export const CLUSTER_PORT = 7420;
export const FACADE_PORT = 8443;
export const NODE_HTTP_PORT = 8444;
/** The simulated BMC's port on the namespace's loopback. */
export const BMC_PORT = 8000;
/** The VIP is host .100 of the rack's /24; BMCs are .1.., the console .200. */
const VIP_HOST = 100;
const CONSOLE_HOST = 200;
/** Bound on one control-socket request. */
const CONTROL_TIMEOUT_MS = 3_000;
/** Bound on one CLI run. */
const CLI_TIMEOUT_MS = 20_000;
/**
 * One character per BMC in its namespace and interface names (interface names stop at 15
 * characters); `z` is the console's.
 */
const NODE_KEYS = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** The most BMC namespaces one rack builds: one per key (61, the 32-BMC run included). */
export const RACK_SIZE_MAX = NODE_KEYS.length;
/** The agent's default `maxVoters`. */
const AUTOPILOT_MAX_VOTERS = 5;
/** The rack's first administrator (the console logs in with it). */
export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "rack-console-admin";
/** The simulated BMCs' own account (each agent's credentials file; tests that talk to a BMC use it too). */
export const BMC_USER = "conclave";
export const BMC_PASSWORD = "rack-bmc-password";

export interface RackOptions {
  /** BMC namespaces running simulator + agent. */
  readonly size: number;
  /** The last `witnesses` nodes are witnesses (no BMC, never lead): `size: 3, witnesses: 1` is 2 + witness. */
  readonly witnesses?: number;
  readonly timing?: "lan" | "fast";
  /** Each node's state dir on its own tmpfs of this many MiB (the disk-full fault needs it). */
  readonly stateTmpfsMiB?: number;
  /** Grace before an unreachable local BMC is critical (the PoC then hands over). */
  readonly bmcUnreachableGraceMs?: number;
  /** Run the agents with the systemd unit's memory settings (deploy/systemd/conclaved.service), as on a BMC. */
  readonly bmcMemorySettings?: boolean;
  /**
   * "bundle": run the agent, the CLI and the simulator as `pnpm bundle` builds them (esbuild, one
   * file each), as a BMC image carries them. Starting from one file costs a fraction of the CPU of
   * type-stripping hundreds of source files, which is what lets 32 BMCs start on a 2-core machine.
   * Default "source".
   */
  readonly programs?: "source" | "bundle";
}

/** What deploy/systemd/conclaved.service gives conclaved: a small V8 heap and two malloc arenas. */
export const BMC_MEMORY_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: "--max-old-space-size=48 --max-semi-space-size=1 --v8-pool-size=1",
  MALLOC_ARENA_MAX: "2",
});

export class RackNode {
  readonly index: number;
  readonly key: string;
  readonly name: string;
  readonly host: HostPort;
  readonly dir: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly witness: boolean;
  readonly agent: RackProcess;
  readonly simulator: RackProcess | undefined;
  private readonly cliBin: string;
  frozen = false;

  constructor(init: {
    index: number;
    key: string;
    host: HostPort;
    dir: string;
    configFile: string;
    stateDir: string;
    witness: boolean;
    programs: RackPrograms;
    agentEnv?: Readonly<Record<string, string>>;
  }) {
    this.index = init.index;
    this.key = init.key;
    this.name = `bmc${init.index + 1}`;
    this.host = init.host;
    this.dir = init.dir;
    this.stateDir = init.stateDir;
    this.configFile = init.configFile;
    this.witness = init.witness;
    this.cliBin = init.programs.cli;
    const launcher = ["ip", "netns", "exec", init.host.namespace, process.execPath];
    this.agent = new RackProcess(
      [...launcher, init.programs.agent, "--config", init.configFile],
      join(init.dir, "agent.log"),
      {
        CONCLAVE_LOG_LEVEL: LOG_LEVEL,
        NOTIFY_SOCKET: "",
        ...init.agentEnv,
      },
    );
    this.simulator = init.witness
      ? undefined
      : new RackProcess(
          [
            ...launcher,
            init.programs.simulator,
            "--port",
            String(BMC_PORT),
            "--host",
            "127.0.0.1",
            "--name",
            this.name,
            "--user",
            BMC_USER,
            "--password",
            BMC_PASSWORD,
            "--log-level",
            "warn",
          ],
          join(init.dir, "simulator.log"),
        );
  }

  get controlSocket(): string {
    return join(this.stateDir, "control.sock");
  }

  /** The agent's status document, or undefined when it does not answer. */
  async status(): Promise<StatusDocument | undefined> {
    if (!this.agent.running || this.frozen) return undefined;
    try {
      const answer = await controlRequest(this.controlSocket, "GET", "/v1/status");
      return answer.status === 200 ? (JSON.parse(answer.body) as StatusDocument) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs the real `conclave` CLI against this node's config (inside its namespace). */
  cli(args: readonly string[]): { code: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync(
        "ip",
        ["netns", "exec", this.host.namespace, process.execPath, this.cliBin, ...args, "--config", this.configFile],
        { encoding: "utf8", timeout: CLI_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] },
      );
      return { code: 0, stdout, stderr: "" };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { code: e.status ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  /** GET on the simulated BMC's admin endpoint from inside the namespace (no auth, never faulted). */
  simulatorAdmin(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): unknown {
    // No content-type without a body: the simulator (fastify) refuses an empty JSON body with 400.
    const headers = body === undefined ? "{}" : '{"content-type":"application/json"}';
    const script = `fetch(${JSON.stringify(`http://127.0.0.1:${BMC_PORT}${path}`)},{method:${JSON.stringify(method)},headers:${headers},body:${body === undefined ? "undefined" : JSON.stringify(JSON.stringify(body))},signal:AbortSignal.timeout(3000)}).then(async r=>{const t=await r.text();if(!r.ok){process.stderr.write(r.status+" "+t);process.exit(1)}process.stdout.write(t||"null")})`;
    const out = run(["ip", "netns", "exec", this.host.namespace, process.execPath, "-e", script]);
    return JSON.parse(out);
  }
}

/** Builds the agent, the CLI and the simulator with deploy/bundle/build.mjs into `outdir`. */
async function buildRackBundles(outdir: string): Promise<RackPrograms> {
  const build = (await import(
    pathToFileURL(join(ROOT, "deploy/bundle/build.mjs")).href
  )) as typeof import("../../deploy/bundle/build.mjs");
  await build.buildBundle({
    outdir,
    entries: { ...build.BUNDLE_ENTRIES, "bmc-simulator": SOURCE_PROGRAMS.simulator },
  });
  return {
    agent: join(outdir, "conclaved.mjs"),
    cli: join(outdir, "conclave.mjs"),
    simulator: join(outdir, "bmc-simulator.mjs"),
  };
}

function controlRequest(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveAnswer, reject) => {
    const req = request({ socketPath, path, method, timeout: CONTROL_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`control ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Polls `probe` until it returns a value or `timeoutMs` passes (then throws naming `what`). */
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
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${String(lastError)})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const liveRacks = new Set<Rack>();
let signalHandlersInstalled = false;
function installSignalCleanup(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const rack of liveRacks) rack.destroySync();
      process.exit(130);
    });
  }
}

export class Rack {
  readonly network: RackNetwork;
  readonly nodes: RackNode[] = [];
  readonly console: HostPort;
  readonly dir: string;
  readonly vip: string;
  /** Members that vote once formation settles: every node, up to the autopilot's 5 voters. */
  readonly voters: number;
  private readonly mounts: string[] = [];
  /** The bundles' temp dir, when the rack runs bundles. */
  private readonly bundleDir: string | undefined;

  private constructor(options: RackOptions, programs: RackPrograms, bundleDir: string | undefined) {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > RACK_SIZE_MAX) {
      throw new Error(`rack size must be 1..${RACK_SIZE_MAX}, got ${options.size}`);
    }
    installSignalCleanup();
    this.bundleDir = bundleDir;
    this.dir = mkdtempSync(join(tmpdir(), "conclave-rack-"));
    this.network = new RackNetwork();
    liveRacks.add(this);
    this.vip = this.network.addressOf(VIP_HOST);
    this.voters = Math.min(options.size, AUTOPILOT_MAX_VOTERS);
    this.console = this.network.addHost("z", CONSOLE_HOST);
    const secretFile = join(this.dir, "cluster.key");
    writeFileSync(secretFile, generateClusterSecret(), { mode: 0o600 });
    const credentialsFile = join(this.dir, "bmc-credentials.yaml");
    writeFileSync(credentialsFile, `username: ${BMC_USER}\npassword: "${BMC_PASSWORD}"\n`, { mode: 0o600 });
    const witnesses = options.witnesses ?? 0;
    for (let index = 0; index < options.size; index++) {
      const key = NODE_KEYS[index] as string;
      const host = this.network.addHost(key, index + 1);
      const dir = join(this.dir, `node-${index + 1}`);
      const stateDir = join(dir, "state");
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      if (options.stateTmpfsMiB !== undefined) {
        run(["mount", "-t", "tmpfs", "-o", `size=${options.stateTmpfsMiB}m,mode=0700`, "tmpfs", stateDir]);
        this.mounts.push(stateDir);
      }
      const witness = index >= options.size - witnesses;
      const config = {
        clusterName: `rack-${this.network.id.slice(-4)}`,
        listen: [`/ip4/0.0.0.0/tcp/${CLUSTER_PORT}`],
        peers: [],
        mdns: true,
        timing: options.timing ?? "lan",
        bootstrapExpect: options.size,
        secretFile,
        stateDir,
        interface: "eth0",
        vip: { mode: "interface", address: this.vip, prefix: 24 },
        facadePort: FACADE_PORT,
        nodeHttp: `0.0.0.0:${NODE_HTTP_PORT}`,
        role: witness ? "witness" : "voter",
        nodeName: `bmc${index + 1}`,
        adminCredentialFile: join(this.dir, "admin.yaml"),
        // Plain HTTP on the VIP: the probe measures failover, not TLS handshakes.
        facadeTls: { enabled: false },
        // A witness (e.g. on the management host) has no BMC of its own: no `bmc` section.
        ...(witness
          ? {}
          : {
              bmc: {
                redfishUrl: `http://127.0.0.1:${BMC_PORT}`,
                credentialsFile,
                requestTimeoutMs: 3_000,
                connectTimeoutMs: 1_000,
              },
            }),
        // The shared test machine's CPU and memory must not make a PoC hand over; the BMC and disk must.
        health: {
          bmcUnreachableGraceMs: options.bmcUnreachableGraceMs ?? 3_000,
          cpu: { judged: false },
          memory: { judged: false },
          disk: { warningPercent: 90, criticalPercent: 95 },
        },
      };
      const configFile = join(dir, "conclave.json");
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      const agentEnv = options.bmcMemorySettings === true ? BMC_MEMORY_ENV : {};
      this.nodes.push(new RackNode({ index, key, host, dir, configFile, stateDir, witness, programs, agentEnv }));
    }
  }

  static async create(options: RackOptions): Promise<Rack> {
    let programs = SOURCE_PROGRAMS;
    let bundleDir: string | undefined;
    if (options.programs === "bundle") {
      bundleDir = mkdtempSync(join(tmpdir(), "conclave-rack-bundle-"));
      try {
        programs = await buildRackBundles(bundleDir);
      } catch (error) {
        rmSync(bundleDir, { recursive: true, force: true });
        throw error;
      }
    }
    const rack = new Rack(options, programs, bundleDir);
    await writeAdminCredentialFile(join(rack.dir, "admin.yaml"), { userName: ADMIN_USER, password: ADMIN_PASSWORD });
    return rack;
  }

  get facadeUrl(): string {
    return `http://${this.vip}:${FACADE_PORT}`;
  }

  /**
   * Logs the console in through the VIP (POST SessionService/Sessions) and returns the token; the
   * probe keeps using it across every failover.
   */
  async login(timeoutMs: number): Promise<string> {
    const script = `fetch(${JSON.stringify(`${this.facadeUrl}/redfish/v1/SessionService/Sessions`)},{method:"POST",headers:{"content-type":"application/json"},body:${JSON.stringify(JSON.stringify({ UserName: ADMIN_USER, Password: ADMIN_PASSWORD }))},signal:AbortSignal.timeout(3000)}).then(r=>process.stdout.write(String(r.status)+" "+(r.headers.get("x-auth-token")??"")))`;
    return eventually(
      "a console session through the VIP",
      async () => {
        const out = run(["ip", "netns", "exec", this.console.namespace, process.execPath, "-e", script], {
          allowFail: true,
        }).trim();
        const [status, token] = out.split(" ");
        return status === "201" && token !== undefined && token !== "" ? token : undefined;
      },
      timeoutMs,
    );
  }

  /** Starts every simulator, then every agent. */
  start(): void {
    for (const node of this.nodes) node.simulator?.start();
    for (const node of this.nodes) node.agent.start();
  }

  nodeByNamespace(namespace: string): RackNode | undefined {
    return this.nodes.find((node) => node.host.namespace === namespace);
  }

  async statuses(): Promise<(StatusDocument | undefined)[]> {
    return Promise.all(this.nodes.map((node) => node.status()));
  }

  /**
   * Waits until every running, unfrozen node of `among` (default: all) agrees on one PoC holding
   * its lease and the VIP, and knows the cluster UUID. Returns the PoC and the status documents.
   */
  async converged(
    timeoutMs: number,
    among: readonly RackNode[] = this.nodes,
  ): Promise<{ poc: RackNode; term: number; uuid: string; docs: StatusDocument[] }> {
    return eventually(
      "the rack to agree on one PoC holding the lease and the VIP",
      async () => {
        const live = among.filter((node) => node.agent.running && !node.frozen);
        const docs = await Promise.all(live.map((node) => node.status()));
        if (docs.some((doc) => doc === undefined)) return undefined;
        const all = docs as StatusDocument[];
        const pocId = all[0]?.pocId;
        if (pocId === null || pocId === undefined) return undefined;
        if (!all.every((doc) => doc.pocId === pocId && doc.cluster.uuid !== null)) return undefined;
        // Formation admits joiners as learners and the autopilot promotes them after a stable
        // period: until then a single voter's death would stop the cluster.
        if (!all.every((doc) => doc.members.filter((member) => member.role !== "learner").length >= this.voters))
          return undefined;
        const pocDoc = all.find((doc) => doc.node.id === pocId);
        if (pocDoc === undefined || !pocDoc.lease.heldHere || !pocDoc.vip.heldHere) return undefined;
        const poc = live[all.indexOf(pocDoc)] as RackNode;
        return { poc, term: pocDoc.term, uuid: pocDoc.cluster.uuid as string, docs: all };
      },
      timeoutMs,
    );
  }

  /**
   * Agent-to-agent TCP connections that run through the VIP, as `<namespace>: <local> <peer>`:
   * there must be none (when the VIP moves, one end of such a connection dies without the other
   * hearing of it).
   */
  connectionsThroughVip(): string[] {
    const found: string[] = [];
    for (const node of this.nodes) {
      const lines = this.network.exec(node.host.namespace, ["ss", "-tnH", "state", "established"], {
        allowFail: true,
      });
      for (const line of lines.split("\n")) {
        const [local, peer] = line.trim().split(/\s+/).slice(-2);
        if (local === undefined || peer === undefined) continue;
        const onClusterPort = local.endsWith(`:${CLUSTER_PORT}`) || peer.endsWith(`:${CLUSTER_PORT}`);
        const throughVip = local.startsWith(`${this.vip}:`) || peer.startsWith(`${this.vip}:`);
        if (onClusterPort && throughVip) found.push(`${node.name}: ${local} ${peer}`);
      }
    }
    return found;
  }

  /** The last lines of every process log, for a failed test's report. */
  logs(lines = 30): string {
    return this.nodes
      .map(
        (node) =>
          `--- ${node.name} (${node.host.namespace}) agent ---\n${node.agent.tail(lines)}` +
          (node.simulator === undefined ? "" : `\n--- ${node.name} simulator ---\n${node.simulator.tail(8)}`),
      )
      .join("\n");
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.flatMap((node) => {
        if (node.frozen) node.agent.child?.kill("SIGCONT");
        return [node.agent.kill("SIGKILL", 2_000), node.simulator?.kill("SIGKILL", 2_000)];
      }),
    );
    this.destroySync();
  }

  /** Copies every process log to CONCLAVE_RACK_KEEP_LOGS/<rack>/<node>-<process>.log, when set. */
  private keepLogs(): void {
    if (KEEP_LOGS_DIR === undefined) return;
    const target = join(KEEP_LOGS_DIR, `${Date.now()}-${this.network.id}`);
    mkdirSync(target, { recursive: true });
    for (const node of this.nodes) {
      for (const proc of [node.agent, node.simulator]) {
        if (proc !== undefined && existsSync(proc.logFile))
          cpSync(proc.logFile, join(target, `${node.name}-${proc === node.agent ? "agent" : "simulator"}.log`));
      }
    }
  }

  /** What `destroy` does, synchronously (signal handlers cannot wait). Never throws. */
  destroySync(): void {
    for (const node of this.nodes) {
      for (const proc of [node.agent, node.simulator]) {
        if (proc?.running) proc.child?.kill("SIGKILL");
      }
    }
    this.network.destroy();
    try {
      this.keepLogs();
    } catch (error) {
      // Keeping logs is a diagnosis aid: the cleanup below must run whatever happened to it.
      process.stderr.write(`rack: could not keep the logs in ${KEEP_LOGS_DIR}: ${(error as Error).message}\n`);
    }
    for (const mount of this.mounts) run(["umount", "-l", mount], { allowFail: true });
    this.mounts.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
    if (this.bundleDir !== undefined) rmSync(this.bundleDir, { recursive: true, force: true });
    liveRacks.delete(this);
  }
}
