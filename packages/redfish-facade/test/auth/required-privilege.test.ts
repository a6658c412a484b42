// Proves the URL-to-entity table names the registry's entities, and that the privilege map the package carries is the DMTF registry's OperationMap for each of them.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import privilegeMap from "../../src/auth/privilege-map.json" with { type: "json" };
import { entityOf, normalizePath, requiredPrivilege } from "../../src/auth/required-privilege.ts";

const registryFile = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../../shared/redfish/registries/Redfish_1.8.0_PrivilegeRegistry.json",
);

describe("entityOf", () => {
  it.each([
    ["/redfish/v1", "ServiceRoot"],
    ["/redfish/v1/Systems", "ComputerSystemCollection"],
    ["/redfish/v1/Systems/node1_system/Bios", "ComputerSystem"],
    ["/redfish/v1/Systems/node1_system/LogServices", "LogServiceCollection"],
    ["/redfish/v1/Systems/node1_system/LogServices/EventLog/Entries/1", "LogService"],
    ["/redfish/v1/Chassis/c/Thermal", "Thermal"],
    ["/redfish/v1/Chassis/c/Sensors/t1", "Chassis"],
    ["/redfish/v1/Managers/bmc/EthernetInterfaces/eth0", "Manager"],
    ["/redfish/v1/Managers/bmc/NetworkProtocol/HTTPS/Certificates/1", "Certificate"],
    ["/redfish/v1/SessionService/Sessions/abc", "Session"],
    ["/redfish/v1/AccountService/Accounts/1", "ManagerAccount"],
    ["/redfish/v1/AccountService/Roles", "RoleCollection"],
    ["/redfish/v1/UpdateService/FirmwareInventory/bmc", "SoftwareInventory"],
    ["/redfish/v1/TaskService/Tasks/7/Monitor", "Task"],
    ["/redfish/v1/EventService/Subscriptions/3", "EventDestination"],
    ["/redfish/v1/AggregationService/AggregationSources", "AggregationSourceCollection"],
    ["/redfish/v1/Registries/Base", "MessageRegistryFile"],
    ["/redfish/v1/NoSuchService", undefined],
    ["/other", undefined],
  ])("%s is %s", (path, entity) => {
    expect(entityOf(path)).toBe(entity);
  });

  it("normalises query strings, repeated and trailing slashes, and percent-encoding", () => {
    expect(normalizePath("/redfish/v1//Systems/?$expand=.")).toBe("/redfish/v1/Systems");
    expect(normalizePath("/redfish/v1/%53ystems")).toBe("/redfish/v1/Systems");
    expect(normalizePath("/redfish/v1/%E0%A4%A")).toBe("/redfish/v1/%E0%A4%A");
    expect(requiredPrivilege("POST", "/redfish/v1/SessionService/Sessions/")).toEqual({ kind: "none" });
    expect(requiredPrivilege("GET", "/redfish/v1/SessionService/Sessions")).toMatchObject({ kind: "privileges" });
    expect(requiredPrivilege("GET", "/redfish/v1/odata?x=1")).toEqual({ kind: "none" });
  });

  it("maps every entity the table names to an OperationMap the package carries", () => {
    const paths = [
      "/redfish/v1/Systems/x/LogServices/y",
      "/redfish/v1/Chassis/x/Power",
      "/redfish/v1/AggregationService/ConnectionMethods/1",
      "/redfish/v1/JsonSchemas/x",
      "/redfish/v1/CertificateService",
      "/redfish/v1/TelemetryService",
      "/redfish/v1/Managers/x/VirtualMedia/1",
    ];
    for (const path of paths) {
      expect(Object.keys(privilegeMap.Mappings)).toContain(entityOf(path));
    }
  });
});

describe.skipIf(!existsSync(registryFile))("privilege-map.json against the DMTF privilege registry", () => {
  it("holds exactly the registry's OperationMap for each entity it carries", () => {
    const registry = JSON.parse(readFileSync(registryFile, "utf8")) as {
      Mappings: { Entity: string; OperationMap: Record<string, { Privilege: string[] }[]> }[];
    };
    const carried = privilegeMap.Mappings as Record<string, Record<string, string[][]>>;
    for (const [entity, operations] of Object.entries(carried)) {
      const mapping = registry.Mappings.find((candidate) => candidate.Entity === entity);
      expect(mapping, entity).toBeDefined();
      const expected = Object.fromEntries(
        Object.entries(mapping!.OperationMap).map(([method, alternatives]) => [
          method,
          alternatives.map((alternative) => alternative.Privilege),
        ]),
      );
      expect(operations, entity).toEqual(expected);
    }
  });
});
