// Proves deploy/install.sh and deploy/nftables/conclave.nft are valid, and that the installer
// puts everything in place under a staging root, is idempotent, changes nothing with --dry-run,
// and leaves a config that names the installed paths (not the staging root's).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle } from "../../deploy/bundle/build.mjs";

const INSTALL = resolve(import.meta.dirname, "../../deploy/install.sh");
const NFT_RULES = resolve(import.meta.dirname, "../../deploy/nftables/conclave.nft");
const isRoot = process.getuid?.() === 0;
const hasNft = spawnSync("nft", ["--version"]).status === 0;
/** Shown in the test name when the nft check cannot run here. */
const NFT_SKIP_NOTE = isRoot && hasNft ? "" : ` (skipped: ${hasNft ? "nft -c needs root" : "nft is not installed"})`;

function install(args: readonly string[]) {
  // The toolchain's Node first: the installer checks for Node 22+ on PATH.
  const env = { ...process.env, PATH: `${resolve(process.execPath, "..")}:${process.env.PATH ?? ""}` };
  const run = spawnSync("bash", [INSTALL, ...args], { encoding: "utf8", env });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Every path under `root` with its mode (and link target), sorted: a picture of the install. */
function tree(root: string): string[] {
  const entries: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      entries.push(`${path.slice(root.length)} ${(stat.mode & 0o7777).toString(8)} ${stat.mtimeMs}`);
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(root);
  return entries;
}

describe("deploy/install.sh", () => {
  const bundleDir = mkdtempSync(join(tmpdir(), "conclave-install-bundle-"));
  const prefix = mkdtempSync(join(tmpdir(), "conclave-install-root-"));
  const dryPrefix = mkdtempSync(join(tmpdir(), "conclave-install-dry-"));

  beforeAll(async () => {
    await buildBundle({ outdir: bundleDir });
  });
  afterAll(() => {
    for (const dir of [bundleDir, prefix, dryPrefix]) rmSync(dir, { recursive: true, force: true });
  });

  it("is valid bash", () => {
    expect(spawnSync("bash", ["-n", INSTALL]).status).toBe(0);
  });

  it("installs the bundles, links, unit, rules and a new config under --prefix", () => {
    const first = install([
      "--bundle-dir",
      bundleDir,
      "--prefix",
      prefix,
      "--cluster-name",
      "rack-a",
      "--vip",
      "10.0.0.100",
    ]);
    expect(first.code, first.output).toBe(0);
    for (const name of ["conclaved", "conclave"]) {
      expect(realpathSync(join(prefix, "usr/bin", name))).toBe(join(prefix, "usr/lib/conclave", `${name}.mjs`));
      expect(statSync(join(prefix, "usr/lib/conclave", `${name}.mjs`)).mode & 0o777).toBe(0o755);
    }
    // The installed CLI runs through its link (an ES module behind a name without extension).
    const version = execFileSync(process.execPath, [join(prefix, "usr/bin/conclave"), "--version"], {
      encoding: "utf8",
    });
    expect(version).toMatch(/^conclave /);
    expect(existsSync(join(prefix, "etc/systemd/system/conclaved.service"))).toBe(true);
    expect(existsSync(join(prefix, "usr/share/conclave/conclave.nft"))).toBe(true);
    expect(statSync(join(prefix, "var/lib/conclave")).mode & 0o777).toBe(0o700);
    expect(statSync(join(prefix, "etc/conclave")).mode & 0o777).toBe(0o750);
    for (const secret of ["cluster.key", "facade.key", "admin.yaml"]) {
      expect(statSync(join(prefix, "etc/conclave", secret)).mode & 0o777).toBe(0o600);
    }
    const config = readFileSync(join(prefix, "etc/conclave/conclave.yaml"), "utf8");
    expect(config).toContain("clusterName: rack-a");
    expect(config).not.toContain(prefix);
    expect(config).toMatch(/\/etc\/conclave\/cluster\.key/);
  });

  it("changes nothing on a second run and never overwrites the config", () => {
    const before = tree(prefix);
    const secret = readFileSync(join(prefix, "etc/conclave/cluster.key"), "utf8");
    const second = install(["--bundle-dir", bundleDir, "--prefix", prefix]);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain("kept:");
    expect(second.output).not.toMatch(/^install: (installed|linked|created|copied):/m);
    expect(tree(prefix)).toEqual(before);
    expect(readFileSync(join(prefix, "etc/conclave/cluster.key"), "utf8")).toBe(secret);
  });

  it("copies the first BMC's files with --from", () => {
    const other = mkdtempSync(join(tmpdir(), "conclave-install-second-"));
    try {
      const run = install(["--bundle-dir", bundleDir, "--prefix", other, "--from", join(prefix, "etc/conclave")]);
      expect(run.code, run.output).toBe(0);
      for (const file of ["conclave.yaml", "cluster.key", "facade.crt", "facade.key", "admin.yaml"]) {
        expect(readFileSync(join(other, "etc/conclave", file), "utf8")).toBe(
          readFileSync(join(prefix, "etc/conclave", file), "utf8"),
        );
      }
      expect(statSync(join(other, "etc/conclave/cluster.key")).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("changes nothing with --dry-run, and refuses a bad option with exit 2", () => {
    const dry = install(["--bundle-dir", bundleDir, "--prefix", dryPrefix, "--dry-run"]);
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toMatch(/would run: install -D -m 0755/);
    expect(readdirSync(dryPrefix)).toEqual([]);
    expect(install(["--bogus"]).code).toBe(2);
    const missing = install(["--bundle-dir", dryPrefix, "--prefix", dryPrefix]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/conclaved\.mjs is missing: run `pnpm bundle` first/);
  });
});

describe("deploy/nftables/conclave.nft", () => {
  it.skipIf(!isRoot || !hasNft)(`passes nft -c (syntax and semantics, nothing loaded)${NFT_SKIP_NOTE}`, () => {
    const run = spawnSync("nft", ["-c", "-f", NFT_RULES], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("opens the cluster port, mDNS and the facade's ports", () => {
    const rules = readFileSync(NFT_RULES, "utf8");
    expect(rules).toMatch(/define conclave_cluster_port = 7420/);
    expect(rules).toMatch(/udp dport 5353 accept/);
    expect(rules).toMatch(/define conclave_facade_port = 8443/);
  });
});
