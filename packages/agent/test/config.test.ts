// Proves the config loader rejects unknown keys (naming key and file) and bad values, fills defaults from the schema, and that timing profiles resolve to safe Raft ticks.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configReferenceRows,
  generateConfigReference,
  loadConfig,
  parseConfig,
  resolveTiming,
  TIMING_PROFILES,
} from "../src/index.ts";

const FILE = "/etc/conclave/conclave.yaml";

function problemsOf(text: string, file = FILE): readonly string[] {
  try {
    parseConfig(text, { file });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("config: unknown keys", () => {
  it("names the key, the file and the key it probably meant", () => {
    expect(() => parseConfig("clusterName: rack-a\nvip:\n  adress: 10.0.0.100\n", { file: FILE })).toThrow(
      'config /etc/conclave/conclave.yaml: unknown key "vip.adress" (did you mean "vip.address"?)',
    );
  });

  it("reports a top-level typo and a key with no near match", () => {
    const problems = problemsOf("clusterName: rack-a\nprority: 3\nflux: capacitor\n");
    expect(problems).toContain('unknown key "prority" (did you mean "priority"?)');
    expect(problems).toContain('unknown key "flux"');
  });

  it("allows free-form labels besides slot and chassis", () => {
    const { config } = parseConfig("clusterName: rack-a\nlabels: {slot: '3', chassis: c1, room: b12}\n", {
      file: FILE,
    });
    expect(config.labels).toEqual({ slot: "3", chassis: "c1", room: "b12" });
  });

  it("reads JSON as well as YAML, and names the file of a JSON typo", () => {
    const { config } = parseConfig('{"clusterName": "rack-a", "mdns": false}', { file: "/tmp/c.json" });
    expect(config.mdns).toBe(false);
    expect(() => parseConfig('{"clusterName": "rack-a", "mdsn": false}', { file: "/tmp/c.json" })).toThrow(
      'config /tmp/c.json: unknown key "mdsn" (did you mean "mdns"?)',
    );
  });
});

describe("config: bad values", () => {
  it("names each bad value with the expected form, all at once", () => {
    const problems = problemsOf(
      [
        "clusterName: Rack_A",
        "bootstrapExpect: 0",
        "maxVoters: 99",
        "timing: slow",
        "role: leader",
        "priority: 1.5",
        "mdns: 'yes'",
        "peers: [3]",
        "listen: []",
        "health: {cpu: {warningPercent: 101}}",
      ].join("\n"),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^"clusterName" must be a name of lower-case letters.*\(got "Rack_A"\)$/),
        '"bootstrapExpect" must be an integer from 1 to 64 (got 0)',
        '"maxVoters" must be an integer from 1 to 15 (got 99)',
        '"timing" must be one of "lan", "fast" (got "slow")',
        '"role" must be one of "voter", "witness" (got "leader")',
        '"priority" must be an integer from 0 to 100 (got 1.5)',
        '"mdns" must be true or false (got "yes")',
        expect.stringMatching(/^"peers\.0" must be a non-empty string, e\.g\. ".*" \(got 3\)$/),
        expect.stringMatching(/^"listen" must be a list \(at least 1, at most 8\).*\(got a list of 0\)$/),
        '"health.cpu.warningPercent" must be an integer from 1 to 100 (got 101)',
      ]),
    );
    expect(problems).toHaveLength(10);
  });

  it("requires clusterName", () => {
    expect(problemsOf("mdns: true\n")).toEqual([expect.stringMatching(/^missing required key "clusterName"/)]);
  });

  it("checks meaning across keys: VIP address, interface, multiaddrs, thresholds", () => {
    expect(problemsOf("clusterName: a\nvip: {mode: loopback}\n")).toEqual([
      '"vip.address" is required when "vip.mode" is "loopback"',
    ]);
    expect(problemsOf("clusterName: a\nvip: {mode: loopback, address: 10.0.0.1}\n")).toEqual([
      '"vip.address" must be in 127.0.0.0/8 when "vip.mode" is "loopback" (got "10.0.0.1")',
    ]);
    expect(problemsOf("clusterName: a\nvip: {mode: interface, address: 10.0.0.300}\n")).toEqual([
      '"vip.address" must be an IPv4 or IPv6 address, e.g. "10.0.0.100" (got "10.0.0.300")',
      '"interface" is required when "vip.mode" is "interface": the VIP is added to it',
    ]);
    expect(problemsOf("clusterName: a\npeers: [/ip4/10.0.0.2/udp/7420, nonsense]\n")).toEqual([
      '"peers.0" must be a TCP multiaddr such as "/ip4/10.0.0.2/tcp/7420" (got "/ip4/10.0.0.2/udp/7420")',
      '"peers.1" must be a multiaddr such as "/ip4/10.0.0.2/tcp/7420" (got "nonsense")',
    ]);
    expect(problemsOf("clusterName: a\nhealth: {disk: {warningPercent: 95, criticalPercent: 90}}\n")).toEqual([
      '"health.disk.warningPercent" (95) must be below "health.disk.criticalPercent" (90)',
    ]);
  });

  it("rejects YAML that does not parse, duplicate keys, and a non-mapping top level", () => {
    expect(problemsOf("clusterName: [unclosed\n")[0]).toMatch(/^not valid YAML: /);
    expect(problemsOf("clusterName: a\nclusterName: b\n")[0]).toMatch(/^not valid YAML: .*[Uu]nique/);
    expect(problemsOf("- a\n- b\n")).toEqual(["the top level must be a mapping of keys to values"]);
  });
});

