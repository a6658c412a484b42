// Network namespaces on a private bridge for the VIP tests: each namespace gets eth0 (a veth whose
// peer sits on the bridge). Names carry a per-run suffix; cleanup() removes everything it made.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface Namespace {
  readonly name: string;
  /** eth0's MAC address inside the namespace. */
  readonly mac: string;
}

export function sh(args: readonly string[], options: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(args[0]!, args.slice(1), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    });
  } catch (err) {
    if (options.allowFail === true) return "";
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`${args.join(" ")} failed: ${stderr.trim() || String(err)}`);
  }
}

export function inNamespace(namespace: string, args: readonly string[], options: { allowFail?: boolean } = {}): string {
  return sh(["ip", "netns", "exec", namespace, ...args], options);
}

function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export function namespaceSupportProblem(commands: readonly string[]): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (CI runs as root)";
  for (const command of ["ip", ...commands]) {
    if (!hasCommand(command)) return `${command} is not installed (run scripts/ensure-test-tools.sh)`;
  }
  const probe = `cvprobe${process.pid}`;
  try {
    sh(["ip", "netns", "add", probe]);
  } catch (err) {
    return `ip netns is unavailable: ${(err as Error).message}`;
  } finally {
    sh(["ip", "netns", "del", probe], { allowFail: true });
  }
  return undefined;
}

export class Lab {
  readonly suffix = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`.slice(-8);
  readonly bridge = `cvb${this.suffix}`;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];

  constructor() {
    this.links.push(this.bridge);
    sh(["ip", "link", "add", this.bridge, "type", "bridge"]);
    sh(["ip", "link", "set", this.bridge, "up"]);
  }

  /** A namespace called `cv<letter><suffix>` with eth0 on the bridge, holding `addresses` (CIDR). */
  addNamespace(letter: string, addresses: readonly string[]): Namespace {
    const name = `cv${letter}${this.suffix}`;
    const hostSide = `cv${letter}${this.suffix}h`;
    const inside = `cv${letter}${this.suffix}n`;
    this.namespaces.push(name);
    sh(["ip", "netns", "add", name]);
    this.links.push(hostSide);
    sh(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", inside]);
    sh(["ip", "link", "set", inside, "netns", name]);
    sh(["ip", "link", "set", hostSide, "master", this.bridge, "up"]);
    inNamespace(name, ["ip", "link", "set", inside, "name", "eth0"]);
    inNamespace(name, ["ip", "link", "set", "eth0", "up"]);
    inNamespace(name, ["ip", "link", "set", "lo", "up"]);
    for (const address of addresses) {
      inNamespace(name, ["ip", "addr", "add", address, "dev", "eth0", ...(address.includes(":") ? ["nodad"] : [])]);
    }
    const mac = inNamespace(name, ["cat", "/sys/class/net/eth0/address"]).trim();
    return { name, mac };
  }

  /** Deletes every namespace and link this lab made; never throws. */
  cleanup(): void {
    for (const name of this.namespaces) sh(["ip", "netns", "del", name], { allowFail: true });
    for (const link of this.links) sh(["ip", "link", "del", link], { allowFail: true });
  }
}
