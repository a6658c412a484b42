// Which privilege a request needs, decided from its method and path alone (before the body is
// read), per the Redfish privilege registry (privilege-map.json: the OperationMap of each entity
// the facade serves, copied from Redfish_1.8.0_PrivilegeRegistry.json so the product runs
// without the DMTF bundle).
//
// The URL names the entity: `/redfish/v1/Systems/{id}` is a ComputerSystem, anything deeper
// under it is judged as its system (the registry gives the sub-resources of a system the same
// map), and so on per top-level collection. Where the registry says otherwise for a
// sub-resource (Chassis Power/Thermal, LogServices, Certificates, VirtualMedia: all
// ConfigureManager) the more specific entity wins. A path under no known top-level resource
// needs Login to read and ConfigureManager (Administrator only) to change: when unsure, the
// strictest rule.
//
// `ConfigureSelf` alternatives: the hook cannot know from the URL whether a session or an
// account is the caller's own, so it grants them to nobody; the SessionService and
// AccountService routes, which do know, check ownership themselves (see `deferredToRoute`).
import privilegeMap from "./privilege-map.json" with { type: "json" };
import type { Privilege } from "./roles.ts";

/** Alternatives: the request is allowed when the caller holds every privilege of any one of them. */
export type PrivilegeAlternatives = readonly (readonly Privilege[])[];

export type Requirement =
  | { readonly kind: "none" }
  | {
      readonly kind: "privileges";
      readonly entity: string;
      readonly alternatives: PrivilegeAlternatives;
      /** True when the route decides ownership (ConfigureSelf) and the hook only authenticates. */
      readonly deferredToRoute: boolean;
    };

type OperationMap = Readonly<Record<string, PrivilegeAlternatives>>;
const MAPPINGS = privilegeMap.Mappings as unknown as Readonly<Record<string, OperationMap>>;

/** Entities whose ConfigureSelf alternatives the facade's own routes check (ownership is theirs to judge). */
const ROUTE_CHECKED_ENTITIES = new Set(["Session", "ManagerAccount"]);

/** Read without any credentials (DSP0266 §13.3.1: the service root, `$metadata` and the OData service document). */
const UNAUTHENTICATED_READS = new Set(["/redfish", "/redfish/v1", "/redfish/v1/$metadata", "/redfish/v1/odata"]);
const SESSIONS_PATH = "/redfish/v1/SessionService/Sessions";

/** The rule for paths under no known top-level resource. */
const UNMAPPED: OperationMap = Object.freeze({
  GET: [["Login"]],
  HEAD: [["Login"]],
  PATCH: [["ConfigureManager"]],
  PUT: [["ConfigureManager"]],
  POST: [["ConfigureManager"]],
  DELETE: [["ConfigureManager"]],
});

/** `[top-level segment, collection entity, member entity]`: everything below a member is judged as the member. */
const TOP_LEVEL: readonly (readonly [string, string, string])[] = [
  ["Systems", "ComputerSystemCollection", "ComputerSystem"],
  ["Chassis", "ChassisCollection", "Chassis"],
  ["Managers", "ManagerCollection", "Manager"],
];

/** Services: `[service segment, service entity, { sub-collection: [collection entity, member entity] }]`. */
const SERVICES: readonly (readonly [string, string, Readonly<Record<string, readonly [string, string]>>])[] = [
  ["SessionService", "SessionService", { Sessions: ["SessionCollection", "Session"] }],
  [
    "AccountService",
    "AccountService",
    { Accounts: ["ManagerAccountCollection", "ManagerAccount"], Roles: ["RoleCollection", "Role"] },
  ],
  [
    "UpdateService",
    "UpdateService",
    {
      FirmwareInventory: ["SoftwareInventoryCollection", "SoftwareInventory"],
      SoftwareInventory: ["SoftwareInventoryCollection", "SoftwareInventory"],
    },
  ],
  ["TaskService", "TaskService", { Tasks: ["TaskCollection", "Task"] }],
  ["EventService", "EventService", { Subscriptions: ["EventDestinationCollection", "EventDestination"] }],
  [
    "AggregationService",
    "AggregationService",
    {
      Aggregates: ["AggregateCollection", "Aggregate"],
      AggregationSources: ["AggregationSourceCollection", "AggregationSource"],
      ConnectionMethods: ["ConnectionMethodCollection", "ConnectionMethod"],
    },
  ],
  ["CertificateService", "CertificateService", {}],
  ["TelemetryService", "TelemetryService", {}],
];

/** Plain collections at the root: `[segment, collection entity, member entity]`. */
const ROOT_COLLECTIONS: readonly (readonly [string, string, string])[] = [
  ["Registries", "MessageRegistryFileCollection", "MessageRegistryFile"],
  ["JsonSchemas", "JsonSchemaFileCollection", "JsonSchemaFile"],
];