describe("config: defaults", () => {
  it("fills every default from the schema and freezes the result", () => {
    const { config, warnings } = parseConfig("clusterName: rack-a\n", { file: FILE });
    expect(config).toMatchObject({
      clusterName: "rack-a",
      listen: ["/ip4/0.0.0.0/tcp/7420"],
      vip: { mode: "none" },
      peers: [],
      mdns: true,
      timing: "lan",
      secretFile: "/etc/conclave/cluster.key",
      stateDir: "/var/lib/conclave",
      bmc: { redfishUrl: "https://127.0.0.1", verifyTls: true, connectTimeoutMs: 2000, requestTimeoutMs: 10000 },
      role: "voter",
      priority: 50,
      labels: {},
      bootstrapExpect: 3,
      maxVoters: 5,
      cleanupDeadMembers: false,
      health: { cpu: { warningPercent: 90, criticalPercent: 98 }, bmcUnreachableGraceMs: 10000 },
    });
    expect(warnings).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.health.cpu)).toBe(true);
  });

  it("warns about an even maxVoters and a two-node bootstrap without failing", () => {
    const { warnings } = parseConfig("clusterName: a\nmaxVoters: 4\nbootstrapExpect: 2\n", { file: FILE });
    expect(warnings).toEqual([expect.stringMatching(/^maxVoters is 4/), expect.stringMatching(/witness/)]);
  });

  it("resolves relative paths against the config file's directory", () => {
    const { config } = parseConfig("clusterName: a\nstateDir: state\nsecretFile: ./cluster.key\n", {
      file: "/opt/conclave/conclave.yaml",
    });
    expect(config.stateDir).toBe("/opt/conclave/state");
    expect(config.secretFile).toBe("/opt/conclave/cluster.key");
    expect(config.bmc.credentialsFile).toBe("/etc/conclave/bmc-credentials");
  });

  it("loads from disk and names a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "conclave-config-"));
    try {
      const file = join(dir, "conclave.yaml");
      writeFileSync(file, "clusterName: from-disk\n");
      expect(loadConfig(file).config.clusterName).toBe("from-disk");
      expect(() => loadConfig(join(dir, "absent.yaml"))).toThrow(
        `config ${join(dir, "absent.yaml")}: cannot read the file (no such file)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("config: reference", () => {
  it("renders one row per key with type, default and description", () => {
    const reference = generateConfigReference();
    expect(reference.split("\n")[0]).toBe("| key | type | default | description |");
    expect(reference).toContain('| `vip.mode` | one of "interface", "loopback", "none" | `"none"` |');
    expect(reference).toContain("| `clusterName` |");
    expect(reference).toContain("| required |");
    const keys = configReferenceRows().map((row) => row.key);
    expect(keys).toEqual(expect.arrayContaining(["bmc.verifyTls", "health.bmcUnreachableGraceMs", "labels.*"]));
    expect(configReferenceRows().every((row) => row.description.length > 0)).toBe(true);
  });
});

describe("timing profiles", () => {
  it("lan: 100 ms heartbeat, election in [500, 1000) ms, lease below the shortest election timeout", () => {
    expect(resolveTiming("lan")).toEqual({
      profile: "lan",
      tickMs: 50,
      heartbeatTicks: 2,
      learnerHeartbeatRounds: 2,
      electionTicks: 10,
      leaseTicks: 7,
      heartbeatIntervalMs: 100,
      electionTimeoutMinMs: 500,
      electionTimeoutMaxMs: 1000,
      leaseMs: 350,
      leaseSafetyMarginMs: 100,
    });
  });

  it("fast: 40 ms heartbeat, election in [160, 320) ms, a 40 ms margin for stalls", () => {
    expect(resolveTiming("fast")).toEqual({
      profile: "fast",
      tickMs: 20,
      heartbeatTicks: 2,
      learnerHeartbeatRounds: 2,
      electionTicks: 8,
      leaseTicks: 5,
      heartbeatIntervalMs: 40,
      electionTimeoutMinMs: 160,
      electionTimeoutMaxMs: 320,
      leaseMs: 100,
      leaseSafetyMarginMs: 40,
    });
  });

  it.each(TIMING_PROFILES)("%s: the lease ends a drift margin before any follower may vote again", (profile) => {
    const timing = resolveTiming(profile);
    // Worst case: the follower's first tick right after it heard the leader costs it one tick.
    const followerWaitMinMs = (timing.electionTicks - 1) * timing.tickMs;
    expect(timing.leaseTicks).toBeLessThan(timing.electionTicks);
    expect(timing.leaseMs + timing.leaseSafetyMarginMs).toBeLessThanOrEqual(followerWaitMinMs);
    expect(timing.leaseSafetyMarginMs).toBeGreaterThanOrEqual(timing.electionTimeoutMinMs / 5);
    // The lease outlives a heartbeat round, so one late heartbeat does not drop the VIP.
    expect(timing.leaseTicks).toBeGreaterThan(2 * timing.heartbeatTicks);
    // A learner hears the leader at least twice within what the PoC calls silence.
    const learnerIntervalMs = timing.learnerHeartbeatRounds * timing.heartbeatIntervalMs;
    expect(2 * learnerIntervalMs).toBeLessThanOrEqual(timing.electionTimeoutMinMs);
  });
});
