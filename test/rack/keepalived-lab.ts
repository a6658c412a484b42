// The comparison rack for `pnpm bench rack`: the same namespaces and bridge as the Conclave rack,
// with keepalived (VRRP) moving the VIP instead of Conclave, and a simulated BMC in each namespace
// listening on the VIP's port so the same console probe measures the same thing. keepalived is a
// Debian package the benchmark installs for itself; it is not a dependency of Conclave.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type HostPort, RackNetwork } from "./network.ts";
import { RackProcess } from "./process.ts";

const SIMULATOR_BIN = resolve(import.meta.dirname, "../../packages/bmc-simulator/src/cli.ts");
/** Where the probe reads: the simulators listen on every address, the VIP included. */
export const KEEPALIVED_HTTP_PORT = 8443;
const VIP_HOST = 100;
const CONSOLE_HOST = 200;
const VIRTUAL_ROUTER_ID = 51;

/** Installs keepalived with apt when it is missing; returns why it cannot be used, or undefined. */
export function ensureKeepalived(): string | undefined {
  const has = () => {
    try {
      execFileSync("sh", ["-c", "command -v keepalived"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return undefined;
  try {
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "keepalived"], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    });
  } catch {
    try {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore", timeout: 300_000 });
      execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "keepalived"], {
        stdio: "ignore",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        timeout: 300_000,
      });
    } catch (err) {
      return `keepalived could not be installed: ${(err as Error).message}`;
    }
  }
  return has() ? undefined : "keepalived is not installed";
}

export interface KeepalivedNode {
  readonly name: string;
  readonly host: HostPort;
  readonly keepalived: RackProcess;
  readonly http: RackProcess;
}

export class KeepalivedLab {
  readonly network = new RackNetwork();
  readonly dir = mkdtempSync(join(tmpdir(), "conclave-keepalived-"));
  readonly vip: string;
  readonly console: HostPort;
  readonly nodes: KeepalivedNode[] = [];

  /** `advertIntervalS`: 1 (keepalived's default, VRRPv2) or e.g. 0.1 (needs VRRPv3). */
  constructor(size: number, advertIntervalS: number) {
    this.vip = this.network.addressOf(VIP_HOST);
    this.console = this.network.addHost("z", CONSOLE_HOST);
    const version = advertIntervalS < 1 ? 3 : 2;
    for (let index = 0; index < size; index++) {
      const key = String.fromCharCode(97 + index);
      const host = this.network.addHost(key, index + 1);
      const dir = join(this.dir, `node-${index + 1}`);
      mkdirSync(dir, { recursive: true });
      const config = join(dir, "keepalived.conf");
      // Everyone starts BACKUP with distinct priorities, as an operator would set up a group.
      writeFileSync(
        config,
        [
          "global_defs {",
          `  router_id bmc${index + 1}`,
          `  vrrp_version ${version}`,
          "  script_user root",
          "  enable_script_security",
          "}",
          "vrrp_instance conclave_bench {",
          "  state BACKUP",
          "  interface eth0",
          `  virtual_router_id ${VIRTUAL_ROUTER_ID}`,
          `  priority ${200 - index}`,
          `  advert_int ${advertIntervalS}`,
          "  virtual_ipaddress {",
          `    ${this.vip}/24 dev eth0`,
          "  }",
          "}",
          "",
        ].join("\n"),
      );
      const launcher = ["ip", "netns", "exec", host.namespace];
      const keepalived = new RackProcess(
        [
          ...launcher,
          "keepalived",
          "--dont-fork",
          "--log-console",
          "--vrrp",
          "-f",
          config,
          "-p",
          join(dir, "keepalived.pid"),
          "-r",
          join(dir, "vrrp.pid"),
        ],
        join(dir, "keepalived.log"),
      );
      const http = new RackProcess(
        [
          ...launcher,
          process.execPath,
          SIMULATOR_BIN,
          "--port",
          String(KEEPALIVED_HTTP_PORT),
          "--host",
          "0.0.0.0",
          "--name",
          `bmc${index + 1}`,
          "--log-level",
          "warn",
        ],
        join(dir, "http.log"),
      );
      this.nodes.push({ name: `bmc${index + 1}`, host, keepalived, http });
    }
  }

  start(): void {
    for (const node of this.nodes) node.http.start();
    for (const node of this.nodes) node.keepalived.start();
  }

  get url(): string {
    return `http://${this.vip}:${KEEPALIVED_HTTP_PORT}/redfish/v1`;
  }

  /** The node whose eth0 holds the VIP now (the VRRP master), if any. */
  holder(): KeepalivedNode | undefined {
    return this.nodes.find((node) =>
      this.network
        .exec(node.host.namespace, ["ip", "-o", "addr", "show", "dev", "eth0"], { allowFail: true })
        .includes(` inet ${this.vip}/`),
    );
  }

  /** BMC death: the link goes down and everything in the namespace dies. Returns when the link was down. */
  kill(node: KeepalivedNode): number {
    this.network.setLink(node.host.namespace, false);
    const linkDownAtMs = Date.now();
    this.network.killEverythingIn(node.host.namespace);
    return linkDownAtMs;
  }

  /** The dead BMC boots again: no stale VIP, link up, its programs started. */
  async revive(node: KeepalivedNode): Promise<void> {
    await Promise.all([node.keepalived.exit, node.http.exit]);
    this.network.exec(node.host.namespace, ["ip", "addr", "del", `${this.vip}/24`, "dev", "eth0"], { allowFail: true });
    this.network.setLink(node.host.namespace, true);
    node.http.start();
    node.keepalived.start();
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.flatMap((node) => [node.keepalived.kill("SIGKILL", 2_000), node.http.kill("SIGKILL", 2_000)]),
    );
    this.network.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
