// `conclave init`: a new cluster secret and a starter config, to be copied to every node.
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseConfig } from "../config/load-config.ts";
import { InitExistsError } from "../errors.ts";
import { generateClusterSecret, readClusterSecret } from "./cluster-secret.ts";
import { writeFileAtomic } from "./secure-file.ts";

export const CLUSTER_SECRET_FILE_NAME = "cluster.key";
export const CONFIG_FILE_NAME = "conclave.yaml";
const SECRET_MODE = 0o600;
/** The config holds no secret (it names the secret's file), so others may read it. */
const CONFIG_MODE = 0o644;

export interface InitClusterOptions {
  /** Directory to write into, e.g. /etc/conclave; created if missing. */
  readonly dir: string;
  readonly clusterName: string;
  /** Replace existing files. Nodes holding the old secret can no longer talk to this one. */
  readonly force?: boolean;
  /** Written into the starter config; defaults to the schema's. */
  readonly stateDir?: string;
  readonly bootstrapExpect?: number;
}

export interface InitClusterResult {
  readonly configFile: string;
  readonly secretFile: string;
  readonly fingerprint: string;
}

/**
 * Writes `cluster.key` (mode 0600) and `conclave.yaml` into `dir`. Refuses, before writing
 * anything, when either exists and `force` is not set.
 */
export function initCluster(options: InitClusterOptions): InitClusterResult {
  const dir = resolve(options.dir);
  const secretFile = join(dir, CLUSTER_SECRET_FILE_NAME);
  const configFile = join(dir, CONFIG_FILE_NAME);
  if (options.force !== true) {
    const existing = [secretFile, configFile].filter(exists);
    if (existing.length > 0) throw new InitExistsError(existing);
  }
  const config = starterConfig({ ...options, secretFile });
  // The starter config must load as it is: this also rejects a bad cluster name before any write.
  parseConfig(config, { file: configFile });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const exclusive = options.force !== true;
  writeFileAtomic(secretFile, generateClusterSecret(), SECRET_MODE, exclusive);
  writeFileAtomic(configFile, config, CONFIG_MODE, exclusive);
  return { configFile, secretFile, fingerprint: readClusterSecret(secretFile).fingerprint };
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** The starter config: the keys an operator must look at, with the rest left to the schema's defaults. */
export function starterConfig(options: InitClusterOptions & { readonly secretFile: string }): string {
  const lines = [
    "# Conclave configuration: copy this file and cluster.key (mode 0600) to every BMC of the group, unchanged.",
    "# Every key and its default: see the configuration reference in the agent's README.",
    `clusterName: ${options.clusterName}`,
    "",
    "# Where other agents reach this one. Static peers are for networks mDNS does not reach;",
    "# a node skips its own address, so the same list works on every node.",
    "listen:",
    '  - "/ip4/0.0.0.0/tcp/7420"',
    "peers: []",
    "mdns: true",
    "",
    "# How many nodes must have found each other before the first cluster is formed.",
    `bootstrapExpect: ${options.bootstrapExpect ?? 3}`,
    "",
    "# The floating address the PoC holds: mode interface (needs root), loopback (127.0.0.0/8, demos) or none.",
    "vip:",
    "  mode: none",
    "  # address: 10.0.0.100",
    "  # prefix: 24",
    "# interface: eth0",
    "",
    "timing: lan",
    `secretFile: ${JSON.stringify(options.secretFile)}`,
  ];
  if (options.stateDir !== undefined) lines.push(`stateDir: ${JSON.stringify(options.stateDir)}`);
  lines.push(
    "",
    "# This node's own BMC. bmcweb's self-signed certificate needs verifyTls: false.",
    "bmc:",
    '  redfishUrl: "https://127.0.0.1"',
    "  verifyTls: true",
    "",
  );
  return lines.join("\n");
}
