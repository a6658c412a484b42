// Loads a DMTF mockup directory (the folder mirrors /redfish/v1; index.json in a folder is
// the resource at that URI) into a resource store, repairing the few defects public mockups
// carry so that what the simulator serves validates against the DMTF schemas.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { MockupError } from "./errors.ts";
import {
  canonicalUri,
  isObject,
  type JsonValue,
  type Resource,
  ResourceStore,
  resourceType,
  SERVICE_ROOT,
} from "./store.ts";

/** Bounds a mockup: a directory with more resources than this is not a BMC. */
export const MAX_MOCKUP_RESOURCES = 20_000;
export const MAX_MOCKUP_FILE_BYTES = 4 * 1024 * 1024;

export interface LoadedMockup {
  store: ResourceStore;
  /** The mockup's CSDL document, when it ships one. */
  metadataXml: string | undefined;
}

function walk(dir: string, found: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, found);
    else if (entry.name === "index.json") found.push(path);
    if (found.length > MAX_MOCKUP_RESOURCES) {
      throw new MockupError(`mockup has more than ${MAX_MOCKUP_RESOURCES} resources`);
    }
  }
}

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/;

/** Date-times without an offset are not RFC 3339; a BMC reports UTC, so say so. */
function repairDateTimes(node: JsonValue): JsonValue {
  if (typeof node === "string") return LOCAL_DATE_TIME.test(node) ? `${node}Z` : node;
  if (Array.isArray(node)) return node.map(repairDateTimes);
  if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) node[key] = repairDateTimes(value);
  }
  return node;
}

function repair(resource: Resource, uri: string): void {
  repairDateTimes(resource);
  const type = resourceType(resource);
  const lastSegment = uri.split("/").pop() ?? "";
  const isCollection = type.endsWith("Collection");
  if (!isCollection && resource.Id === undefined && type !== "") resource.Id = lastSegment;
  if (!isCollection && resource.Name === undefined && type !== "") resource.Name = resource.Id ?? lastSegment;
  if (type === "Role" && resource.RoleId === undefined) resource.RoleId = resource.Id ?? lastSegment;
  if (type === "EventDestination" && resource.SubscriptionType === undefined)
    resource.SubscriptionType = "RedfishEvent";
}

export function loadMockup(dir: string): LoadedMockup {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MockupError(`mockup directory ${dir} does not exist`);
  if (!existsSync(join(dir, "index.json"))) {
    throw new MockupError(`${dir} is not a mockup: it has no index.json (the service root)`);
  }
  const files: string[] = [];
  walk(dir, files);
  const store = new ResourceStore();
  for (const file of files) {
    const folder = relative(dir, file).split(sep).slice(0, -1);
    if (folder[0] === "odata" || folder[0] === "$metadata") continue;
    const uri = [SERVICE_ROOT, ...folder].join("/");
    if (statSync(file).size > MAX_MOCKUP_FILE_BYTES)
      throw new MockupError(`${file} is larger than ${MAX_MOCKUP_FILE_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new MockupError(`${file} is not valid JSON`, { cause: error });
    }
    if (!isObject(parsed)) throw new MockupError(`${file} is not a JSON object`);
    const resource = parsed as Resource;
    // The folder decides the URI; a mockup's own @odata.id may carry a trailing slash.
    const declared = resource["@odata.id"];
    if (typeof declared !== "string" || canonicalUri(declared) !== uri) resource["@odata.id"] = uri;
    delete resource["@Redfish.Copyright"];
    repair(resource, uri);
    store.put(resource);
  }
  if (!store.has(SERVICE_ROOT)) throw new MockupError(`${dir} has no service root`);
  const metadataFile = join(dir, "$metadata", "index.xml");
  const metadataXml = existsSync(metadataFile) ? readFileSync(metadataFile, "utf8") : undefined;
  return { store, metadataXml };
}
