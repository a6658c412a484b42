// The AggregationService (v1_0_x) the facade serves: one AggregationSource per member with a BMC,
// the ConnectionMethod Conclave uses to reach them, and the default Aggregate of every member.
import type { FacadeMember } from "./facade-cluster.ts";
import { worstHealth } from "./facade-resources.ts";
import { STANDARD_RESET_TYPES } from "./operations/aggregate-reset-parameters.ts";
import type { AggregateRecord } from "./operations/operation-types.ts";

export const AGGREGATION_SERVICE_URI = "/redfish/v1/AggregationService";
export const AGGREGATION_SOURCES_URI = `${AGGREGATION_SERVICE_URI}/AggregationSources`;
export const CONNECTION_METHODS_URI = `${AGGREGATION_SERVICE_URI}/ConnectionMethods`;
export const AGGREGATES_URI = `${AGGREGATION_SERVICE_URI}/Aggregates`;
export const CONNECTION_METHOD_ID = "conclave-agent";
export const CONNECTION_METHOD_URI = `${CONNECTION_METHODS_URI}/${CONNECTION_METHOD_ID}`;
export const DEFAULT_AGGREGATE_ID = "all-members";
export const DEFAULT_AGGREGATE_URI = `${AGGREGATES_URI}/${DEFAULT_AGGREGATE_ID}`;
export const AGGREGATION_SERVICE_RESET_URI = `${AGGREGATION_SERVICE_URI}/Actions/AggregationService.Reset`;

export function aggregateUri(id: string): string {
  return `${AGGREGATES_URI}/${id}`;
}

/** Where an aggregate's action is posted: `Reset`, `AddElements`, `RemoveElements`. */
export function aggregateActionUri(id: string, action: "Reset" | "AddElements" | "RemoveElements"): string {
  return `${aggregateUri(id)}/Actions/Aggregate.${action}`;
}

type Json = Record<string, unknown>;

export function aggregationSourceUri(member: FacadeMember): string {
  return `${AGGREGATION_SOURCES_URI}/${member.name}`;
}

function links(uris: readonly string[]): { "@odata.id": string }[] {
  return uris.map((uri) => ({ "@odata.id": uri }));
}

export function aggregationService(members: readonly FacadeMember[]): Json {
  return {
    "@odata.type": "#AggregationService.v1_0_3.AggregationService",
    "@odata.id": AGGREGATION_SERVICE_URI,
    Id: "AggregationService",
    Name: "Aggregation Service",
    Description: "Every member BMC of the Conclave cluster, aggregated by the point of contact",
    ServiceEnabled: true,
    Status: { State: "Enabled", Health: worstHealth(members.filter((m) => m.hasBmc).map((m) => m.health)) },
    AggregationSources: { "@odata.id": AGGREGATION_SOURCES_URI },
    ConnectionMethods: { "@odata.id": CONNECTION_METHODS_URI },
    Aggregates: { "@odata.id": AGGREGATES_URI },
    Actions: {
      "#AggregationService.Reset": {
        target: AGGREGATION_SERVICE_RESET_URI,
        "ResetType@Redfish.AllowableValues": [...STANDARD_RESET_TYPES],
      },
    },
  };
}

function collection(uri: string, type: string, name: string, members: readonly string[]): Json {
  return {
    "@odata.type": `#${type}.${type}`,
    "@odata.id": uri,
    Name: name,
    Members: links(members),
    "Members@odata.count": members.length,
  };
}

export function aggregationSources(members: readonly FacadeMember[]): Json {
  return collection(
    AGGREGATION_SOURCES_URI,
    "AggregationSourceCollection",
    "Aggregation Sources",
    members.filter((m) => m.hasBmc).map(aggregationSourceUri),
  );
}

/**
 * One member as an aggregation source. `resourcesAccessed`: the member's top-level resources the
 * facade serves (facade URIs), as last read. No credentials: the facade never holds a BMC's.
 */
