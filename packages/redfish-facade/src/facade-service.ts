// Resolving a GET on the facade: the facade's own resources, merged collections, and member
// resources read through the cache with their URIs prefixed. `$expand` resolves links through
// the same function, so an expanded member is exactly what a GET of it would give.
import { createHash } from "node:crypto";
import {
  AGGREGATION_SERVICE_URI,
  aggregates,
  aggregationService,
  aggregationSource,
  aggregationSources,
  aggregationSourceUri,
  CONNECTION_METHOD_ID,
  connectionMethod,
  connectionMethods,
  DEFAULT_AGGREGATE_ID,
  defaultAggregate,
} from "./aggregation-service.ts";
import { allWithin } from "./all-within.ts";
import type { FacadeCluster, FacadeMember } from "./facade-cluster.ts";
import { type FacadeTimeouts, RETRY_AFTER_SECONDS, WARM_UP_MEMBERS_IN_PARALLEL } from "./facade-limits.ts";
import type { FacadePart } from "./facade-part.ts";
import {
  CLUSTER_MANAGER_ID,
  clusterManager,
  DEFAULT_COLLECTION_TYPES,
  enclosureChassis,
  SERVICE_SHELLS,
  serviceShell,
} from "./facade-resources.ts";
import { MemberDiscovery, type MemberRootMap } from "./member-discovery.ts";
import { headerValue, type MemberAnswer, type MemberMissing, type MemberRead, MemberReader } from "./member-reader.ts";
import {
  memberResourceToFacade,
  memberUriToFacade,
  PREFIX_SEPARATOR,
  rewriteString,
  SERVICE_COLLECTIONS,
  STANDARD_ROOT_COLLECTIONS,
} from "./member-uri.ts";
import { PROTOCOL_FEATURES_SUPPORTED } from "./query-options.ts";
import { baseMessage, type RedfishMessage } from "./redfish-error.ts";
import { encodeSegment } from "./request-path.ts";
import { READ_ONLY_ALLOW, type Served, type ServedResource, servedError, servedResource } from "./served.ts";
import { MANAGER_DIAGNOSTIC_DATA_TYPE } from "./telemetry/manager-diagnostics-part.ts";
import { type ResolvedTopology, withTopologyLinks } from "./topology.ts";

type Json = Record<string, unknown>;

/** The collections every facade serves, whatever the members expose. */
const ALWAYS_SERVED_COLLECTIONS = ["Systems", "Chassis", "Managers"] as const;
/** The Redfish version the facade's ServiceRoot claims (DSP0266 of the 2025.4 release). */
export const REDFISH_VERSION = "1.21.0";
/** The services the facade owns whose routes other parts register (auth): linked only when served. */
const OWNED_SERVICE_LINKS = [
  ["SessionService", "/redfish/v1/SessionService"],
  ["AccountService", "/redfish/v1/AccountService"],
] as const;
export const SESSIONS_URI = "/redfish/v1/SessionService/Sessions";
/** Merged collections whose last answer is kept (one per collection path the members serve). */
const MAX_MEMOISED_COLLECTIONS = 256;
/** Distinct @odata.type values remembered for $metadata. */
const MAX_METADATA_TYPES = 1_024;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function computeEtag(text: string): string {
  return `"${createHash("sha1").update(text).digest("base64url").slice(0, 20)}"`;
}

/**
 * The member's BMC refused the member's own agent (its local credentials): not the console's
 * fault, so never passed on as the console's 401/403.
 */
export function memberRefused(path: string, statusCode: number): Served {
  return servedError(502, baseMessage("ResourceAtUriUnauthorized", [path, String(statusCode)]));
}

/** A member whose read is still going when a merged answer is due (it is read on meanwhile). */
function notAnsweredYet(member: FacadeMember): MemberMissing {
  return { kind: "missing", reason: "timeout", memberId: member.id, detail: `${member.name} has not answered yet` };
}

