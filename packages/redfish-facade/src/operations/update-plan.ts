// The task plan of a firmware update: one subtask per owner, rolled out in batches, and the PoC's
// own member alone in the last stage, after leadership moved away from it (its BMC reboots into
// the new firmware and its agent may restart: the new PoC finishes the task). Pure.
import { aggregationSourceUri } from "../aggregation-service.ts";
import type { FacadeMember } from "../facade-cluster.ts";
import type { OperationAction, TaskRecord } from "./operation-types.ts";
import type { NewTaskPlan } from "./task-runner.ts";

export interface PlannedUpdate {
  readonly member: FacadeMember;
  /** The first facade target on the member, or its AggregationSource when the update names none. */
  readonly targetUri: string;
  readonly action: OperationAction;
}

export interface FirmwareUpdatePlanInput {
  readonly name: string;
  readonly payload: TaskRecord["payload"];
  readonly updates: readonly PlannedUpdate[];
  readonly batchSize: number;
}

/** The facade URI a subtask acts on: its first target, or the member's BMC as a whole. */
export function updateTargetUri(member: FacadeMember, facadeTargets: readonly string[]): string {
  return facadeTargets[0] ?? aggregationSourceUri(member);
}

export function planFirmwareUpdate(input: FirmwareUpdatePlanInput): NewTaskPlan {
  const others = input.updates.filter((u) => !u.member.isPoc);
  const own = input.updates.filter((u) => u.member.isPoc);
  const ordered = [...others, ...own];
  const stages: NewTaskPlan["stages"][number][] = [];
  const batchCount = Math.ceil(others.length / input.batchSize);
  for (let start = 0; start < others.length; start += input.batchSize) {
    const indexes = others.slice(start, start + input.batchSize).map((_u, i) => start + i);
    stages.push({
      subtaskIndexes: indexes,
      delayBeforeMs: 0,
      label: `batch ${stages.length + 1} of ${batchCount}`,
      handOverFrom: null,
    });
  }
  for (const [i, update] of own.entries()) {
    stages.push({
      subtaskIndexes: [others.length + i],
      delayBeforeMs: 0,
      label: `the point of contact's own BMC (${update.member.name})`,
      handOverFrom: update.member.id,
    });
  }
  return {
    kind: "firmware-update",
    name: input.name,
    payload: input.payload,
    stopOnFailure: false,
    subtasks: ordered.map((u) => ({ memberId: u.member.id, targetUri: u.targetUri, action: u.action })),
    stages,
  };
}
