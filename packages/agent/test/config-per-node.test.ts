// Proves the per-node part of the config: `nodeName` defaults to the host name made valid (or the former `labels.name`) and refuses names the facade cannot prefix with; the drop-in `<config>.local.yaml` next to the shared file is merged over it (mappings key by key, lists replaced), may set per-node keys only, and names its own file in errors; reserved label keys are refused; facadeTls paths resolve against the config's directory; a witness without a `bmc` section has no BMC.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, localConfigFileOf, PER_NODE_KEYS, parseConfig } from "../src/config/load-config.ts";
import { defaultNodeName } from "../src/config/node-name.ts";
import { ConfigError } from "../src/errors.ts";

const FILE = "/etc/conclave/conclave.yaml";

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("nodeName", () => {
  it("defaults to the host name made valid, or to the former labels.name (with a warning)", () => {
    expect(parseConfig("clusterName: a\n", { file: FILE }).config.nodeName).toBe(defaultNodeName());
    expect(parseConfig("clusterName: a\nnodeName: bmc-7\n", { file: FILE }).config.nodeName).toBe("bmc-7");
    const former = parseConfig("clusterName: a\nlabels:\n  name: slot-2\n", { file: FILE });
    expect(former.config.nodeName).toBe("slot-2");
    expect(former.warnings).toEqual([expect.stringMatching(/^labels.name is the former spelling of nodeName/)]);
  });

  it("refuses names the facade cannot prefix with, and a labels.name that disagrees", () => {
    expect(problemsOf(() => parseConfig("clusterName: a\nnodeName: bmc_1\n", { file: FILE }))).toEqual([
      '"nodeName" must be a name of letters, digits and inner hyphens, at most 63 characters, starting with a letter or digit (no "_"), e.g. "bmc1" (got "bmc_1")',
    ]);
    expect(
      problemsOf(() => parseConfig("clusterName: a\nnodeName: b1\nlabels:\n  name: b2\n", { file: FILE })),
    ).toEqual([
      '"labels.name" (b2) and "nodeName" (b1) disagree: "labels.name" is the former spelling of "nodeName"; keep only "nodeName"',
    ]);
    expect(problemsOf(() => parseConfig("clusterName: a\nlabels:\n  conclave.bmc: x\n", { file: FILE }))).toEqual([
      '"labels.conclave.bmc": label keys starting with "conclave." are the agent\'s own',
    ]);
  });
});

describe("facadeTls and the BMC", () => {
  it("resolves the certificate and key next to the config by default", () => {
    const { config } = parseConfig("clusterName: a\n", { file: "/opt/c/conclave.yaml" });
    expect(config.facadeTls).toEqual({ certFile: "/opt/c/facade.crt", keyFile: "/opt/c/facade.key" });
    const off = parseConfig("clusterName: a\nfacadeTls:\n  enabled: false\n", { file: FILE }).config;
    expect(off.facadeTls.enabled).toBe(false);
  });

  it("a witness without a bmc section has no BMC; with one, or as a voter, it has", () => {
    expect(parseConfig("clusterName: a\nrole: witness\n", { file: FILE }).config.hasBmc).toBe(false);
    const withBmc = parseConfig("clusterName: a\nrole: witness\nbmc:\n  verifyTls: false\n", { file: FILE });
    expect(withBmc.config.hasBmc).toBeUndefined();
    expect(parseConfig("clusterName: a\n", { file: FILE }).config.hasBmc).toBeUndefined();
  });
});

describe("the per-node drop-in", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "conclave-dropin-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("is named after the config", () => {
    expect(localConfigFileOf("/etc/conclave/conclave.yaml")).toBe("/etc/conclave/conclave.local.yaml");
    expect(localConfigFileOf("/x/agent-1.json")).toBe("/x/agent-1.local.json");
  });

  it("is merged over the shared file: mappings key by key, lists replaced", () => {
    const file = join(dir, "conclave.yaml");
    writeFileSync(
      file,
      "clusterName: rack-a\nlisten: ['/ip4/0.0.0.0/tcp/7420']\nlabels:\n  chassis: c1\nbmc:\n  verifyTls: false\n  requestTimeoutMs: 5000\n",
    );
    writeFileSync(
      join(dir, "conclave.local.yaml"),
      "nodeName: bmc3\nrole: witness\npriority: 10\nlabels:\n  slot: '3'\nlisten: ['/ip4/10.0.0.3/tcp/7420']\nbmc:\n  redfishUrl: https://10.1.0.3\n",
    );
    const { config } = loadConfig(file);
    expect(config).toMatchObject({
      clusterName: "rack-a",
      nodeName: "bmc3",
      role: "witness",
      priority: 10,
      labels: { chassis: "c1", slot: "3" },
      listen: ["/ip4/10.0.0.3/tcp/7420"],
      bmc: { redfishUrl: "https://10.1.0.3", verifyTls: false, requestTimeoutMs: 5000 },
      localFile: join(dir, "conclave.local.yaml"),
    });
    expect(config.hasBmc).toBeUndefined();
    // Without a drop-in, the shared file alone.
    rmSync(join(dir, "conclave.local.yaml"));
    expect(loadConfig(file).config.localFile).toBeUndefined();
  });

  it("may set per-node keys only, and its problems name its own file", () => {
    const file = join(dir, "conclave.yaml");
    const local = join(dir, "conclave.local.yaml");
    writeFileSync(file, "clusterName: rack-a\n");
    writeFileSync(local, "clusterName: rack-b\nnodeNmae: x\n");
    const error = (() => {
      try {
        loadConfig(file);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error("accepted");
    })();
    expect(error.file).toBe(local);
    expect(error.problems).toEqual([
      'unknown key "nodeNmae" (did you mean "nodeName"?)',
      `"clusterName" is shared by every node: set it in conclave.yaml, not in the drop-in (per-node keys: ${PER_NODE_KEYS.join(", ")})`,
    ]);
    // A bad value merged from the drop-in is reported like any other.
    writeFileSync(local, "priority: 500\n");
    expect(problemsOf(() => loadConfig(file))).toEqual(['"priority" must be an integer from 0 to 100 (got 500)']);
  });
});
