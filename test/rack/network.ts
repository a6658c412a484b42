// The rack's network: one Linux bridge and one network namespace per BMC (plus the console's),
// each with eth0 on the bridge, an address in a private /24 and a default route through eth0 (so
// mDNS multicast leaves the namespace). Names carry the owning pid and a random tag:
// `cr<pid36><tag>` — a later run removes what a killed run left behind (its pid is gone), and two
// runs at once never collide. Faults that touch the network (link down, nft drops and random
// loss) live here too, as plain `ip` / `nft` commands run inside the namespaces.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** Bound on one `ip` / `nft` command. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Prefix of everything a rack creates: bridge, namespaces, veths. */
export const RACK_NAME_PREFIX = "cr";
/** The nft table the faults write, inside a namespace. */
const FAULT_TABLE = "conclave_chaos";

export function run(args: readonly string[], options: { allowFail?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(args[0] as string, args.slice(1), {
      encoding: "utf8",
      input: options.input,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      timeout: COMMAND_TIMEOUT_MS,
    });
  } catch (err) {
    if (options.allowFail === true) return "";
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`${args.join(" ")} failed: ${stderr.trim() || String(err)}`);
  }
}

function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why a rack cannot be built here, or undefined when it can. */
export function rackSupportProblem(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (CI runs as root)";
  for (const command of ["ip", "nft", "arping"]) {
    if (!hasCommand(command)) return `${command} is not installed (run scripts/ensure-test-tools.sh)`;
  }
  const probe = `${RACK_NAME_PREFIX}probe${process.pid.toString(36)}`;
  try {
    run(["ip", "netns", "add", probe]);
  } catch (err) {
    return `ip netns is unavailable: ${(err as Error).message}`;
  } finally {
    run(["ip", "netns", "del", probe], { allowFail: true });
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the namespaces and links of racks whose owning process is gone (a killed earlier run). */
export function removeAbandonedRacks(): void {
  const owners = (name: string): number | undefined => {
    const match = /^cr([0-9a-z]+)-[0-9a-f]{4}/.exec(name);
    return match === null ? undefined : Number.parseInt(match[1] as string, 36);
  };
  for (const line of run(["ip", "netns", "list"], { allowFail: true }).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const pid = owners(name);
    if (pid !== undefined && !pidAlive(pid)) {
      for (const pidInside of run(["ip", "netns", "pids", name], { allowFail: true }).split(/\s+/).filter(Boolean)) {
        run(["kill", "-9", pidInside], { allowFail: true });
      }
      run(["ip", "netns", "del", name], { allowFail: true });
    }
  }
  for (const line of run(["ip", "-o", "link", "show"], { allowFail: true }).split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name === undefined) continue;
    const pid = owners(name);
    if (pid !== undefined && !pidAlive(pid)) run(["ip", "link", "del", name], { allowFail: true });
  }
}

export interface HostPort {
  /** The namespace's name, for `ip netns exec`. */
  readonly namespace: string;
  /** eth0's address (no prefix). */
  readonly address: string;
  readonly mac: string;
}

export class RackNetwork {
  /** `cr<pid36>-<tag>`: the owner's pid lets a later run clean up after a killed one. */
  readonly id = `${RACK_NAME_PREFIX}${process.pid.toString(36)}-${randomBytes(2).toString("hex")}`;
  readonly bridge = `${this.id}b`;
  /** A private /24 picked per run: 10.<100-199>.<0-255>.0. */
  readonly subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 256)}`;
  private readonly hosts = new Map<string, HostPort>();
  private readonly links: string[] = [];

  constructor() {
    removeAbandonedRacks();
    run(["ip", "link", "add", this.bridge, "type", "bridge"]);
    this.links.push(this.bridge);
    run(["ip", "link", "set", this.bridge, "up"]);
  }

  /** The address of host number `n` (1..254) in this rack's subnet. */
  addressOf(n: number): string {
    return `${this.subnet}.${n}`;
  }

  /** A namespace `<id><key>` with eth0 at `<subnet>.<n>/24` and a default route through it. */
  addHost(key: string, n: number): HostPort {
    const namespace = `${this.id}${key}`;
    const hostSide = `${this.id}${key}h`;
    const inside = `${this.id}${key}n`;
    if (hostSide.length > 15) throw new Error(`interface name ${hostSide} is longer than 15 characters`);
    run(["ip", "netns", "add", namespace]);
    const address = this.addressOf(n);
    const host: HostPort = { namespace, address, mac: "" };
    this.hosts.set(key, host);
    run(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", inside]);
    this.links.push(hostSide);
    run(["ip", "link", "set", inside, "netns", namespace]);
    run(["ip", "link", "set", hostSide, "master", this.bridge, "up"]);
    this.exec(namespace, ["ip", "link", "set", inside, "name", "eth0"]);
    this.exec(namespace, ["ip", "link", "set", "lo", "up"]);
    this.exec(namespace, ["ip", "link", "set", "eth0", "up"]);
    this.exec(namespace, ["ip", "addr", "add", `${address}/24`, "dev", "eth0"]);
    this.exec(namespace, ["ip", "route", "add", "default", "dev", "eth0"]);
    const mac = this.exec(namespace, ["cat", "/sys/class/net/eth0/address"]).trim();
    const withMac = { ...host, mac };
    this.hosts.set(key, withMac);
    return withMac;
  }

  exec(namespace: string, args: readonly string[], options: { allowFail?: boolean; input?: string } = {}): string {
    return run(["ip", "netns", "exec", namespace, ...args], options);
  }

  /** eth0 down (a dead BMC's network) or up again. */
  setLink(namespace: string, up: boolean): void {
    this.exec(namespace, ["ip", "link", "set", "eth0", up ? "up" : "down"]);
    if (up) this.exec(namespace, ["ip", "route", "replace", "default", "dev", "eth0"], { allowFail: true });
  }

  /** SIGKILLs every process inside the namespace (a BMC losing power takes everything with it). */
  killEverythingIn(namespace: string): void {
    for (const pid of run(["ip", "netns", "pids", namespace], { allowFail: true }).split(/\s+/).filter(Boolean)) {
      run(["kill", "-9", pid], { allowFail: true });
    }
  }

  /**
   * Replaces the namespace's fault rules: packets from `dropFrom` addresses are dropped on input,
   * packets to `dropTo` on output, and `lossPercent` of every other packet on eth0 both ways.
   */
  setFaultRules(
    namespace: string,
    rules: { dropFrom?: readonly string[]; dropTo?: readonly string[]; lossPercent?: number },
  ): void {
    const lines = [`table inet ${FAULT_TABLE} {`];
    const input: string[] = [];
    const output: string[] = [];
    if (rules.dropFrom !== undefined && rules.dropFrom.length > 0)
      input.push(`ip saddr { ${rules.dropFrom.join(", ")} } drop`);
    if (rules.dropTo !== undefined && rules.dropTo.length > 0)
      output.push(`ip daddr { ${rules.dropTo.join(", ")} } drop`);
    const loss = rules.lossPercent ?? 0;
    if (!Number.isInteger(loss) || loss < 0 || loss > 100) throw new Error(`lossPercent must be 0..100, got ${loss}`);
    if (loss > 0) {
      input.push(`iifname "eth0" numgen random mod 100 < ${loss} drop`);
      output.push(`oifname "eth0" numgen random mod 100 < ${loss} drop`);
    }
    lines.push(
      "  chain input { type filter hook input priority 0; policy accept;",
      ...input.map((r) => `    ${r}`),
      "  }",
    );
    lines.push(
      "  chain output { type filter hook output priority 0; policy accept;",
      ...output.map((r) => `    ${r}`),
      "  }",
    );
    lines.push("}");
    this.clearFaultRules(namespace);
    this.exec(namespace, ["nft", "-f", "-"], { input: `${lines.join("\n")}\n` });
  }

  clearFaultRules(namespace: string): void {
    this.exec(namespace, ["nft", "delete", "table", "inet", FAULT_TABLE], { allowFail: true });
  }

  /** Deletes every namespace and link of this rack, killing what runs inside; never throws. */
  destroy(): void {
    for (const host of this.hosts.values()) {
      this.killEverythingIn(host.namespace);
      run(["ip", "netns", "del", host.namespace], { allowFail: true });
    }
    for (const link of this.links) run(["ip", "link", "del", link], { allowFail: true });
  }
}