/**
 * Sub-resources the registry maps apart from their parent wherever they appear:
 * `[segment, collection entity, member entity]`. Deeper paths take the member's rule.
 */
const SUBORDINATES: readonly (readonly [string, string, string])[] = [
  ["LogServices", "LogServiceCollection", "LogService"],
  ["Certificates", "CertificateCollection", "Certificate"],
  ["VirtualMedia", "VirtualMedia", "VirtualMedia"],
];
/** Chassis sub-resources with their own (stricter) map. */
const CHASSIS_SUBORDINATES = new Set(["Power", "Thermal"]);

/** The entity a path (no query string) names, per the tables above; undefined when unmapped. */
export function entityOf(path: string): string | undefined {
  const segments = splitPath(path);
  if (segments === undefined) return undefined;
  if (segments.length === 0) return "ServiceRoot";
  for (let i = segments.length - 1; i >= 1; i--) {
    const subordinate = SUBORDINATES.find(([segment]) => segment === segments[i]);
    if (subordinate !== undefined) return i === segments.length - 1 ? subordinate[1] : subordinate[2];
  }
  const [top, second, third, fourth] = segments;
  const topLevel = TOP_LEVEL.find(([segment]) => segment === top);
  if (topLevel !== undefined) {
    if (second === undefined) return topLevel[1];
    if (top === "Chassis" && third !== undefined && CHASSIS_SUBORDINATES.has(third)) return third;
    return topLevel[2];
  }
  const service = SERVICES.find(([segment]) => segment === top);
  if (service !== undefined) {
    const collection = second === undefined ? undefined : service[2][second];
    if (collection === undefined) return service[1];
    if (third === undefined) return collection[0];
    return fourth === undefined || top !== "AccountService" ? collection[1] : service[1];
  }
  const rootCollection = ROOT_COLLECTIONS.find(([segment]) => segment === top);
  if (rootCollection !== undefined) return second === undefined ? rootCollection[1] : rootCollection[2];
  return undefined;
}

/** The requirement for `method` on `url` (query string allowed). */
export function requiredPrivilege(method: string, url: string): Requirement {
  const path = normalizePath(url);
  const verb = method.toUpperCase() === "OPTIONS" ? "GET" : method.toUpperCase();
  if ((verb === "GET" || verb === "HEAD") && UNAUTHENTICATED_READS.has(path)) return { kind: "none" };
  // Creating a session is how a client logs in (DSP0266 §13.3.4).
  if (verb === "POST" && path === SESSIONS_PATH) return { kind: "none" };
  const entity = entityOf(path);
  const map = entity === undefined ? UNMAPPED : (MAPPINGS[entity] ?? UNMAPPED);
  const alternatives = map[verb] ?? UNMAPPED[verb] ?? UNMAPPED.DELETE ?? [];
  const deferredToRoute = entity !== undefined && ROUTE_CHECKED_ENTITIES.has(entity);
  return { kind: "privileges", entity: entity ?? "Unmapped", alternatives, deferredToRoute };
}

/** Whether `held` satisfies one of the alternatives. ConfigureSelf alternatives count only when `selfAllowed`. */
export function satisfies(
  held: readonly Privilege[],
  alternatives: PrivilegeAlternatives,
  selfAllowed: boolean,
): boolean {
  return alternatives.some(
    (alternative) =>
      (selfAllowed || !alternative.includes("ConfigureSelf")) &&
      alternative.every((privilege) => held.includes(privilege)),
  );
}

/**
 * Path without query string, repeated or trailing slashes, percent-decoded as the router decodes
 * it (so `/redfish/v1/Managers/1/%43ertificates` is judged as the Certificates it routes to). A
 * path that does not decode is returned as is: it names no entity and gets the strictest rule.
 */
export function normalizePath(url: string): string {
  const question = url.indexOf("?");
  const path = question === -1 ? url : url.slice(0, question);
  const collapsed = path.replace(/\/{2,}/g, "/");
  const trimmed = collapsed.length > 1 && collapsed.endsWith("/") ? collapsed.slice(0, -1) : collapsed;
  try {
    return decodeURIComponent(trimmed);
  } catch {
    return trimmed;
  }
}

/** Segments after `/redfish/v1`, or undefined when the path is not under it. */
function splitPath(path: string): string[] | undefined {
  const normalized = normalizePath(path);
  if (normalized === "/redfish/v1") return [];
  if (!normalized.startsWith("/redfish/v1/")) return undefined;
  return normalized.slice("/redfish/v1/".length).split("/");
}
