// UpdateService.SimpleUpdate on the facade: the image is fetched by each target's own BMC, so the
// facade only routes the request: one SimpleUpdate per owner, with that owner's targets
// (un-prefixed), rolled out as a firmware-update task.
import type { FastifyReply } from "fastify";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { startTaskAnswer } from "./aggregate-task-answer.ts";
import { JOURNALED_BODY_MAX_BYTES } from "./operation-types.ts";
import type { TaskRunner } from "./task-runner.ts";
import { DEFAULT_UPDATE_BATCH_SIZE, SIMPLE_UPDATE_URI, TRANSFER_PROTOCOLS } from "./update-limits.ts";
import { planFirmwareUpdate, updateTargetUri } from "./update-plan.ts";
import { resolveUpdateTargets } from "./update-targets.ts";

const ACTION = "UpdateService.SimpleUpdate";
const URI_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** Longest ImageURI, Username or Password accepted. */
export const SIMPLE_UPDATE_TEXT_MAX_CHARS = 2_048;

const PARAMETERS: Readonly<Record<string, "string" | "boolean" | "targets">> = Object.freeze({
  ImageURI: "string",
  TransferProtocol: "string",
  Targets: "targets",
  ForceUpdate: "boolean",
  Username: "string",
  Password: "string",
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

/** Checks the body; returns the parameters to pass on (without Targets), or the problems. */
function checkParameters(body: unknown): { parameters: Record<string, unknown> } | RedfishMessage[] {
  if (body !== undefined && !isObject(body)) return [baseMessage("MalformedJSON")];
  const fields = body ?? {};
  const problems: RedfishMessage[] = [];
  const parameters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const type = PARAMETERS[name];
    if (type === undefined) {
      if (!name.includes("@")) problems.push(baseMessage("ActionParameterUnknown", [ACTION, name], [`/${name}`]));
      continue;
    }
    if (type === "targets") continue;
    if (type === "boolean" ? typeof value !== "boolean" : typeof value !== "string") {
      problems.push(baseMessage("ActionParameterValueTypeError", [shown(value), name, ACTION], [`/${name}`]));
    } else if (typeof value === "string" && value.length > SIMPLE_UPDATE_TEXT_MAX_CHARS) {
      problems.push(baseMessage("StringValueTooLong", [name, String(SIMPLE_UPDATE_TEXT_MAX_CHARS)], [`/${name}`]));
    } else parameters[name] = value;
  }
  if (fields.ImageURI === undefined)
    problems.push(baseMessage("ActionParameterMissing", [ACTION, "ImageURI"], ["/ImageURI"]));
  const protocol = fields.TransferProtocol;
  if (typeof protocol === "string" && !TRANSFER_PROTOCOLS.includes(protocol)) {
    problems.push(
      baseMessage("ActionParameterValueNotInList", [protocol, "TransferProtocol", ACTION], ["/TransferProtocol"]),
    );
  }
  // An ImageURI without a scheme says nothing of how to fetch it: every BMC would refuse it.
  const image = fields.ImageURI;
  if (typeof image === "string" && !URI_SCHEME.test(image) && protocol === undefined) {
    problems.push(baseMessage("ActionParameterMissing", [ACTION, "TransferProtocol"], ["/TransferProtocol"]));
  }
  return problems.length > 0 ? problems : { parameters };
}

export async function simpleUpdate(
  context: { readonly service: FacadeService; readonly tasks: TaskRunner },
  body: unknown,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const checked = checkParameters(body);
  if (Array.isArray(checked)) {
    const [first, ...more] = checked;
    return sendRedfishError(reply, 400, first ?? baseMessage("GeneralError"), ...more);
  }
  const resolved = await resolveUpdateTargets(context.service, isObject(body) ? body.Targets : undefined, ACTION);
  if (!("owners" in resolved)) {
    for (const [name, value] of Object.entries(resolved.headers)) reply.header(name, value);
    return sendRedfishError(reply, resolved.statusCode, ...resolved.messages);
  }
  if (resolved.owners.length === 0) return sendRedfishError(reply, 400, baseMessage("NoOperation"));
  // The task shows what was asked, never the password.
  const shownBody = { ...(isObject(body) ? body : {}) };
  if ("Password" in shownBody) shownBody.Password = null;
  const jsonBody = JSON.stringify(shownBody);
  const updates = resolved.owners.map((owner) => {
    const ownerBody = {
      ...checked.parameters,
      ...(owner.memberTargets.length > 0 ? { Targets: owner.memberTargets } : {}),
    };
    return {
      member: owner.member,
      targetUri: updateTargetUri(owner.member, owner.facadeTargets),
      action: {
        kind: "http" as const,
        request: {
          method: "POST" as const,
          path: SIMPLE_UPDATE_URI,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(ownerBody),
        },
      },
    };
  });
  if (Buffer.byteLength(jsonBody) > JOURNALED_BODY_MAX_BYTES)
    return sendRedfishError(reply, 413, baseMessage("PayloadTooLarge"));
  const plan = planFirmwareUpdate({
    name: `${ACTION} of ${shown(checked.parameters.ImageURI)} on ${updates.length} member${updates.length === 1 ? "" : "s"}`.slice(
      0,
      256,
    ),
    payload: { targetUri: SIMPLE_UPDATE_URI, httpOperation: "POST", jsonBody },
    updates,
    batchSize: DEFAULT_UPDATE_BATCH_SIZE,
  });
  return (await startTaskAnswer(reply, context.service, context.tasks, plan)).reply;
}
