// Facade URIs of systems, chassis and managers, resolved to their owner and their own Reset
// action, as read through the facade (so a member that is down answers as it does to a GET).
// Shared by aggregated resets (TargetURIs, aggregate elements) and user aggregates (Elements).
import type { FacadeMember } from "../facade-cluster.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage } from "../redfish-error.ts";
import { isPathProblem, parseRequestUrl } from "../request-path.ts";
import type { ServedError } from "../served.ts";
import { STANDARD_RESET_TYPES } from "./aggregate-reset-parameters.ts";
import type { PlannedResetTarget } from "./aggregate-reset-plan.ts";

/** The top-level collections whose members an aggregate may hold and a reset may target. */
export const RESETTABLE_COLLECTIONS: Readonly<Record<string, string>> = Object.freeze({
  Systems: "ComputerSystem",
  Chassis: "Chassis",
  Managers: "Manager",
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A member resource named by a facade URI: `/redfish/v1/<Systems|Chassis|Managers>/<member>_<id>`. */
export interface MemberElement {
  readonly member: FacadeMember;
  readonly uri: string;
  readonly segments: readonly string[];
  /** The schema name of its Reset action's owner: ComputerSystem, Chassis or Manager. */
  readonly resourceType: string;
  /** Its path on the member's BMC. */
  readonly memberPath: string;
}

/** The member element a URI names, or undefined when it names none (a facade resource, a bad URI). */
export function memberElementOf(service: FacadeService, uri: string): MemberElement | undefined {
  const parsed = parseRequestUrl(uri);
  if (isPathProblem(parsed) || parsed.versionDocument || parsed.query.length > 0) return undefined;
  const [collection] = parsed.segments;
  const resourceType = collection === undefined ? undefined : RESETTABLE_COLLECTIONS[collection];
  if (resourceType === undefined || parsed.segments.length !== 2) return undefined;
  const owner = service.ownerOf(parsed.segments, 1);
  if (owner === undefined) return undefined;
  return {
    member: owner.member,
    uri: parsed.path,
    segments: parsed.segments,
    resourceType,
    memberPath: owner.memberPath,
  };
}

export type ElementLookup =
  | { readonly kind: "found"; readonly element: MemberElement; readonly body: Record<string, unknown> }
  | { readonly kind: "unknown" }
  | { readonly kind: "unavailable"; readonly served: ServedError };

/** Reads a member element through the facade: it exists, it does not, or its member cannot say now. */
export async function lookUpElement(service: FacadeService, uri: string): Promise<ElementLookup> {
  const element = memberElementOf(service, uri);
  if (element === undefined) return { kind: "unknown" };
  const served = await service.resolve(element.segments, element.uri);
  if (served.kind === "error") {
    return served.statusCode === 404 ? { kind: "unknown" } : { kind: "unavailable", served };
  }
  if (served.statusCode !== 200) return { kind: "unknown" };
  return { kind: "found", element, body: served.body };
}

/** A resolved reset target: where its Reset goes and which ResetTypes it takes. */
export interface ResolvedResetTarget extends PlannedResetTarget {
  readonly actionName: string;
  readonly allowedResetTypes: readonly string[];
}

async function allowedResetTypes(service: FacadeService, action: Record<string, unknown>): Promise<readonly string[]> {
  const inline = action["ResetType@Redfish.AllowableValues"];
  if (Array.isArray(inline)) return inline.filter((v): v is string => typeof v === "string");
  const info = action["@Redfish.ActionInfo"];
  if (typeof info === "string") {
    const parsed = parseRequestUrl(info);
    if (!isPathProblem(parsed) && !parsed.versionDocument) {
      const served = await service.resolve(parsed.segments, parsed.path);
      const parameters = served.kind === "resource" ? served.body.Parameters : undefined;
      const entry = Array.isArray(parameters)
        ? parameters.find((p) => isObject(p) && p.Name === "ResetType")
        : undefined;
      if (isObject(entry) && Array.isArray(entry.AllowableValues)) {
        return entry.AllowableValues.filter((v): v is string => typeof v === "string");
      }
    }
  }
  return STANDARD_RESET_TYPES;
}

/** The Reset action's path on the owner: its advertised target, unprefixed. */
function actionPathOf(service: FacadeService, element: MemberElement, target: unknown, actionName: string): string {
  if (typeof target === "string") {
    const parsed = parseRequestUrl(target);
    if (!isPathProblem(parsed) && !parsed.versionDocument && parsed.segments[0] === element.segments[0]) {
      const owner = service.ownerOf(parsed.segments, 1);
      if (owner !== undefined && owner.member.id === element.member.id) return owner.memberPath;
    }
  }
  return `${element.memberPath}/Actions/${actionName}`;
}

export type ResetTargetLookup =
  | { readonly kind: "target"; readonly target: ResolvedResetTarget }
  | { readonly kind: "unknown" }
  | { readonly kind: "no-reset"; readonly actionName: string }
  | { readonly kind: "unavailable"; readonly served: ServedError };

export async function lookUpResetTarget(service: FacadeService, uri: string): Promise<ResetTargetLookup> {
  const lookup = await lookUpElement(service, uri);
  if (lookup.kind !== "found") return lookup;
  const { element, body } = lookup;
  const actionName = `${element.resourceType}.Reset`;
  const actions = isObject(body.Actions) ? body.Actions : {};
  const action = actions[`#${actionName}`];
  if (!isObject(action)) return { kind: "no-reset", actionName };
  return {
    kind: "target",
    target: {
      memberId: element.member.id,
      memberName: element.member.name,
      memberLabels: element.member.labels,
      targetUri: element.uri,
      actionPath: actionPathOf(service, element, action.target, actionName),
      actionName,
      allowedResetTypes: await allowedResetTypes(service, action),
    },
  };
}

/** Why the targets cannot be reset: the answer's status and every problem found. */
export interface TargetsRefused {
  readonly statusCode: number;
  readonly messages: readonly [RedfishMessage, ...RedfishMessage[]];
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Resolves every target and checks the ResetType against what each advertises. `pointer(i)`: the
 * request property naming target i (`/TargetURIs/0`), or undefined when the request names none.
 */
export async function resolveResetTargets(
  service: FacadeService,
  uris: readonly string[],
  resetType: string,
  action: string,
  pointer: (index: number) => string | undefined,
): Promise<{ readonly targets: ResolvedResetTarget[] } | TargetsRefused> {
  const lookups = await Promise.all(uris.map((uri) => lookUpResetTarget(service, uri)));
  const problems: RedfishMessage[] = [];
  const targets: ResolvedResetTarget[] = [];
  for (const [index, lookup] of lookups.entries()) {
    const at = pointer(index);
    const related = at === undefined ? undefined : [at];
    const uri = uris[index] as string;
    switch (lookup.kind) {
      case "unavailable":
        return {
          statusCode: lookup.served.statusCode,
          messages: lookup.served.messages,
          headers: lookup.served.headers,
        };
      case "unknown":
        problems.push(baseMessage("ResourceMissingAtURI", [uri], related));
        break;
      case "no-reset":
        problems.push(baseMessage("ActionNotSupported", [`#${lookup.actionName}`], related));
        break;
      case "target":
        if (!lookup.target.allowedResetTypes.includes(resetType)) {
          problems.push(
            baseMessage(
              "ActionParameterValueNotInList",
              [resetType, "ResetType", action],
              ["/ResetType", ...(related ?? [])],
            ),
          );
        } else targets.push(lookup.target);
    }
  }
  const [first, ...more] = problems;
  if (first !== undefined) return { statusCode: 400, messages: [first, ...more], headers: {} };
  return { targets };
}