export function aggregationSource(member: FacadeMember, resourcesAccessed: readonly string[]): Json {
  return {
    "@odata.type": "#AggregationSource.v1_5_0.AggregationSource",
    "@odata.id": aggregationSourceUri(member),
    Id: member.name,
    Name: `Member ${member.name}`,
    Description: `The BMC of Conclave member ${member.name} (${member.role}${member.isPoc ? ", point of contact" : ""})`,
    HostName: member.hostName ?? null,
    AggregationType: "Full",
    UserName: null,
    Password: null,
    Status: {
      State: member.bmcReachable ? "Enabled" : "UnavailableOffline",
      Health: member.bmcReachable ? member.health : "Critical",
    },
    Links: {
      ConnectionMethod: { "@odata.id": CONNECTION_METHOD_URI },
      ResourcesAccessed: links(resourcesAccessed),
      "ResourcesAccessed@odata.count": resourcesAccessed.length,
    },
  };
}

export function connectionMethods(): Json {
  return collection(CONNECTION_METHODS_URI, "ConnectionMethodCollection", "Connection Methods", [
    CONNECTION_METHOD_URI,
  ]);
}

export function connectionMethod(members: readonly FacadeMember[]): Json {
  const sources = members.filter((m) => m.hasBmc).map(aggregationSourceUri);
  return {
    "@odata.type": "#ConnectionMethod.v1_2_0.ConnectionMethod",
    "@odata.id": CONNECTION_METHOD_URI,
    Id: CONNECTION_METHOD_ID,
    Name: "Conclave agent to agent",
    Description:
      "Redfish requests carried from the point of contact to the member's Conclave agent over libp2p " +
      "(Noise, cluster pre-shared key); the agent sends them to its own BMC with its own credentials",
    ConnectionMethodType: "Redfish",
    ConnectionMethodVariant: "Conclave/1",
    Links: { AggregationSources: links(sources), "AggregationSources@odata.count": sources.length },
  };
}

/** The default aggregate first, then the user-created ones (by id). */
export function aggregates(userAggregateIds: readonly string[] = []): Json {
  return collection(AGGREGATES_URI, "AggregateCollection", "Aggregates", [
    DEFAULT_AGGREGATE_URI,
    ...userAggregateIds.map(aggregateUri),
  ]);
}

function resetAction(id: string): Json {
  return {
    target: aggregateActionUri(id, "Reset"),
    "ResetType@Redfish.AllowableValues": [...STANDARD_RESET_TYPES],
  };
}

/** The default aggregate: every member's systems (facade URIs). */
export function defaultAggregate(elements: readonly string[]): Json {
  return {
    "@odata.type": "#Aggregate.v1_0_3.Aggregate",
    "@odata.id": DEFAULT_AGGREGATE_URI,
    Id: DEFAULT_AGGREGATE_ID,
    Name: "All members",
    Description: "Every computer system of every member of the Conclave cluster",
    Elements: links(elements),
    "Elements@odata.count": elements.length,
    ElementsCount: elements.length,
    // Its elements follow the members: none can be added or removed by hand.
    Actions: { "#Aggregate.Reset": resetAction(DEFAULT_AGGREGATE_ID) },
  };
}

/** An aggregate a console created: its elements as stored in the cluster state. */
export function userAggregate(record: AggregateRecord): Json {
  return {
    "@odata.type": "#Aggregate.v1_0_3.Aggregate",
    "@odata.id": aggregateUri(record.id),
    Id: record.id,
    Name: record.name,
    Elements: links(record.elements),
    "Elements@odata.count": record.elements.length,
    ElementsCount: record.elements.length,
    Actions: {
      "#Aggregate.Reset": resetAction(record.id),
      "#Aggregate.AddElements": { target: aggregateActionUri(record.id, "AddElements") },
      "#Aggregate.RemoveElements": { target: aggregateActionUri(record.id, "RemoveElements") },
    },
  };
}
