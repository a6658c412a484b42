// The resources the facade serves itself (not a member's): the cluster Manager, the facade-level
// enclosure chassis of the topology, the shells of the member services whose collections it
// merges, and the OData service document. Pure functions of what the facade knows.
import type { FacadeMember, MemberHealth } from "./facade-cluster.ts";
import { enclosureUri, type TopologyEnclosure } from "./topology.ts";

export const CLUSTER_MANAGER_ID = "conclave";
export const CLUSTER_MANAGER_URI = `/redfish/v1/Managers/${CLUSTER_MANAGER_ID}`;
/** Manager.ForceFailover on the cluster Manager: a leadership transfer (operations/force-failover-part.ts). */
export const FORCE_FAILOVER_URI = `${CLUSTER_MANAGER_URI}/Actions/Manager.ForceFailover`;
export const MANAGER_TYPE = "#Manager.v1_24_0.Manager";
export const CHASSIS_TYPE = "#Chassis.v1_28_0.Chassis";

type Json = Record<string, unknown>;

const HEALTH_ORDER: readonly MemberHealth[] = ["OK", "Warning", "Critical"];

/** The worst of several healths ("OK" for none). */
export function worstHealth(healths: Iterable<MemberHealth>): MemberHealth {
  let worst: MemberHealth = "OK";
  for (const health of healths) if (HEALTH_ORDER.indexOf(health) > HEALTH_ORDER.indexOf(worst)) worst = health;
  return worst;
}

function links(uris: readonly string[]): { "@odata.id": string }[] {
  return uris.map((uri) => ({ "@odata.id": uri }));
}

export interface ClusterManagerFacts {
  readonly clusterName: string;
  readonly clusterUuid: string;
  readonly members: readonly FacadeMember[];
  /** Member managers (facade URIs) by member id, PoC's included; empty for a member not read yet. */
  readonly memberManagers: ReadonlyMap<string, readonly string[]>;
  readonly enclosures: readonly TopologyEnclosure[];
}

/**
 * The Manager for the cluster itself: the service every console talks to. Its Redundancy is the
 * failover set of the agents: every member's BMC managers, the PoC's in ActiveRedundancySet.
 */
export function clusterManager(facts: ClusterManagerFacts): Json {
  const voters = facts.members.filter((m) => m.role === "voter");
  const poc = facts.members.find((m) => m.isPoc);
  const set: string[] = [];
  const ordered = [...(poc ? [poc] : []), ...facts.members.filter((m) => m !== poc)];
  for (const member of ordered) set.push(...(facts.memberManagers.get(member.id) ?? []));
  const active = poc ? [...(facts.memberManagers.get(poc.id) ?? [])] : [];
  const health = worstHealth(facts.members.map((m) => m.health));
  const enclosureUris = facts.enclosures.map((e) => enclosureUri(e.id));
  return {
    "@odata.type": MANAGER_TYPE,
    "@odata.id": CLUSTER_MANAGER_URI,
    Id: CLUSTER_MANAGER_ID,
    Name: `Conclave ${facts.clusterName}`,
    Description: "The Conclave cluster: one Redfish service for every member BMC, served by the point of contact",
    ManagerType: "Service",
    ServiceEntryPointUUID: facts.clusterUuid,
    UUID: facts.clusterUuid,
    Status: { State: "Enabled", Health: health },
    Redundancy: [
      {
        "@odata.id": `${CLUSTER_MANAGER_URI}#/Redundancy/0`,
        MemberId: "0",
        Name: "Conclave point of contact",
        Mode: "Failover",
        RedundancyEnabled: true,
        MaxNumSupported: voters.length,
        MinNumNeeded: Math.floor(voters.length / 2) + 1,
        RedundancySet: links(set),
        "RedundancySet@odata.count": set.length,
        ActiveRedundancySet: links(active),
        "ActiveRedundancySet@odata.count": active.length,
        Status: { State: poc ? "Enabled" : "StandbySpare", Health: health },
        Oem: {
          Conclave: {
            PointOfContact: poc?.name ?? null,
            Members: facts.members.map((m) => ({
              Name: m.name,
              Role: m.role,
              IsPointOfContact: m.isPoc,
              Health: m.health,
              BmcReachable: m.bmcReachable,
            })),
          },
        },
      },
    ],
    "Redundancy@odata.count": 1,
    // NewManager: a member's BMC manager from RedundancySet; none lets the cluster pick.
    Actions: { "#Manager.ForceFailover": { target: FORCE_FAILOVER_URI } },
    Links: {
      ManagerForManagers: links(set),
      "ManagerForManagers@odata.count": set.length,
      ...(enclosureUris.length > 0
        ? { ManagerForChassis: links(enclosureUris), "ManagerForChassis@odata.count": enclosureUris.length }
        : {}),
    },
  };
}

