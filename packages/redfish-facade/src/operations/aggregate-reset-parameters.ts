// The parameters of AggregationService.Reset and Aggregate.Reset, checked before anything is
// read or planned: each problem is a Base registry message naming the parameter, all reported at once.
import { baseMessage, type RedfishMessage } from "../redfish-error.ts";
import { SUBTASKS_MAX } from "./operation-types.ts";

export type AggregateResetAction = "AggregationService.Reset" | "Aggregate.Reset";

/** Resource.ResetType (DSP8010 2025.4): what a target that advertises nothing may be asked. */
export const STANDARD_RESET_TYPES: readonly string[] = Object.freeze([
  "On",
  "ForceOff",
  "GracefulShutdown",
  "GracefulRestart",
  "ForceRestart",
  "Nmi",
  "ForceOn",
  "PushPowerButton",
  "PowerCycle",
  "Suspend",
  "Pause",
  "Resume",
  "FullPowerCycle",
]);

/** Longest wait between two batches (one hour). */
export const RESET_BATCH_DELAY_MAX_SECONDS = 3_600;

export interface AggregateResetParameters {
  readonly resetType: string;
  /** Targets per batch; undefined: every target of a step at once. */
  readonly batchSize: number | undefined;
  readonly delayBetweenBatchesMs: number;
  /** AggregationService.Reset only: the facade URIs to reset, in the order given, without repeats. */
  readonly targetUris: readonly string[];
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A resource named in an action parameter: a link (`{"@odata.id": uri}`, as the schema has it) or
 * the URI itself (as many clients send it); undefined for anything else.
 */
export function linkedUri(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isObject(value) && typeof value["@odata.id"] === "string") return value["@odata.id"];
  return undefined;
}

/**
 * Reads an action body (undefined: no body). ResetType is required: the facade plans the power
 * sequence from it. Annotations (`@Redfish.OperationApplyTime`, ...) are ignored.
 */
export function parseResetParameters(
  action: AggregateResetAction,
  body: unknown,
): AggregateResetParameters | RedfishMessage[] {
  if (body !== undefined && !isObject(body)) return [baseMessage("MalformedJSON")];
  const fields = body ?? {};
  const known = new Set(["ResetType", "BatchSize", "DelayBetweenBatchesInSeconds"]);
  if (action === "AggregationService.Reset") known.add("TargetURIs");
  const problems: RedfishMessage[] = [];
  for (const name of Object.keys(fields)) {
    if (!known.has(name) && !name.includes("@")) {
      problems.push(baseMessage("ActionParameterUnknown", [action, name], [`/${name}`]));
    }
  }
  const { ResetType: resetType, BatchSize: batchSize, DelayBetweenBatchesInSeconds: delay } = fields;
  if (resetType === undefined) {
    problems.push(baseMessage("ActionParameterMissing", [action, "ResetType"], ["/ResetType"]));
  } else if (typeof resetType !== "string") {
    problems.push(
      baseMessage("ActionParameterValueTypeError", [shown(resetType), "ResetType", action], ["/ResetType"]),
    );
  } else if (!STANDARD_RESET_TYPES.includes(resetType)) {
    problems.push(baseMessage("ActionParameterValueNotInList", [resetType, "ResetType", action], ["/ResetType"]));
  }
  if (batchSize !== undefined) {
    if (typeof batchSize !== "number" || !Number.isInteger(batchSize)) {
      problems.push(
        baseMessage("ActionParameterValueTypeError", [shown(batchSize), "BatchSize", action], ["/BatchSize"]),
      );
    } else if (batchSize < 0 || batchSize > SUBTASKS_MAX) {
      problems.push(
        baseMessage("ActionParameterValueOutOfRange", [String(batchSize), "BatchSize", action], ["/BatchSize"]),
      );
    }
  }
  const delayPointer = ["/DelayBetweenBatchesInSeconds"];
  if (delay !== undefined) {
    if (typeof delay !== "number" || !Number.isInteger(delay)) {
      problems.push(
        baseMessage(
          "ActionParameterValueTypeError",
          [shown(delay), "DelayBetweenBatchesInSeconds", action],
          delayPointer,
        ),
      );
    } else if (delay < 0 || delay > RESET_BATCH_DELAY_MAX_SECONDS) {
      problems.push(
        baseMessage(
          "ActionParameterValueOutOfRange",
          [String(delay), "DelayBetweenBatchesInSeconds", action],
          delayPointer,
        ),
      );
    }
  }
  const targetUris: string[] = [];
  if (action === "AggregationService.Reset") {
    const targets = fields.TargetURIs;
    if (targets === undefined) {
      problems.push(baseMessage("ActionParameterMissing", [action, "TargetURIs"], ["/TargetURIs"]));
    } else if (!Array.isArray(targets) || !targets.every((t) => linkedUri(t) !== undefined)) {
      problems.push(
        baseMessage("ActionParameterValueTypeError", [shown(targets), "TargetURIs", action], ["/TargetURIs"]),
      );
    } else if (targets.length === 0) {
      problems.push(baseMessage("ActionParameterValueError", ["TargetURIs", action], ["/TargetURIs"]));
    } else if (targets.length > SUBTASKS_MAX) {
      problems.push(baseMessage("ArraySizeTooLong", ["TargetURIs", String(SUBTASKS_MAX)], ["/TargetURIs"]));
    } else {
      for (const [index, target] of targets.entries()) {
        const canonical = (linkedUri(target) as string).replace(/\/+$/, "");
        if (targetUris.includes(canonical)) {
          problems.push(baseMessage("ActionParameterValueError", ["TargetURIs", action], [`/TargetURIs/${index}`]));
        } else targetUris.push(canonical);
      }
    }
  }
  if (problems.length > 0) return problems;
  return {
    resetType: resetType as string,
    // The schema allows 0: no batching, as when BatchSize is absent.
    batchSize: batchSize === 0 ? undefined : (batchSize as number | undefined),
    delayBetweenBatchesMs: ((delay as number | undefined) ?? 0) * 1_000,
    targetUris,
  };
}
