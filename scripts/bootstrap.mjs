#!/usr/bin/env node
// Runs a command with the toolchain Conclave needs, fetching it first when missing.
//
// Machines may ship an older Node and only npm. This script (plain JS, so the
// system Node can run it) provides, under .tools/ and only from the npm registry:
//   - a Node 24 runtime (the `node` package carries the binary) when the
//     system Node is older than 22 (libp2p 3 needs 22+);
//   - pnpm 10;
// then installs the workspace from the lockfile and runs the command with
// .tools/bin and node_modules/.bin first on PATH. Second runs download nothing:
// each step is skipped when its result is already in place.
//
// Usage: node scripts/bootstrap.mjs <command> [args...]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_VERSION = "24.21.0";
const PNPM_VERSION = "10.34.9";
const NODE_MAJOR_MIN = 22;

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const toolsDir = join(root, ".tools");
const binDir = join(toolsDir, "bin");

function fail(message) {
  process.stderr.write(`bootstrap: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

function npmInstall(prefix, spec) {
  mkdirSync(prefix, { recursive: true });
  process.stderr.write(`bootstrap: installing ${spec} into ${prefix}\n`);
  const status = run(
    "npm",
    ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", spec],
    {
      cwd: prefix,
      shell: process.platform === "win32",
    },
  );
  if (status !== 0) fail(`npm install ${spec} failed (exit ${status})`);
}

function ensureLink(target, linkPath) {
  rmSync(linkPath, { force: true });
  symlinkSync(target, linkPath);
}

function ensureNode() {
  mkdirSync(binDir, { recursive: true });
  const systemMajor = Number(process.versions.node.split(".")[0]);
  if (systemMajor >= NODE_MAJOR_MIN) {
    ensureLink(process.execPath, join(binDir, "node"));
    return process.execPath;
  }
  const prefix = join(toolsDir, `node-${NODE_VERSION}`);
  const nodeBinary = join(prefix, "node_modules", "node", "bin", "node");
  if (!existsSync(nodeBinary)) npmInstall(prefix, `node@${NODE_VERSION}`);
  if (!existsSync(nodeBinary)) fail(`node@${NODE_VERSION} installed but ${nodeBinary} is missing`);
  ensureLink(nodeBinary, join(binDir, "node"));
  return nodeBinary;
}

function ensurePnpm() {
  const prefix = join(toolsDir, `pnpm-${PNPM_VERSION}`);
  const entry = join(prefix, "node_modules", "pnpm", "bin", "pnpm.cjs");
  if (!existsSync(entry)) npmInstall(prefix, `pnpm@${PNPM_VERSION}`);
  const shim = join(binDir, "pnpm");
  writeFileSync(shim, `#!/bin/sh\nexec "${join(binDir, "node")}" "${entry}" "$@"\n`);
  chmodSync(shim, 0o755);
}

function lockfileDigest() {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(root, "pnpm-lock.yaml")));
  hash.update(NODE_VERSION);
  return hash.digest("hex");
}

function ensureWorkspaceInstalled(env) {
  const stamp = join(root, "node_modules", ".conclave-install-stamp");
  const digest = lockfileDigest();
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return;
  const status = run(
    join(binDir, "pnpm"),
    ["install", "--frozen-lockfile", "--prefer-offline", "--reporter=append-only"],
    { cwd: root, env },
  );
  if (status !== 0) fail(`pnpm install failed (exit ${status})`);
  writeFileSync(stamp, digest);
}

const [command, ...args] = process.argv.slice(2);
if (!command) fail("usage: node scripts/bootstrap.mjs <command> [args...]");

ensureNode();
ensurePnpm();
const env = {
  ...process.env,
  PATH: [binDir, join(root, "node_modules", ".bin"), process.env.PATH].join(":"),
};
delete env.npm_config_node_gyp;
ensureWorkspaceInstalled(env);
const result = spawnSync(command, args, { stdio: "inherit", cwd: process.cwd(), env });
if (result.error) fail(`could not run ${command}: ${result.error.message}`);
process.exit(result.status ?? (result.signal ? 1 : 0));
