// Proves the prefix scheme on its own: which segment gets the prefix, that a facade URI maps back
// to its member exactly, and that request paths are checked before anything routes them.
import { describe, expect, it } from "vitest";
import { facadeUriOwner, memberUriToFacade } from "../src/member-uri.ts";
import { isPathProblem, parseRequestUrl } from "../src/request-path.ts";

const ROOT = new Set(["Systems", "Chassis", "Managers", "Fabrics"]);
const isMember = (name: string) => ["bmc1", "bmc2"].includes(name);

describe("member URIs on the facade", () => {
  it.each([
    ["/redfish/v1/Systems/system", "/redfish/v1/Systems/bmc1_system"],
    ["/redfish/v1/Systems/system/", "/redfish/v1/Systems/bmc1_system/"],
    ["/redfish/v1/Systems/system/Processors/CPU0", "/redfish/v1/Systems/bmc1_system/Processors/CPU0"],
    ["/redfish/v1/Chassis/1#/Sensors/0", "/redfish/v1/Chassis/bmc1_1#/Sensors/0"],
    ["/redfish/v1/Chassis/1?$select=Id", "/redfish/v1/Chassis/bmc1_1?$select=Id"],
    ["/redfish/v1/Fabrics/Ethernet/Endpoints/EP1", "/redfish/v1/Fabrics/bmc1_Ethernet/Endpoints/EP1"],
    ["/redfish/v1/UpdateService/FirmwareInventory/bios", "/redfish/v1/UpdateService/FirmwareInventory/bmc1_bios"],
    ["/redfish/v1/TaskService/TaskMonitors/3", "/redfish/v1/TaskService/TaskMonitors/bmc1_3"],
    ["/redfish/v1/TaskService/Tasks/3/SubTasks/1", "/redfish/v1/TaskService/Tasks/bmc1_3/SubTasks/1"],
    // Collections themselves, singletons and anything outside /redfish/v1 stay as they are.
    ["/redfish/v1/Systems", "/redfish/v1/Systems"],
    ["/redfish/v1", "/redfish/v1"],
    ["/redfish/v1/SessionService/Sessions/4", "/redfish/v1/SessionService/Sessions/4"],
    [
      "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
      "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
    ],
    ["/redfish/v1/$metadata#ComputerSystem.ComputerSystem", "/redfish/v1/$metadata#ComputerSystem.ComputerSystem"],
    ["http://images.example/redfish/v1/Systems/x", "http://images.example/redfish/v1/Systems/x"],
  ])("%s -> %s, and back", (member, facade) => {
    expect(memberUriToFacade(member, "bmc1", ROOT)).toBe(facade);
    const owner = facadeUriOwner(facade, isMember, ROOT);
    if (member === facade) expect(owner).toBeUndefined();
    else expect(owner).toEqual({ memberName: "bmc1", memberUri: member });
  });

  it("splits at the first underscore: member ids may contain underscores, member names may not", () => {
    expect(memberUriToFacade("/redfish/v1/Chassis/Card_1", "bmc2", ROOT)).toBe("/redfish/v1/Chassis/bmc2_Card_1");
    expect(facadeUriOwner("/redfish/v1/Chassis/bmc2_Card_1", isMember, ROOT)).toEqual({
      memberName: "bmc2",
      memberUri: "/redfish/v1/Chassis/Card_1",
    });
    expect(facadeUriOwner("/redfish/v1/Chassis/bmc9_Card_1", isMember, ROOT)).toBeUndefined();
    expect(facadeUriOwner("/redfish/v1/Chassis/_Card", isMember, ROOT)).toBeUndefined();
    expect(facadeUriOwner("/redfish/v1/Chassis/bmc1_", isMember, ROOT)).toBeUndefined();
  });
});

describe("request paths", () => {
  it("canonicalises a good path and decodes its query", () => {
    const parsed = parseRequestUrl("/redfish/v1/Systems/bmc1_system/?$select=Id,Name&only");
    expect(isPathProblem(parsed)).toBe(false);
    expect(parsed).toMatchObject({
      segments: ["Systems", "bmc1_system"],
      path: "/redfish/v1/Systems/bmc1_system",
      query: [
        ["$select", "Id,Name"],
        ["only", ""],
      ],
    });
  });

  it.each([
    ["/redfish/v1/Systems/..", "bad-segment"],
    ["/redfish/v1/Systems/%2E%2e", "bad-segment"],
    ["/redfish/v1/./Systems", "bad-segment"],
    ["/redfish/v1//Systems", "bad-segment"],
    ["/redfish/v1/Systems/a%2Fb", "bad-segment"],
    ["/redfish/v1/Systems/a%5Cb", "bad-segment"],
    ["/redfish/v1/Systems/a%00b", "bad-segment"],
    ["/redfish/v1/Systems/%E0%A4%A", "bad-segment"],
    ["/redfish/v1/Systems?x=%ZZ", "bad-query"],
    ["/redfish/v2/Systems", "not-redfish"],
    ["/other", "not-redfish"],
    [`/redfish/v1/${"x/".repeat(40)}y`, "too-long"],
  ])("refuses %s as %s", (url, kind) => {
    const parsed = parseRequestUrl(url);
    expect(isPathProblem(parsed) && parsed.kind).toBe(kind);
  });
});
