// The resource tree: every Redfish resource the simulator serves, keyed by its @odata.id,
// each with an ETag derived from its content. Components change state only through here,
// so a GET always shows the latest state and its ETag changes exactly when the body does.
import { createHash } from "node:crypto";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Resource = { [key: string]: JsonValue };

export const SERVICE_ROOT = "/redfish/v1";

/** The key a URI is stored under: no query, no fragment, no trailing slash, no doubled slashes. */
export function canonicalUri(uri: string): string {
  let path = uri.split(/[?#]/, 1)[0] ?? "";
  path = path.replace(/\/{2,}/g, "/");
  while (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

export function odataId(resource: Resource): string {
  const id = resource["@odata.id"];
  if (typeof id !== "string") throw new TypeError("a resource needs a string @odata.id");
  return id;
}

export function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The resource type named by @odata.type: "#ComputerSystem.v1_27_0.ComputerSystem" -> "ComputerSystem". */
export function resourceType(resource: Resource): string {
  const type = resource["@odata.type"];
  if (typeof type !== "string") return "";
  const parts = type.replace(/^#/, "").split(".");
  return parts[parts.length - 1] ?? "";
}

export function computeEtag(resource: Resource): string {
  return `"${createHash("sha256").update(JSON.stringify(resource)).digest("hex").slice(0, 16)}"`;
}

export type StoreListener = (uri: string) => void;

export class ResourceStore {
  private readonly resources = new Map<string, Resource>();
  private readonly etags = new Map<string, string>();

  has(uri: string): boolean {
    return this.resources.has(canonicalUri(uri));
  }

  /** A copy of the resource, safe for the caller to change. */
  get(uri: string): Resource | undefined {
    const resource = this.resources.get(canonicalUri(uri));
    return resource === undefined ? undefined : structuredClone(resource);
  }

  /** The stored resource itself, for read-only use in hot paths. */
  peek(uri: string): Readonly<Resource> | undefined {
    return this.resources.get(canonicalUri(uri));
  }

  etag(uri: string): string | undefined {
    const key = canonicalUri(uri);
    const cached = this.etags.get(key);
    if (cached !== undefined) return cached;
    const resource = this.resources.get(key);
    if (resource === undefined) return undefined;
    const etag = computeEtag(resource);
    this.etags.set(key, etag);
    return etag;
  }

  /** Stores a resource under its own @odata.id, replacing any resource there. */
  put(resource: Resource): void {
    const key = canonicalUri(odataId(resource));
    this.resources.set(key, structuredClone(resource));
    this.etags.delete(key);
  }

  /** Changes a resource in place; throws if it is absent, since callers only change what they created. */
  update(uri: string, change: (resource: Resource) => void): Resource {
    const key = canonicalUri(uri);
    const resource = this.resources.get(key);
    if (resource === undefined) throw new Error(`no resource at ${key}`);
    change(resource);
    this.etags.delete(key);
    return structuredClone(resource);
  }

  delete(uri: string): boolean {
    const key = canonicalUri(uri);
    this.etags.delete(key);
    return this.resources.delete(key);
  }

  uris(): string[] {
    return [...this.resources.keys()];
  }

  /** Every resource whose @odata.type names the given type, e.g. "ComputerSystem". */
  ofType(type: string): Resource[] {
    const found: Resource[] = [];
    for (const resource of this.resources.values()) if (resourceType(resource) === type) found.push(resource);
    return found;
  }

  addMember(collectionUri: string, memberUri: string): void {
    this.update(collectionUri, (collection) => {
      const members = Array.isArray(collection.Members) ? collection.Members : [];
      if (!members.some((m) => isObject(m) && m["@odata.id"] === memberUri)) members.push({ "@odata.id": memberUri });
      collection.Members = members;
      collection["Members@odata.count"] = members.length;
    });
  }

  removeMember(collectionUri: string, memberUri: string): void {
    if (!this.has(collectionUri)) return;
    this.update(collectionUri, (collection) => {
      const members = Array.isArray(collection.Members) ? collection.Members : [];
      const kept = members.filter(
        (m) => !(isObject(m) && canonicalUri(String(m["@odata.id"])) === canonicalUri(memberUri)),
      );
      collection.Members = kept;
      collection["Members@odata.count"] = kept.length;
    });
  }

  /** The URIs a collection lists. */
  members(collectionUri: string): string[] {
    const collection = this.resources.get(canonicalUri(collectionUri));
    const members = collection?.Members;
    if (!Array.isArray(members)) return [];
    return members.flatMap((m) => (isObject(m) && typeof m["@odata.id"] === "string" ? [m["@odata.id"]] : []));
  }
}