function notFound(path: string): Served {
  return servedError(404, baseMessage("ResourceMissingAtURI", [path]));
}

export interface FacadeServiceOptions {
  readonly cluster: FacadeCluster;
  readonly timeouts: FacadeTimeouts;
  readonly topology: ResolvedTopology;
  /** Whether the app serves a GET route at a path (the auth part's SessionService, AccountService). */
  readonly serves: (path: string) => boolean;
}

export interface WarmUpOptions {
  /**
   * Skips a member whose complete root map and root collections were all read (and answered)
   * within this many ms: a retry then reads only the members the last warm-up missed. 0 (the
   * default) reads every member whose answers are past their TTL.
   */
  readonly skipAnsweredWithinMs?: number;
}

export interface WarmUpResult {
  /** Members with a BMC. */
  readonly members: number;
  /** Of those, the ones whose root map and root collections were read. */
  readonly answered: number;
}

export class FacadeService {
  readonly cluster: FacadeCluster;
  readonly reader: MemberReader;
  readonly discovery: MemberDiscovery;
  private readonly topology: ResolvedTopology;
  private readonly timeouts: FacadeTimeouts;
  private readonly serves: (path: string) => boolean;
  /** Parts serving resources of their own (tasks, aggregate actions, updates): asked first. */
  readonly parts: FacadePart[] = [];
  /** Each member's BMC managers (facade URIs) as last read, so a member that is down still shows in Redundancy. */
  private readonly lastManagers = new Map<string, readonly string[]>();
  readonly seenTypes = new Set<string>();
  /** The last merged answer of each collection, with what it was made from. */
  private readonly aggregateMemo = new Map<
    string,
    { signature: string; inputs: readonly unknown[]; served: ServedResource }
  >();

  constructor(options: FacadeServiceOptions) {
    this.cluster = options.cluster;
    this.topology = options.topology;
    this.timeouts = options.timeouts;
    this.serves = options.serves;
    this.reader = new MemberReader({ cluster: options.cluster, timeouts: options.timeouts });
    this.discovery = new MemberDiscovery(this.reader, options.timeouts);
  }

  /** Members whose BMC the facade aggregates, in the cluster's order. */
  sources(): FacadeMember[] {
    return this.cluster.members().filter((m) => m.hasBmc);
  }

  memberNamed(name: string): FacadeMember | undefined {
    return this.sources().find((m) => m.name === name);
  }

  /** A member's answer as the facade serves it: URIs prefixed, topology links added (once per answer). */
  facadeBody(member: FacadeMember, answer: MemberAnswer, map: MemberRootMap): unknown {
    const memo = answer.memo.get("facade") as { map: MemberRootMap; body: unknown } | undefined;
    if (memo !== undefined && memo.map === map) return memo.body;
    let body = memberResourceToFacade(answer.json, member.name, map.prefixCollections);
    if (isObject(body)) {
      const id = body["@odata.id"];
      const added = typeof id === "string" ? this.topology.links.get(id.replace(/\/+$/, "")) : undefined;
      const type = body["@odata.type"];
      if (typeof type === "string" && this.seenTypes.size < MAX_METADATA_TYPES) this.seenTypes.add(type);
      if (added !== undefined) body = withTopologyLinks(body, added);
    }
    answer.memo.set("facade", { map, body });
    return body;
  }

  /**
   * Every source's root map in parallel; one not known within `collectionWaitMs` is reported
   * missing for this answer while its discovery goes on.
   */
  async rootMaps(): Promise<{ member: FacadeMember; map: MemberRootMap | MemberMissing }[]> {
    const sources = this.sources();
    const fresh = sources.map((member) => ({ member, map: this.discovery.freshRootMap(member.id) }));
    if (fresh.every((entry) => entry.map !== undefined)) {
      return fresh as { member: FacadeMember; map: MemberRootMap }[];
    }
    return allWithin(
      sources.map(async (member) => ({ member, map: await this.discovery.rootMap(member) })),
      this.timeouts.collectionWaitMs,
      (index) => ({ member: sources[index] as FacadeMember, map: notAnsweredYet(sources[index] as FacadeMember) }),
    );
  }

