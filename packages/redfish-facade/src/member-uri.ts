// The prefix scheme: how a member's URIs appear on the facade, and back.
//
// A member resource gets `<member name>_` in front of ONE segment of its URI: the segment right
// after a top-level collection (bmcweb's convention, done fully). Top-level collections are
// - a member's root collections, discovered from its ServiceRoot (`/redfish/v1/Systems`,
//   `/redfish/v1/Chassis`, `/redfish/v1/Fabrics`, ...): `/redfish/v1/Systems/system/Processors/CPU0`
//   of member `bmc1` is `/redfish/v1/Systems/bmc1_system/Processors/CPU0`;
// - the collections of member services the facade aggregates (SERVICE_COLLECTIONS):
//   `/redfish/v1/UpdateService/FirmwareInventory/bios` is `/redfish/v1/UpdateService/FirmwareInventory/bmc1_bios`,
//   a task monitor `/redfish/v1/TaskService/TaskMonitors/3` is `/redfish/v1/TaskService/TaskMonitors/bmc1_3`.
// Any other URI (the collections themselves, the service root, a member singleton such as its
// SessionService) is left as it is, so it names the facade's own resource, as bmcweb does.
// Member names never contain `_` (MEMBER_NAME_PATTERN), so the first `_` ends the prefix.

/** Collections of member services that the facade aggregates, as `<Service>/<Collection>`. */
export const SERVICE_COLLECTIONS: ReadonlySet<string> = new Set([
  "UpdateService/FirmwareInventory",
  "UpdateService/SoftwareInventory",
  "TaskService/Tasks",
  // Not a collection resource, but where task monitors live: prefixed so a 202's Location routes back.
  "TaskService/TaskMonitors",
]);

/**
 * The collections DMTF's ServiceRoot defines: prefixed on every member even when its ServiceRoot
 * does not link them (public-smartnic links into /redfish/v1/Fabrics without listing Fabrics).
 */
export const STANDARD_ROOT_COLLECTIONS: ReadonlySet<string> = new Set([
  "AutomationNodes",
  "Cables",
  "Chassis",
  "ComponentIntegrity",
  "Fabrics",
  "Facilities",
  "JsonSchemas",
  "Managers",
  "NVMeDomains",
  "RegisteredClients",
  "Registries",
  "ResourceBlocks",
  "Storage",
  "StorageServices",
  "StorageSystems",
  "Systems",
]);

export const PREFIX_SEPARATOR = "_";
export const SERVICE_ROOT_PATH = "/redfish/v1";
const ROOT_PREFIX = `${SERVICE_ROOT_PATH}/`;

/** Where a URI's prefixed segment is: its index among the segments after /redfish/v1, or -1. */
export function prefixedSegmentIndex(segments: readonly string[], rootCollections: ReadonlySet<string>): number {
  const first = segments[0];
  if (first === undefined) return -1;
  if (segments.length >= 2 && rootCollections.has(first)) return 1;
  if (segments.length >= 3 && SERVICE_COLLECTIONS.has(`${first}/${segments[1]}`)) return 2;
  return -1;
}

function splitSuffix(uri: string): [path: string, suffix: string] {
  const cut = uri.search(/[?#]/);
  return cut === -1 ? [uri, ""] : [uri.slice(0, cut), uri.slice(cut)];
}

/** A member's URI as the facade serves it. */
export function memberUriToFacade(uri: string, memberName: string, rootCollections: ReadonlySet<string>): string {
  if (!uri.startsWith(ROOT_PREFIX)) return uri;
  const [path, suffix] = splitSuffix(uri);
  const segments = path.slice(ROOT_PREFIX.length).split("/");
  const index = prefixedSegmentIndex(segments, rootCollections);
  if (index === -1 || segments[index] === "") return uri;
  segments[index] = `${memberName}${PREFIX_SEPARATOR}${segments[index]}`;
  return `${ROOT_PREFIX}${segments.join("/")}${suffix}`;
}

export interface FacadeUriOwner {
  readonly memberName: string;
  /** The URI on the member, prefix removed. */
  readonly memberUri: string;
}

/**
 * Which member a facade URI belongs to, and the URI on that member; undefined for a URI that
 * is not a member resource (a facade resource, or one outside /redfish/v1).
 */
export function facadeUriOwner(
  uri: string,
  isMemberName: (name: string) => boolean,
  rootCollections: ReadonlySet<string>,
): FacadeUriOwner | undefined {
  if (!uri.startsWith(ROOT_PREFIX)) return undefined;
  const [path, suffix] = splitSuffix(uri);
  const segments = path.slice(ROOT_PREFIX.length).split("/");
  const index = prefixedSegmentIndex(segments, rootCollections);
  if (index === -1) return undefined;
  const segment = segments[index] as string;
  const cut = segment.indexOf(PREFIX_SEPARATOR);
  if (cut <= 0 || cut === segment.length - 1) return undefined;
  const memberName = segment.slice(0, cut);
  if (!isMemberName(memberName)) return undefined;
  segments[index] = segment.slice(cut + 1);
  return { memberName, memberUri: `${ROOT_PREFIX}${segments.join("/")}${suffix}` };
}

/** A `/redfish/v1/...` URI anywhere in a string (messages, `Location: ...` header lines). */
const EMBEDDED_URI = /\/redfish\/v1\/[^\s"'<>,;)\]]*/g;

export type UriMapper = (uri: string) => string;

/** Rewrites every `/redfish/v1/...` URI in a string. */
export function rewriteString(text: string, map: UriMapper): string {
  if (text.startsWith(ROOT_PREFIX) && !/[\s"'<>,;)\]]/.test(text)) return map(text);
  if (!text.includes(ROOT_PREFIX)) return text;
  return text.replace(EMBEDDED_URI, (uri) => map(uri));
}

/**
 * A copy of a JSON value with every URI in it mapped: `@odata.id`, links, `*Uri` properties,
 * action targets, `@Redfish.ActionInfo`, `MessageArgs`, `OriginOfCondition`, task payload
 * headers — any string value holding a `/redfish/v1/...` URI.
 */
export function rewriteJson(value: unknown, map: UriMapper): unknown {
  if (typeof value === "string") return rewriteString(value, map);
  if (Array.isArray(value)) return value.map((item) => rewriteJson(item, map));
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = rewriteJson(item, map);
    return copy;
  }
  return value;
}

/**
 * A member resource as the facade serves it: every URI prefixed, and `Id` too when the resource
 * is itself the prefixed segment (a member of a top-level collection), so `Id` matches the last
 * segment of `@odata.id` (bmcweb leaves `Id` unprefixed; clients notice).
 */
export function memberResourceToFacade(
  body: unknown,
  memberName: string,
  rootCollections: ReadonlySet<string>,
): unknown {
  const map: UriMapper = (uri) => memberUriToFacade(uri, memberName, rootCollections);
  const rewritten = rewriteJson(body, map);
  if (typeof rewritten !== "object" || rewritten === null || Array.isArray(rewritten)) return rewritten;
  const resource = rewritten as Record<string, unknown>;
  const original = (body as Record<string, unknown>)["@odata.id"];
  const id = resource.Id;
  if (typeof original === "string" && typeof id === "string") {
    const [path] = splitSuffix(original);
    const segments = path.replace(/\/+$/, "").slice(ROOT_PREFIX.length).split("/");
    if (prefixedSegmentIndex(segments, rootCollections) === segments.length - 1 && segments.at(-1) === id) {
      resource.Id = `${memberName}${PREFIX_SEPARATOR}${id}`;
    }
  }
  return resource;
}