/** A chassis of the topology that no BMC serves (the rack, the enclosure): served by the facade. */
export function enclosureChassis(enclosure: TopologyEnclosure, members: readonly FacadeMember[]): Json {
  return {
    "@odata.type": CHASSIS_TYPE,
    "@odata.id": enclosureUri(enclosure.id),
    Id: enclosure.id,
    Name: enclosure.name,
    ChassisType: enclosure.chassisType,
    Status: { State: "Enabled", Health: worstHealth(members.filter((m) => m.hasBmc).map((m) => m.health)) },
    Links: {
      ManagedBy: [{ "@odata.id": CLUSTER_MANAGER_URI }],
      "ManagedBy@odata.count": 1,
    },
  };
}

/** The member services whose collections the facade merges, with the schema it serves them in. */
export const SERVICE_SHELLS: Readonly<
  Record<string, { readonly type: string; readonly name: string; readonly collections: readonly string[] }>
> = Object.freeze({
  UpdateService: {
    type: "#UpdateService.v1_17_0.UpdateService",
    name: "Update Service",
    collections: ["FirmwareInventory", "SoftwareInventory"],
  },
  TaskService: { type: "#TaskService.v1_3_0.TaskService", name: "Task Service", collections: ["Tasks"] },
});

/** The facade's own copy of a member service: only the merged collections the members have. */
export function serviceShell(service: string, collections: readonly string[]): Json | undefined {
  const shell = SERVICE_SHELLS[service];
  if (shell === undefined) return undefined;
  const body: Json = {
    "@odata.type": shell.type,
    "@odata.id": `/redfish/v1/${service}`,
    Id: service,
    Name: shell.name,
    Description: `${shell.name} of the Conclave cluster: what every member serves, merged`,
    ServiceEnabled: true,
    Status: { State: "Enabled", Health: "OK" },
  };
  for (const collection of collections) body[collection] = { "@odata.id": `/redfish/v1/${service}/${collection}` };
  return body;
}

/** The collection types the facade serves when no member said which type (no member answered). */
export const DEFAULT_COLLECTION_TYPES: Readonly<Record<string, readonly [type: string, name: string]>> = Object.freeze({
  Systems: ["#ComputerSystemCollection.ComputerSystemCollection", "Computer System Collection"],
  Chassis: ["#ChassisCollection.ChassisCollection", "Chassis Collection"],
  Managers: ["#ManagerCollection.ManagerCollection", "Manager Collection"],
  "UpdateService/FirmwareInventory": ["#SoftwareInventoryCollection.SoftwareInventoryCollection", "Firmware Inventory"],
  "UpdateService/SoftwareInventory": ["#SoftwareInventoryCollection.SoftwareInventoryCollection", "Software Inventory"],
  "TaskService/Tasks": ["#TaskCollection.TaskCollection", "Task Collection"],
});

/** What the facade's UpdateService advertises besides its merged inventories. */
export interface UpdateServiceFacts {
  readonly collections: readonly string[];
  readonly simpleUpdateUri: string;
  readonly multipartPushUri: string;
  readonly maxImageSizeBytes: number;
  readonly transferProtocols: readonly string[];
}

/**
 * The UpdateService of the cluster: every member's inventories merged, SimpleUpdate routed to the
 * targets' owners, and a multipart push the facade streams to every target's agent.
 */
export function updateService(facts: UpdateServiceFacts): Json {
  const body = serviceShell("UpdateService", facts.collections) as Json;
  body.Description =
    "Update Service of the Conclave cluster: every member's inventories merged, updates routed to their owners";
  body.MultipartHttpPushUri = facts.multipartPushUri;
  body.MaxImageSizeBytes = facts.maxImageSizeBytes;
  body.Actions = {
    "#UpdateService.SimpleUpdate": {
      target: facts.simpleUpdateUri,
      "TransferProtocol@Redfish.AllowableValues": [...facts.transferProtocols],
    },
  };
  return body;
}