  /**
   * How old a member's root collection (Systems, Chassis, Managers: a list of links) may be when
   * served while it is read again: as long as its root map is trusted. What a BMC lists there
   * changes when hardware does, and a node that takes over as PoC answers from what it read as a
   * standby (warmUp) instead of waiting for every member.
   */
  private rootCollectionStaleness(): { readonly staleForMs: number } {
    return { staleForMs: this.timeouts.discoveryTtlMs };
  }

  /**
   * Reads ahead what a console's first requests would: every member's root map and the root
   * collections each one serves (Systems, Chassis, Managers), into the cache the requests read
   * from, so that a node about to serve answers the console's first polls at once. What is past
   * its TTL is read again and waited for, WARM_UP_MEMBERS_IN_PARALLEL members at a time: the
   * console's own requests keep the facade's event loop. Never rejects; resolves with how many
   * members answered.
   */
  async warmUp(options: WarmUpOptions = {}): Promise<WarmUpResult> {
    const members = this.sources();
    const skipWithinMs = options.skipAnsweredWithinMs ?? 0;
    let answered = 0;
    let next = 0;
    const readMembers = async (): Promise<void> => {
      for (let member = members[next++]; member !== undefined; member = members[next++]) {
        if (skipWithinMs > 0 && this.answeredWithin(member, skipWithinMs)) {
          answered++;
          continue;
        }
        const map = await this.discovery.readRootMap(member);
        if ("kind" in map) continue;
        const reads = await Promise.all(
          ALWAYS_SERVED_COLLECTIONS.filter((c) => map.rootCollections.has(c)).map((c) =>
            this.reader.getFresh(member, `/redfish/v1/${c}`),
          ),
        );
        if (reads.every((read) => read.kind === "answer")) answered++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(WARM_UP_MEMBERS_IN_PARALLEL, members.length) }, readMembers));
    return { members: members.length, answered };
  }

  /** The member's complete root map and each root collection it serves were answered within `ms`. */
  private answeredWithin(member: FacadeMember, ms: number): boolean {
    const map = this.discovery.completeWithin(member.id, ms);
    if (map === undefined) return false;
    return ALWAYS_SERVED_COLLECTIONS.filter((c) => map.rootCollections.has(c)).every((c) =>
      this.reader.answeredWithin(member, `/redfish/v1/${c}`, ms),
    );
  }

  async resolve(segments: readonly string[], path: string): Promise<Served> {
    const [first, second, third] = segments;
    for (const part of this.parts) {
      const served = await part.resolve?.(segments, path);
      if (served !== undefined) return served;
    }
    if (first === undefined) return this.serviceRoot();
    if (first === "odata" && segments.length === 1) return this.odataDocument();
    if (first === "AggregationService") return this.aggregationResource(segments, path);
    if (segments.length === 2 && first === "Managers" && second === CLUSTER_MANAGER_ID) {
      return servedResource(await this.clusterManagerBody());
    }
    if (segments.length === 2 && first === "Chassis" && second !== undefined) {
      const enclosure = this.topology.enclosures.find((e) => e.id === second);
      if (enclosure !== undefined) {
        return servedResource(
          withTopologyLinks(enclosureChassis(enclosure, this.cluster.members()), this.topology.links.get(path)),
        );
      }
    }
    const maps = await this.rootMaps();
    const rootCollections = new Set<string>(ALWAYS_SERVED_COLLECTIONS);
    const rootServices = new Set<string>();
    for (const { map } of maps) {
      if ("kind" in map) continue;
      for (const c of map.rootCollections) rootCollections.add(c);
      for (const s of map.rootServices) if (SERVICE_SHELLS[s] !== undefined) rootServices.add(s);
    }
    if (rootCollections.has(first) || STANDARD_ROOT_COLLECTIONS.has(first)) {
      if (segments.length === 1) return rootCollections.has(first) ? this.aggregate(path, first, maps) : notFound(path);
      return this.memberResource(segments, 1, path, (map) => map.prefixCollections.has(first));
    }
    if (rootServices.has(first)) {
      if (segments.length === 1) return this.shell(first, maps);
      const key = `${first}/${second}`;
      if (!SERVICE_COLLECTIONS.has(key)) return notFound(path);
      if (segments.length === 2) {
        if (!maps.some(({ map }) => !("kind" in map) && map.serviceCollections.has(key))) return notFound(path);
        return this.aggregate(path, key, maps);
      }
      if (third === undefined) return notFound(path);
      return this.memberResource(segments, 2, path, (map) => map.rootServices.has(first));
    }
    return notFound(path);
  }

  /** A GET of a member resource: `segments[index]` is `<member>_<id>`. */
  private async memberResource(
    segments: readonly string[],
    index: number,
    path: string,
    memberServes: (map: MemberRootMap) => boolean,
  ): Promise<Served> {
    const owner = this.ownerOf(segments, index);
    if (owner === undefined) return notFound(path);
    const map = await this.discovery.rootMap(owner.member);
    if ("kind" in map) return this.missingResource(map, path);
    if (!memberServes(map)) return notFound(path);
    const read = await this.reader.get(owner.member, owner.memberPath);
    return this.servedMemberRead(owner.member, map, read, path);
  }

  /** The member and its unprefixed path for a facade path whose `segments[index]` carries the prefix. */
  ownerOf(segments: readonly string[], index: number): { member: FacadeMember; memberPath: string } | undefined {
    const segment = segments[index] as string;
    const cut = segment.indexOf(PREFIX_SEPARATOR);
    if (cut <= 0 || cut === segment.length - 1) return undefined;
    const member = this.memberNamed(segment.slice(0, cut));
    if (member === undefined) return undefined;
    const memberSegments = [...segments];
    memberSegments[index] = segment.slice(cut + 1);
    return { member, memberPath: ["/redfish/v1", ...memberSegments.map(encodeSegment)].join("/") };
  }

  servedMemberRead(member: FacadeMember, map: MemberRootMap, read: MemberRead, path: string): Served {
    if (read.kind === "missing") {
      // A BMC's own 5xx error reaches the console with its status and messages, URIs prefixed.
      const [first, ...more] = read.serverError?.messages ?? [];
      if (read.serverError !== undefined && first !== undefined) {
        const rewrite = (message: unknown) =>
          memberResourceToFacade(message, member.name, map.prefixCollections) as RedfishMessage;
        return servedError(read.serverError.statusCode, rewrite(first), {}, ...more.map(rewrite));
      }
      return this.missingResource(read, path);
    }
    if (read.statusCode === 404) return notFound(path);
    if (read.statusCode === 401 || read.statusCode === 403) return memberRefused(path, read.statusCode);
    const body = this.facadeBody(member, read, map);
    const headers: Record<string, string> = {};
    const map2 = (uri: string): string => memberUriToFacade(uri, member.name, map.prefixCollections);
    for (const name of ["location", "link", "retry-after"]) {
      const value = headerValue(read.headers, name);
      if (value !== undefined) headers[name] = rewriteString(value, map2);
    }
    const allowHeader = headerValue(read.headers, "allow");
    const allow =
      allowHeader === undefined
        ? READ_ONLY_ALLOW
        : allowHeader
            .split(",")
            .map((m) => m.trim())
            .filter(Boolean);
    if (!isObject(body)) {
      return servedError(502, baseMessage("OperationFailed"));
    }
    let served = body;
    for (const part of this.parts) served = part.decorate?.(member, path, served) ?? served;
    return servedResource(served, { statusCode: read.statusCode, etag: read.etag, allow, headers });
  }

  /** A member that gave no answer: 503 (unreachable, with Retry-After), 504 (timeout), 502 (bad answer). */
  missingResource(missing: MemberMissing, _path: string): Served {
    if (missing.reason === "timeout") return servedError(504, baseMessage("OperationTimeout"));
    if (missing.reason === "bad-answer") return servedError(502, baseMessage("OperationFailed"));
    const seconds = String(RETRY_AFTER_SECONDS);
    return servedError(503, baseMessage("ServiceTemporarilyUnavailable", [seconds]), { "retry-after": seconds });
  }

  /** The message naming a source that is missing from a merged answer. */
  missingSourceMessage(member: FacadeMember): RedfishMessage {
    return baseMessage("CouldNotEstablishConnection", [aggregationSourceUri(member)], ["/Members"]);
  }

  /**
   * A collection merged over every member that serves it (plus the facade's own members), each
   * missing source named in `@Message.ExtendedInfo`. `key`: `Systems` or `UpdateService/FirmwareInventory`.
   */
  async aggregate(
    path: string,
    key: string,
    maps: readonly { member: FacadeMember; map: MemberRootMap | MemberMissing }[],
  ): Promise<Served> {
    // What each member contributes: why it is missing, that it does not serve the collection
    // (its root map), or its answer. The same inputs give the same merged body (memoised).
    // A member with nothing cached is waited for at most collectionWaitMs (named missing after).
    const inputs = await allWithin(
      maps.map(({ member, map }): MemberRead | MemberRootMap | MemberMissing | Promise<MemberRead> => {
        if ("kind" in map) return map;
        const serves = key.includes("/") ? map.serviceCollections.has(key) : map.rootCollections.has(key);
        if (!serves) return map;
        return this.reader.get(member, path, key.includes("/") ? {} : this.rootCollectionStaleness());
      }),
      this.timeouts.collectionWaitMs,
      (index) => notAnsweredYet((maps[index] as { member: FacadeMember }).member),
    );
    const own = this.ownMembers(key);
    const signature = `${maps.map(({ member }) => member.name).join(" ")}|${own.join(" ")}`;
    const memo = this.aggregateMemo.get(path);
    if (memo !== undefined && memo.signature === signature && memo.inputs.every((input, i) => input === inputs[i])) {
      return memo.served;
    }
    const parts = maps.map(({ member, map }, i) => {
      const input = inputs[i];
      if (input === undefined || "kind" in map || ("kind" in input && input.kind === "missing")) {
        return { member, missing: true as const };
      }
      if (!("kind" in input) || input.statusCode !== 200) return { member, members: [] as unknown[] };
      const body = this.facadeBody(member, input, map);
      if (!isObject(body) || !Array.isArray(body.Members)) return { member, members: [] as unknown[] };
      return { member, members: body.Members as unknown[], type: body["@odata.type"], name: body.Name };
    });
    const members: unknown[] = own.map((uri) => ({ "@odata.id": uri }));
    const extendedInfo: RedfishMessage[] = [];
    let type = DEFAULT_COLLECTION_TYPES[key]?.[0];
    let name = DEFAULT_COLLECTION_TYPES[key]?.[1];
    for (const part of parts) {
      if ("missing" in part) {
        extendedInfo.push(this.missingSourceMessage(part.member));
        continue;
      }
      members.push(...part.members);
      if (type === undefined && typeof part.type === "string") type = part.type;
      if (name === undefined && typeof part.name === "string") name = part.name;
    }
    if (key === "Managers") this.rememberManagers(parts);
    const body: Json = {
      "@odata.type": type ?? "#Resource.Resource",
      "@odata.id": path,
      Name: name ?? key,
      Members: members,
      "Members@odata.count": members.length,
    };
    if (extendedInfo.length > 0) body["@Message.ExtendedInfo"] = extendedInfo;
    const served = servedResource(body, { aggregated: true });
    if (this.aggregateMemo.size >= MAX_MEMOISED_COLLECTIONS) this.aggregateMemo.clear();
    this.aggregateMemo.set(path, { signature, inputs, served });
    return served;
  }

  private rememberManagers(
    parts: readonly ({ member: FacadeMember; missing: true } | { member: FacadeMember; members: unknown[] })[],
  ): void {
    for (const part of parts) {
      if ("missing" in part) continue;
      const uris = part.members.flatMap((m) =>
        isObject(m) && typeof m["@odata.id"] === "string" ? [m["@odata.id"]] : [],
      );
      this.lastManagers.set(part.member.id, uris);
    }
  }

  /** Members of a merged collection that the facade itself serves. */
  private ownMembers(key: string): string[] {
    const fromParts = this.parts.flatMap((part) => part.collectionMembers?.(key) ?? []);
    if (key === "Managers") return [`/redfish/v1/Managers/${CLUSTER_MANAGER_ID}`, ...fromParts];
    if (key === "Chassis") return [...this.topology.enclosures.map((e) => `/redfish/v1/Chassis/${e.id}`), ...fromParts];
    return fromParts;
  }

  /** The facade URIs a member's collection lists (empty when it cannot be read now). */
  private async memberCollection(member: FacadeMember, collection: string): Promise<string[]> {
    const map = await this.discovery.rootMap(member);
    if ("kind" in map || !map.rootCollections.has(collection)) return [];
    const read = await this.reader.get(member, `/redfish/v1/${collection}`);
    if (read.kind === "missing" || read.statusCode !== 200) return [];
    const body = this.facadeBody(member, read, map);
    if (!isObject(body) || !Array.isArray(body.Members)) return [];
    return body.Members.flatMap((m) => (isObject(m) && typeof m["@odata.id"] === "string" ? [m["@odata.id"]] : []));
  }

  async clusterManagerBody(): Promise<Json> {
    const members = this.cluster.members();
    await Promise.all(
      this.sources().map(async (member) => {
        const managers = await this.memberCollection(member, "Managers");
        if (managers.length > 0) this.lastManagers.set(member.id, managers);
      }),
    );
    return clusterManager({
      clusterName: this.cluster.clusterName,
      clusterUuid: this.cluster.clusterUuid() ?? "",
      members,
      memberManagers: this.lastManagers,
      enclosures: this.topology.enclosures,
    });
  }

  private async shell(service: string, maps: readonly { map: MemberRootMap | MemberMissing }[]): Promise<Served> {
    const collections = (SERVICE_SHELLS[service]?.collections ?? []).filter((c) =>
      maps.some(({ map }) => !("kind" in map) && map.serviceCollections.has(`${service}/${c}`)),
    );
    const body = serviceShell(service, collections);
    return body === undefined ? notFound(`/redfish/v1/${service}`) : servedResource(body);
  }

  private async aggregationResource(segments: readonly string[], path: string): Promise<Served> {
    const members = this.cluster.members();
    const [, collection, id] = segments;
    if (segments.length === 1) return servedResource(aggregationService(members));
    if (segments.length > 3) return notFound(path);
    if (collection === "AggregationSources") {
      if (id === undefined) return servedResource(aggregationSources(members));
      const member = this.memberNamed(id);
      if (member === undefined) return notFound(path);
      const accessed = (
        await Promise.all(ALWAYS_SERVED_COLLECTIONS.map((c) => this.memberCollection(member, c)))
      ).flat();
      return servedResource(aggregationSource(member, accessed));
    }
    if (collection === "ConnectionMethods") {
      if (id === undefined) return servedResource(connectionMethods());
      return id === CONNECTION_METHOD_ID ? servedResource(connectionMethod(members)) : notFound(path);
    }
    if (collection === "Aggregates") {
      if (id === undefined) return servedResource(aggregates());
      if (id !== DEFAULT_AGGREGATE_ID) return notFound(path);
      const systems = (await Promise.all(this.sources().map((m) => this.memberCollection(m, "Systems")))).flat();
      return servedResource(defaultAggregate(systems));
    }
    return notFound(path);
  }

  async serviceRoot(): Promise<Served> {
    const uuid = this.cluster.clusterUuid();
    if (uuid === null) {
      const seconds = String(RETRY_AFTER_SECONDS);
      return servedError(503, baseMessage("ServiceTemporarilyUnavailable", [seconds]), { "retry-after": seconds });
    }
    const maps = await this.rootMaps();
    const body: Json = {
      "@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot",
      "@odata.id": "/redfish/v1",
      Id: "RootService",
      Name: `Conclave ${this.cluster.clusterName}`,
      RedfishVersion: REDFISH_VERSION,
      UUID: uuid,
      Vendor: "Conclave",
      Product: "Conclave Redfish facade",
      ProtocolFeaturesSupported: PROTOCOL_FEATURES_SUPPORTED,
    };
    const links: Json = {};
    for (const collection of ALWAYS_SERVED_COLLECTIONS) body[collection] = { "@odata.id": `/redfish/v1/${collection}` };
    for (const { map } of maps) {
      if ("kind" in map) continue;
      for (const segment of map.rootCollections) {
        body[map.rootProperties.get(segment) ?? segment] = { "@odata.id": `/redfish/v1/${segment}` };
      }
      for (const segment of map.rootServices) {
        if (SERVICE_SHELLS[segment] !== undefined) {
          body[map.rootProperties.get(segment) ?? segment] = { "@odata.id": `/redfish/v1/${segment}` };
        }
      }
    }
    body.AggregationService = { "@odata.id": AGGREGATION_SERVICE_URI };
    for (const part of this.parts) {
      for (const [property, uri] of Object.entries(part.rootLinks?.() ?? {})) body[property] = { "@odata.id": uri };
    }
    for (const [property, uri] of OWNED_SERVICE_LINKS) if (this.serves(uri)) body[property] = { "@odata.id": uri };
    if (this.serves(SESSIONS_URI)) links.Sessions = { "@odata.id": SESSIONS_URI };
    body.Links = links;
    return servedResource(body);
  }

  private async odataDocument(): Promise<Served> {
    const root = await this.serviceRoot();
    if (root.kind === "error") return root;
    const value: Json[] = [{ name: "Service", kind: "Singleton", url: "/redfish/v1/" }];
    for (const [name, target] of Object.entries(root.body)) {
      if (name !== "Links" && isObject(target) && typeof target["@odata.id"] === "string") {
        value.push({ name, kind: "Singleton", url: target["@odata.id"] });
      }
    }
    return servedResource({ "@odata.context": "/redfish/v1/$metadata", value });
  }

  /** @odata.type values the facade serves (its own and every member type read so far), for $metadata. */
  metadataTypes(): string[] {
    const own = [
      "#ServiceRoot.v1_20_0.ServiceRoot",
      "#Manager.v1_24_0.Manager",
      "#Chassis.v1_28_0.Chassis",
      "#AggregationService.v1_0_3.AggregationService",
      "#AggregationSource.v1_5_0.AggregationSource",
      "#AggregationSourceCollection.AggregationSourceCollection",
      "#ConnectionMethod.v1_2_0.ConnectionMethod",
      "#ConnectionMethodCollection.ConnectionMethodCollection",
      "#Aggregate.v1_0_3.Aggregate",
      "#AggregateCollection.AggregateCollection",
      "#Message.v1_3_0.Message",
      "#Redundancy.v1_7_0.Redundancy",
      MANAGER_DIAGNOSTIC_DATA_TYPE,
      ...Object.values(DEFAULT_COLLECTION_TYPES).map(([type]) => type),
      ...Object.values(SERVICE_SHELLS).map((s) => s.type),
    ];
    return [...new Set([...own, ...this.seenTypes])].sort();
  }
}
