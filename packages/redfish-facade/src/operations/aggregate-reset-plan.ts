// The task plan of an aggregated reset: one subtask per target, each the target's own Reset action
// POSTed on its owner; stages from the power sequence (when one is configured and the ResetType
// powers on or off) and batches within each step. Pure: the targets are already resolved.
import type { OperationAction, TaskRecord } from "./operation-types.ts";
import { powerDirection, powerSteps, type ResolvedPowerSequence } from "./power-sequence.ts";
import type { NewTaskPlan } from "./task-runner.ts";

/** A target of an aggregated reset, resolved to its owner and its own Reset action. */
export interface PlannedResetTarget {
  readonly memberId: string;
  readonly memberName: string;
  readonly memberLabels: Readonly<Record<string, string>>;
  /** The facade URI (prefixed) of the system, chassis or manager. */
  readonly targetUri: string;
  /** The Reset action's path on the owner's BMC, unprefixed. */
  readonly actionPath: string;
}

export interface AggregateResetPlanInput {
  readonly name: string;
  readonly payload: TaskRecord["payload"];
  readonly targets: readonly PlannedResetTarget[];
  readonly resetType: string;
  /** Targets per batch; undefined: a whole step at once. */
  readonly batchSize: number | undefined;
  readonly delayBetweenBatchesMs: number;
  readonly sequence: ResolvedPowerSequence | undefined;
}

/** The subtask action: the target's own Reset, as the console would have sent it to the member. */
export function resetAction(target: PlannedResetTarget, resetType: string): OperationAction {
  return {
    kind: "http",
    request: {
      method: "POST",
      path: target.actionPath,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ResetType: resetType }),
    },
  };
}

function batches<T>(items: readonly T[], size: number | undefined): T[][] {
  const step = size ?? items.length;
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += step) result.push(items.slice(i, i + step));
  return result;
}

export function planAggregateReset(input: AggregateResetPlanInput): NewTaskPlan {
  const direction = powerDirection(input.resetType);
  // Only a ResetType that powers on or off is sequenced; any other runs in plain batches.
  const steps =
    input.sequence !== undefined && direction !== undefined
      ? powerSteps(input.sequence, input.targets, (t) => ({ name: t.memberName, labels: t.memberLabels }), direction)
      : undefined;
  const sequenced = steps !== undefined;
  const subtasks: NewTaskPlan["subtasks"][number][] = [];
  const stages: NewTaskPlan["stages"][number][] = [];
  for (const step of steps ?? [{ group: null, targets: input.targets, delayBeforeMs: 0 }]) {
    const stepBatches = batches(step.targets, input.batchSize);
    for (const [index, batch] of stepBatches.entries()) {
      const first = subtasks.length;
      for (const target of batch) {
        subtasks.push({
          memberId: target.memberId,
          targetUri: target.targetUri,
          action: resetAction(target, input.resetType),
        });
      }
      const ofBatches = `batch ${index + 1} of ${stepBatches.length}`;
      const where = !sequenced ? "" : step.group === null ? "members in no power group" : `power group ${step.group}`;
      const label = where === "" ? ofBatches : stepBatches.length > 1 ? `${where}, ${ofBatches}` : where;
      stages.push({
        subtaskIndexes: batch.map((_target, i) => first + i),
        delayBeforeMs: index === 0 ? step.delayBeforeMs : input.delayBetweenBatchesMs,
        label,
        handOverFrom: null,
      });
    }
  }
  return {
    kind: "aggregate-reset",
    name: input.name,
    payload: input.payload,
    stopOnFailure: sequenced,
    subtasks,
    stages,
  };
}
