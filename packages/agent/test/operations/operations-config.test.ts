// Proves the config keys the facade's operations read: `powerSequence` (groups in order, bounded: at most 16 groups, names of at most 64 characters, delays of 0 to 600 s, unique names, each group naming someone) and `topology` (the facade's FacadeTopology, its enclosure types the facade's own); bad values are config errors naming the key, unknown keys inside list items too, and both keys are shared (refused in the per-node drop-in); a valid config reaches buildApp (the facade serves the configured enclosure).
import { createMemoryAuthStore, ENCLOSURE_CHASSIS_TYPES, type FacadeCluster } from "@conclave/redfish-facade";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load-config.ts";
import {
  POWER_GROUP_DELAY_SECONDS_MAX,
  POWER_GROUP_NAME_MAX_CHARS,
  POWER_SEQUENCE_GROUPS_MAX,
  TOPOLOGY_ENCLOSURE_TYPES,
} from "../../src/config/schema.ts";
import { ConfigError } from "../../src/errors.ts";
import { buildVipApp } from "../../src/facade-host/vip-app.ts";

const FILE = "/etc/conclave/conclave.yaml";

function problemsOf(config: Record<string, unknown>, local?: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(JSON.stringify({ clusterName: "rack-a", ...config }), {
      file: FILE,
      format: "json",
      ...(local === undefined
        ? {}
        : { local: { file: "/etc/conclave/conclave.local.json", text: JSON.stringify(local) } }),
    });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

const group = (name: string, extra: Record<string, unknown> = {}) => ({ name, members: ["bmc1"], ...extra });

describe("powerSequence", () => {
  it("reads groups in order, with the delay defaulting to 0", () => {
    const { config } = parseConfig(
      JSON.stringify({
        clusterName: "rack-a",
        powerSequence: {
          groups: [
            { name: "storage", labels: { role: "storage" }, delayAfterSeconds: 30 },
            { name: "compute", members: ["bmc1", "bmc2"] },
          ],
        },
      }),
      { file: FILE, format: "json" },
    );
    expect(config.powerSequence).toEqual({
      groups: [
        { name: "storage", labels: { role: "storage" }, delayAfterSeconds: 30 },
        { name: "compute", members: ["bmc1", "bmc2"], delayAfterSeconds: 0 },
      ],
    });
    expect(
      parseConfig('{"clusterName":"rack-a"}', { file: FILE, format: "json" }).config.powerSequence,
    ).toBeUndefined();
  });

  it("refuses bad values, naming the key", () => {
    const tooMany = Array.from({ length: POWER_SEQUENCE_GROUPS_MAX + 1 }, (_, i) => group(`g${i}`));
    expect(problemsOf({ powerSequence: { groups: tooMany } }).join("\n")).toMatch(
      new RegExp(`"powerSequence.groups" must be a list \\(at least 1, at most ${POWER_SEQUENCE_GROUPS_MAX}\\)`),
    );
    expect(problemsOf({ powerSequence: { groups: [group("x".repeat(POWER_GROUP_NAME_MAX_CHARS + 1))] } })).toEqual([
      `"powerSequence.groups.0.name" must be a non-empty string of at most ${POWER_GROUP_NAME_MAX_CHARS} characters (got "${"x".repeat(56)}...)`,
    ]);
    expect(
      problemsOf({ powerSequence: { groups: [group("a", { delayAfterSeconds: POWER_GROUP_DELAY_SECONDS_MAX + 1 })] } }),
    ).toEqual([
      `"powerSequence.groups.0.delayAfterSeconds" must be a number from 0 to ${POWER_GROUP_DELAY_SECONDS_MAX} (got 601)`,
    ]);
    expect(problemsOf({ powerSequence: { groups: [group("a", { delayAfterSeconds: -1 })] } })[0]).toMatch(
      /"powerSequence.groups.0.delayAfterSeconds" must be a number from 0 to 600/,
    );
    expect(problemsOf({ powerSequence: { groups: [group("a", { members: ["bmc_1"] })] } })[0]).toMatch(
      /"powerSequence.groups.0.members.0" must be a member name/,
    );
    expect(problemsOf({ powerSequence: { groups: [group("a", { delay: 5 })] } })).toEqual([
      'unknown key "powerSequence.groups.0.delay"',
    ]);
    expect(problemsOf({ powerSequence: { groups: [group("a"), group("a")] } })).toEqual([
      '"powerSequence.groups.1.name": "a" names an earlier group too',
    ]);
    expect(problemsOf({ powerSequence: { groups: [{ name: "empty" }] } })).toEqual([
      '"powerSequence.groups.0" ("empty") names no members and no labels: it would hold nobody',
    ]);
  });

  it("is shared by every node: refused in the drop-in", () => {
    expect(problemsOf({}, { powerSequence: { groups: [group("a")] } })).toContain(
      '"powerSequence" is shared by every node: set it in conclave.yaml, not in the drop-in (per-node keys: nodeName, role, priority, labels, nodeHttp, listen, interface, bmc, stateDir, health)',
    );
  });
});

describe("topology", () => {
  const topology = {
    enclosures: [{ id: "rack1", name: "Rack 1", chassisType: "Rack" }],
    chassis: [{ chassis: { member: "bmc1", id: "chassis" }, containedBy: { enclosure: "rack1" } }],
    systems: [{ system: { member: "dpu1", id: "system" }, supplies: [{ member: "bmc1", id: "system" }] }],
  };

  it("takes the facade's enclosure types", () => {
    expect([...TOPOLOGY_ENCLOSURE_TYPES]).toEqual([...ENCLOSURE_CHASSIS_TYPES]);
  });

  it("reads the facade's topology and refuses bad values naming the key", () => {
    expect(
      parseConfig(JSON.stringify({ clusterName: "rack-a", topology }), { file: FILE, format: "json" }).config.topology,
    ).toEqual(topology);
    expect(problemsOf({ topology: { enclosures: [{ id: "rack_1", name: "R", chassisType: "Rack" }] } })[0]).toMatch(
      /"topology.enclosures.0.id" must be an id of letters, digits and inner hyphens/,
    );
    expect(problemsOf({ topology: { enclosures: [{ id: "r1", name: "R", chassisType: "Blade" }] } })[0]).toMatch(
      /"topology.enclosures.0.chassisType" must be one of "Rack"/,
    );
    expect(
      problemsOf({ topology: { chassis: [{ ...topology.chassis[0], containedBy: { enclosure: "rack9" } }] } }),
    ).toEqual(['"topology.chassis.0.containedBy.enclosure": no enclosure "rack9"']);
    expect(problemsOf({ topology: { ...topology, racks: [] } })).toEqual(['unknown key "topology.racks"']);
    expect(problemsOf({ topology: { enclosures: [topology.enclosures[0], topology.enclosures[0]] } })).toEqual([
      '"topology.enclosures.1.id": "rack1" is used twice',
    ]);
  });

  it("reaches buildApp through buildVipApp: the facade serves the configured enclosure", async () => {
    const { config } = parseConfig(JSON.stringify({ clusterName: "rack-a", topology }), { file: FILE, format: "json" });
    const cluster: FacadeCluster = {
      clusterName: "rack-a",
      clusterUuid: () => null,
      hasQuorum: () => true,
      members: () => [],
      forward: () => Promise.reject(new Error("no members")),
      term: () => 1,
      executeOperation: () => Promise.reject(new Error("no members")),
      operationStatus: () => Promise.reject(new Error("no members")),
      transferLeadership: () => Promise.reject(new Error("no members")),
      openImageStage: () => Promise.reject(new Error("no members")),
    };
    const auth = await createMemoryAuthStore({
      accounts: [{ userName: "reader", password: "reader-pw1", roleId: "ReadOnly" }],
    });
    const app = buildVipApp({
      cluster,
      auth,
      ...(config.topology === undefined ? {} : { topology: config.topology }),
      ...(config.powerSequence === undefined ? {} : { powerSequence: config.powerSequence }),
      status: () => {
        throw new Error("not asked");
      },
    });
    try {
      const rack = await app.inject({
        url: "/redfish/v1/Chassis/rack1",
        headers: { authorization: `Basic ${Buffer.from("reader:reader-pw1").toString("base64")}` },
      });
      expect(rack.statusCode).toBe(200);
      expect(rack.json()).toMatchObject({ Id: "rack1", Name: "Rack 1", ChassisType: "Rack" });
    } finally {
      await app.close();
    }
  });
});
