// An update's Targets (facade URIs of firmware inventory, managers, systems, ...) routed to the
// members that own them, un-prefixed for each owner's BMC. No Targets: every member with a BMC,
// each updating what its BMC updates by default (its own firmware).
import type { FacadeMember } from "../facade-cluster.ts";
import type { FacadeService } from "../facade-service.ts";
import { prefixedSegmentIndex, STANDARD_ROOT_COLLECTIONS } from "../member-uri.ts";
import { baseMessage, type RedfishMessage } from "../redfish-error.ts";
import { isPathProblem, parseRequestUrl } from "../request-path.ts";
import { linkedUri } from "./aggregate-reset-parameters.ts";
import type { TargetsRefused } from "./aggregate-targets.ts";
import { SUBTASKS_MAX } from "./operation-types.ts";

export interface UpdateOwner {
  readonly member: FacadeMember;
  /** The targets on the owner's BMC (unprefixed); empty: its BMC's default. */
  readonly memberTargets: readonly string[];
  /** The same targets as the console named them. */
  readonly facadeTargets: readonly string[];
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

type TargetLookup =
  | { readonly kind: "found"; readonly member: FacadeMember; readonly memberUri: string; readonly uri: string }
  | { readonly kind: "unknown" }
  | { readonly kind: "unavailable"; readonly refused: TargetsRefused };

async function lookUpTarget(service: FacadeService, uri: string): Promise<TargetLookup> {
  const parsed = parseRequestUrl(uri);
  if (isPathProblem(parsed) || parsed.versionDocument || parsed.query.length > 0) return { kind: "unknown" };
  const index = prefixedSegmentIndex(parsed.segments, STANDARD_ROOT_COLLECTIONS);
  if (index === -1) return { kind: "unknown" };
  const owner = service.ownerOf(parsed.segments, index);
  if (owner === undefined) return { kind: "unknown" };
  const served = await service.resolve(parsed.segments, parsed.path);
  if (served.kind === "error") {
    if (served.statusCode === 404) return { kind: "unknown" };
    return {
      kind: "unavailable",
      refused: { statusCode: served.statusCode, messages: served.messages, headers: served.headers },
    };
  }
  return { kind: "found", member: owner.member, memberUri: owner.memberPath, uri: parsed.path };
}

/**
 * The owners an update goes to, in the cluster's member order, or why it cannot go: an unknown
 * target (400, each named), a member that cannot be read now (its 503/504).
 */
export async function resolveUpdateTargets(
  service: FacadeService,
  requested: unknown,
  action: string,
): Promise<{ readonly owners: UpdateOwner[] } | TargetsRefused> {
  const sources = service.sources();
  if (requested === undefined || (Array.isArray(requested) && requested.length === 0)) {
    return { owners: sources.map((member) => ({ member, memberTargets: [], facadeTargets: [] })) };
  }
  if (!Array.isArray(requested) || !requested.every((t) => linkedUri(t) !== undefined)) {
    return {
      statusCode: 400,
      messages: [baseMessage("ActionParameterValueTypeError", [shown(requested), "Targets", action], ["/Targets"])],
      headers: {},
    };
  }
  if (requested.length > SUBTASKS_MAX) {
    return {
      statusCode: 400,
      messages: [baseMessage("ArraySizeTooLong", ["Targets", String(SUBTASKS_MAX)], ["/Targets"])],
      headers: {},
    };
  }
  const uris = requested.map((t) => (linkedUri(t) as string).replace(/\/+$/, ""));
  const lookups = await Promise.all(uris.map((uri) => lookUpTarget(service, uri)));
  const problems: RedfishMessage[] = [];
  const byMember = new Map<string, { memberTargets: string[]; facadeTargets: string[] }>();
  for (const [index, lookup] of lookups.entries()) {
    if (lookup.kind === "unavailable") return lookup.refused;
    if (lookup.kind === "unknown") {
      problems.push(
        baseMessage("ActionParameterValueNotInList", [uris[index] as string, "Targets", action], [`/Targets/${index}`]),
      );
      continue;
    }
    let entry = byMember.get(lookup.member.id);
    if (entry === undefined) {
      entry = { memberTargets: [], facadeTargets: [] };
      byMember.set(lookup.member.id, entry);
    }
    if (!entry.facadeTargets.includes(lookup.uri)) {
      entry.facadeTargets.push(lookup.uri);
      entry.memberTargets.push(lookup.memberUri);
    }
  }
  const [first, ...more] = problems;
  if (first !== undefined) return { statusCode: 400, messages: [first, ...more], headers: {} };
  return {
    owners: sources.flatMap((member) => {
      const entry = byMember.get(member.id);
      return entry === undefined ? [] : [{ member, ...entry }];
    }),
  };
}
