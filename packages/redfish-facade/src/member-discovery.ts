// What each member serves at its root: which of its root links are collections (aggregated by
// the facade and prefixed) and which are singleton services. Read from the member's ServiceRoot
// and the resources it links, through the same cache as every other read, and trusted for
// `discoveryTtlMs`; when a member cannot be read, the last thing it said is kept.

import type { FacadeMember } from "./facade-cluster.ts";
import type { FacadeTimeouts } from "./facade-limits.ts";
import type { MemberMissing, MemberReader } from "./member-reader.ts";
import { SERVICE_COLLECTIONS, SERVICE_ROOT_PATH, STANDARD_ROOT_COLLECTIONS } from "./member-uri.ts";

/** Root links the facade serves itself: never read from members, never prefixed. */
export const FACADE_OWNED_ROOT_SERVICES: ReadonlySet<string> = new Set([
  "SessionService",
  "AccountService",
  "AggregationService",
]);

export interface MemberRootMap {
  /** Root collections the member links from its ServiceRoot, by URI segment (`Systems`, `Fabrics`, ...). */
  readonly rootCollections: ReadonlySet<string>;
  /** Root segments whose members get the prefix: rootCollections and the standard ones it does not serve as services. */
  readonly prefixCollections: ReadonlySet<string>;
  /** Root singleton services by URI segment (`UpdateService`, `TaskService`, ...). */
  readonly rootServices: ReadonlySet<string>;
  /** The ServiceRoot property that links each root segment (`TaskService` is linked as `Tasks`). */
  readonly rootProperties: ReadonlyMap<string, string>;
  /** SERVICE_COLLECTIONS the member's services link (`UpdateService/FirmwareInventory`, ...). */
  readonly serviceCollections: ReadonlySet<string>;
  readonly discoveredAtMs: number;
  /** False when some root link could not be read: the map is then retried after the cache TTL. */
  readonly complete: boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unreachable(member: FacadeMember): MemberMissing {
  return { kind: "missing", reason: "unreachable", memberId: member.id, detail: `${member.name} is unreachable` };
}

/** `/redfish/v1/<segment>` -> segment; undefined for anything deeper or elsewhere. */
function rootSegment(uri: string): string | undefined {
  const match = /^\/redfish\/v1\/([^/?#]+)\/?$/.exec(uri);
  return match?.[1];
}

export class MemberDiscovery {
  private readonly reader: MemberReader;
  private readonly timeouts: FacadeTimeouts;
  private readonly nowMs: () => number;
  private readonly known = new Map<string, MemberRootMap>();
  private readonly inFlight = new Map<string, Promise<MemberRootMap | MemberMissing>>();

  constructor(reader: MemberReader, timeouts: FacadeTimeouts, nowMs: () => number = () => performance.now()) {
    this.reader = reader;
    this.timeouts = timeouts;
    this.nowMs = nowMs;
  }

  /** The last root map of a member, however old, without asking it. */
  lastKnown(memberId: string): MemberRootMap | undefined {
    return this.known.get(memberId);
  }

  /** The member's root map if it is complete and was read less than `ms` ago. */
  completeWithin(memberId: string, ms: number): MemberRootMap | undefined {
    const known = this.known.get(memberId);
    return known?.complete === true && this.nowMs() - known.discoveredAtMs < ms ? known : undefined;
  }

  /** The root map while it is fresh, without waiting (the hot path of every merged answer). */
  freshRootMap(memberId: string): MemberRootMap | undefined {
    const known = this.known.get(memberId);
    if (known === undefined) return undefined;
    const trustedForMs = known.complete ? this.timeouts.discoveryTtlMs : this.timeouts.memberCacheTtlMs;
    return this.nowMs() - known.discoveredAtMs < trustedForMs ? known : undefined;
  }

  /**
   * A member's root map: the fresh one; past its TTL, the last complete one at once while one
   * rediscovery runs (what a BMC serves at its root changes with its firmware, not between two
   * requests, and a node that becomes PoC must not read every member's root before answering);
   * otherwise the one discovery in flight, the last known map if it fails, or why it is missing.
   */
  rootMap(member: FacadeMember): Promise<MemberRootMap | MemberMissing> {
    return this.currentRootMap(member, false);
  }

  /**
   * A member's root map, read again once it is past its TTL and waited for (`rootMap` answers
   * from the last complete one meanwhile); the last known map if the member cannot be read.
   */
  readRootMap(member: FacadeMember): Promise<MemberRootMap | MemberMissing> {
    return this.currentRootMap(member, true);
  }

  private async currentRootMap(member: FacadeMember, waitForRead: boolean): Promise<MemberRootMap | MemberMissing> {
    const fresh = this.freshRootMap(member.id);
    if (fresh !== undefined) return fresh;
    const known = this.known.get(member.id);
    // The cluster says the member is gone: what it said last, or missing, at once. A discovery
    // started before that was known (a standby's warm-up reading the PoC that then died) would
    // hold the request until its read deadline.
    if (!member.bmcReachable) return known ?? unreachable(member);
    const pending = this.rediscover(member);
    if (!waitForRead && known?.complete === true) {
      pending.catch(() => undefined); // nobody waits for this one: its failure keeps the known map
      return known;
    }
    const result = await pending;
    return "kind" in result ? (known ?? result) : result;
  }

  /** The one discovery of `member` in flight, started if there is none. */
  private rediscover(member: FacadeMember): Promise<MemberRootMap | MemberMissing> {
    let pending = this.inFlight.get(member.id);
    if (pending === undefined) {
      pending = this.discover(member).finally(() => this.inFlight.delete(member.id));
      this.inFlight.set(member.id, pending);
    }
    return pending;
  }

  private async discover(member: FacadeMember): Promise<MemberRootMap | MemberMissing> {
    // Read, not answered from the cache past its TTL: a rediscovery built from the answers it
    // replaces would lag a whole discoveryTtlMs behind the member.
    const root = await this.reader.getFresh(member, SERVICE_ROOT_PATH);
    if (root.kind === "missing") return root;
    if (root.statusCode !== 200 || !isObject(root.json)) {
      return {
        kind: "missing",
        reason: "bad-answer",
        memberId: member.id,
        detail: `${member.name}'s service root answered ${root.statusCode}`,
      };
    }
    const segments = new Set<string>();
    const rootProperties = new Map<string, string>();
    for (const [key, value] of Object.entries(root.json)) {
      if (key === "Links" || !isObject(value) || typeof value["@odata.id"] !== "string") continue;
      const segment = rootSegment(value["@odata.id"]);
      if (segment !== undefined && !FACADE_OWNED_ROOT_SERVICES.has(segment)) {
        segments.add(segment);
        rootProperties.set(segment, key);
      }
    }
    const serviceCollections = new Set<string>();
    const rootCollections = new Set<string>();
    const rootServices = new Set<string>();
    const reads = await Promise.all(
      [...segments].map(
        async (segment) => [segment, await this.reader.getFresh(member, `${SERVICE_ROOT_PATH}/${segment}`)] as const,
      ),
    );
    const previous = this.known.get(member.id);
    let complete = true;
    for (const [segment, read] of reads) {
      if (read.kind === "missing") {
        // Keep what the member said about it last time rather than dropping a collection.
        complete = false;
        if (previous?.rootCollections.has(segment)) rootCollections.add(segment);
        if (previous?.rootServices.has(segment)) {
          rootServices.add(segment);
          for (const known of previous.serviceCollections) {
            if (known.startsWith(`${segment}/`)) serviceCollections.add(known);
          }
        }
        continue;
      }
      if (read.statusCode !== 200 || !isObject(read.json)) continue;
      if (Array.isArray(read.json.Members)) {
        rootCollections.add(segment);
        continue;
      }
      rootServices.add(segment);
      for (const value of Object.values(read.json)) {
        if (!isObject(value) || typeof value["@odata.id"] !== "string") continue;
        const match = /^\/redfish\/v1\/([^/?#]+\/[^/?#]+)\/?$/.exec(value["@odata.id"]);
        if (match?.[1] !== undefined && SERVICE_COLLECTIONS.has(match[1])) serviceCollections.add(match[1]);
      }
    }
    const prefixCollections = new Set([...STANDARD_ROOT_COLLECTIONS, ...rootCollections]);
    for (const service of rootServices) prefixCollections.delete(service);
    const map: MemberRootMap = {
      rootCollections,
      prefixCollections,
      rootServices,
      rootProperties,
      serviceCollections,
      discoveredAtMs: this.nowMs(),
      complete,
    };
    this.known.set(member.id, map);
    return map;
  }
}
