// AggregationService.Reset (TargetURIs) and Aggregate.Reset (the aggregate's elements): checked,
// resolved to each target's own Reset on its owner, planned into stages, and started as a task.
import type { FastifyReply } from "fastify";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import {
  type AggregateResetAction,
  type AggregateResetParameters,
  parseResetParameters,
} from "./aggregate-reset-parameters.ts";
import { planAggregateReset } from "./aggregate-reset-plan.ts";
import { resolveResetTargets } from "./aggregate-targets.ts";
import { startTaskAnswer } from "./aggregate-task-answer.ts";
import { JOURNALED_BODY_MAX_BYTES } from "./operation-types.ts";
import type { ResolvedPowerSequence } from "./power-sequence.ts";
import type { TaskRunner } from "./task-runner.ts";

export interface AggregateResetContext {
  readonly service: FacadeService;
  readonly tasks: TaskRunner;
  readonly sequence: ResolvedPowerSequence | undefined;
}

export interface AggregateResetRequest {
  readonly action: AggregateResetAction;
  /** The facade path the console posted to (the task's Payload.TargetUri). */
  readonly actionUri: string;
  readonly body: unknown;
  /**
   * Aggregate.Reset: the aggregate's elements, read when the request arrives. Undefined for
   * AggregationService.Reset, whose targets are its TargetURIs.
   */
  readonly elements?: readonly string[];
}

function taskName(action: AggregateResetAction, parameters: AggregateResetParameters, count: number): string {
  return `${action} (${parameters.resetType}) of ${count} resource${count === 1 ? "" : "s"}`;
}

export async function aggregateReset(
  context: AggregateResetContext,
  request: AggregateResetRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const jsonBody = JSON.stringify(request.body ?? {});
  if (Buffer.byteLength(jsonBody) > JOURNALED_BODY_MAX_BYTES) {
    return sendRedfishError(reply, 413, baseMessage("PayloadTooLarge"));
  }
  const parameters = parseResetParameters(request.action, request.body);
  if (Array.isArray(parameters)) {
    const [first, ...more] = parameters;
    if (first !== undefined) return sendRedfishError(reply, 400, first, ...more);
    return sendRedfishError(reply, 400, baseMessage("GeneralError"));
  }
  const uris = request.elements ?? parameters.targetUris;
  if (uris.length === 0) return sendRedfishError(reply, 400, baseMessage("NoOperation"));
  const resolved = await resolveResetTargets(context.service, uris, parameters.resetType, request.action, (index) =>
    request.elements === undefined ? `/TargetURIs/${index}` : undefined,
  );
  if (!("targets" in resolved)) {
    for (const [name, value] of Object.entries(resolved.headers)) reply.header(name, value);
    return sendRedfishError(reply, resolved.statusCode, ...resolved.messages);
  }
  const plan = planAggregateReset({
    name: taskName(request.action, parameters, resolved.targets.length),
    payload: { targetUri: request.actionUri, httpOperation: "POST", jsonBody },
    targets: resolved.targets,
    resetType: parameters.resetType,
    batchSize: parameters.batchSize,
    delayBetweenBatchesMs: parameters.delayBetweenBatchesMs,
    sequence: context.sequence,
  });
  return (await startTaskAnswer(reply, context.service, context.tasks, plan)).reply;
}
