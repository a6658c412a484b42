// Proves the node key is made once and reused, a bad key file is an error naming it (never regenerated), the cluster secret is strict about format and mode, and init refuses to overwrite.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ClusterSecretError,
  ConfigError,
  generateClusterSecret,
  InitExistsError,
  initCluster,
  loadConfig,
  loadOrCreateNodeKey,
  NodeKeyError,
  parseClusterSecret,
  readClusterSecret,
} from "../src/index.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-identity-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe("node key", () => {
  it("is generated on first start with mode 0600 and reused afterwards", async () => {
    const stateDir = join(dir, "state");
    const first = await loadOrCreateNodeKey(stateDir);
    expect(first.created).toBe(true);
    expect(first.nodeId).toMatch(/^12D3KooW/);
    expect(modeOf(first.keyFile)).toBe(0o600);
    expect(modeOf(stateDir)).toBe(0o700);

    const second = await loadOrCreateNodeKey(stateDir);
    expect(second.created).toBe(false);
    expect(second.nodeId).toBe(first.nodeId);
    expect(second.peerId.equals(first.peerId)).toBe(true);
  });

  it("refuses a corrupt key file, naming it, and leaves it untouched", async () => {
    const { keyFile } = await loadOrCreateNodeKey(dir);
    writeFileSync(keyFile, "not a key");
    const error = await loadOrCreateNodeKey(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NodeKeyError);
    expect((error as NodeKeyError).code).toBe("AGENT_ERR_NODE_KEY");
    expect((error as NodeKeyError).message).toContain(`node key ${keyFile} is corrupt`);
    expect(readFileSync(keyFile, "utf8")).toBe("not a key");
  });

  it("refuses a key file that group or others can read", async () => {
    const { keyFile } = await loadOrCreateNodeKey(dir);
    chmodSync(keyFile, 0o644);
    await expect(loadOrCreateNodeKey(dir)).rejects.toThrow(
      `node key ${keyFile} is readable by group or others (mode 0644); run: chmod 600 ${keyFile}`,
    );
  });

  it("refuses a key path that is not a file", async () => {
    const stateDir = join(dir, "state");
    await loadOrCreateNodeKey(stateDir);
    rmSync(join(stateDir, "node.key"));
    // A directory where the key should be: unreadable as a key, never replaced.
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(stateDir, "node.key"));
    await expect(loadOrCreateNodeKey(stateDir)).rejects.toThrow(/is not a regular file/);
  });
});

describe("cluster secret", () => {
  it("generates distinct keys in the standard swarm key format that parse back", () => {
    const secret = generateClusterSecret();
    expect(secret).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/);
    expect(generateClusterSecret()).not.toBe(secret);
    const parsed = parseClusterSecret(Buffer.from(secret), "x");
    expect(new TextDecoder().decode(parsed.psk)).toBe(secret);
    expect(parsed.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it("accepts CRLF and upper-case hex as the same secret", () => {
    const secret = generateClusterSecret();
    const variant = secret.replace(/[0-9a-f]{64}/, (hex) => hex.toUpperCase()).replaceAll("\n", "\r\n");
    expect(parseClusterSecret(Buffer.from(variant), "x").fingerprint).toBe(
      parseClusterSecret(Buffer.from(secret), "x").fingerprint,
    );
  });

  it("reads a 0600 file and refuses one that group or others can read", () => {
    const file = join(dir, "cluster.key");
    writeFileSync(file, generateClusterSecret(), { mode: 0o600 });
    // 21 + 8 + 64 characters and three newlines: the canonical form pnet takes.
    expect(readClusterSecret(file).psk.byteLength).toBe(96);
    chmodSync(file, 0o640);
    expect(() => readClusterSecret(file)).toThrow(
      `cluster secret ${file} is readable by group or others (mode 0640); run: chmod 600 ${file}`,
    );
  });

  it("names the file when it is missing or malformed", () => {
    const file = join(dir, "cluster.key");
    expect(() => readClusterSecret(file)).toThrow(`cluster secret ${file} does not exist`);
    writeFileSync(file, "/key/swarm/psk/1.0.0/\n/base64/\nAAAA\n", { mode: 0o600 });
    expect(() => readClusterSecret(file)).toThrow(ClusterSecretError);
    expect(() => readClusterSecret(file)).toThrow(`cluster secret ${file} is not a swarm key`);
    writeFileSync(file, "/key/swarm/psk/1.0.0/\n/base16/\nabcd\n", { mode: 0o600 });
    expect(() => readClusterSecret(file)).toThrow(/malformed key line: expected 64 hex digits, got 4/);
  });
});

describe("initCluster", () => {
  it("writes a 0600 secret and a starter config that loads as it is", () => {
    const result = initCluster({ dir: join(dir, "etc"), clusterName: "rack-a" });
    expect(modeOf(result.secretFile)).toBe(0o600);
    expect(readClusterSecret(result.secretFile).fingerprint).toBe(result.fingerprint);
    const { config } = loadConfig(result.configFile);
    expect(config.clusterName).toBe("rack-a");
    expect(config.secretFile).toBe(result.secretFile);
  });

  it("refuses to overwrite either file without force, and replaces both with it", () => {
    const first = initCluster({ dir, clusterName: "rack-a" });
    const secretBefore = readFileSync(first.secretFile, "utf8");
    expect(() => initCluster({ dir, clusterName: "rack-b" })).toThrow(InitExistsError);
    expect(readFileSync(first.secretFile, "utf8")).toBe(secretBefore);

    rmSync(first.secretFile);
    const error = (() => {
      try {
        initCluster({ dir, clusterName: "rack-b" });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InitExistsError);
    expect((error as InitExistsError).files).toEqual([first.configFile]);

    const second = initCluster({ dir, clusterName: "rack-b", force: true });
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(loadConfig(second.configFile).config.clusterName).toBe("rack-b");
  });

  it("rejects a bad cluster name before writing anything", () => {
    expect(() => initCluster({ dir: join(dir, "etc"), clusterName: "Rack A" })).toThrow(ConfigError);
    expect(() => statSync(join(dir, "etc"))).toThrow();
  });
});
