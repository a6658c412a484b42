// Action handlers: Reset of systems, chassis and managers, SimpleUpdate and SubmitTestEvent,
// each validating its parameters with the Base registry's ActionParameter* messages.
import type { ActionBinding, SimulatorContext } from "../context.ts";
import { baseMessage, RedfishError } from "../errors.ts";
import { CHASSIS_RESET_TYPES, MANAGER_RESET_TYPES, SYSTEM_RESET_TYPES } from "../power.ts";
import { isObject, type JsonValue } from "../store.ts";
import type { TaskHandle } from "../tasks.ts";
import { versionFromImage } from "../update-service.ts";

export type ActionResult = { status: 204 } | { status: 202; task: TaskHandle };

type ParameterType = "string" | "boolean" | "stringArray";
interface ParameterSpec {
  type: ParameterType;
  required?: boolean;
  allowable?: readonly string[];
}

function display(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Checks an action body against its parameters; unknown ones and wrong types are errors. */
export function checkParameters(
  action: string,
  body: { [key: string]: JsonValue },
  spec: { [name: string]: ParameterSpec },
): void {
  const problems = [];
  for (const [name, value] of Object.entries(body)) {
    const parameter = spec[name];
    if (parameter === undefined) {
      if (!name.includes("@")) problems.push(baseMessage("ActionParameterUnknown", [action, name]));
      continue;
    }
    const typeOk =
      parameter.type === "string"
        ? typeof value === "string"
        : parameter.type === "boolean"
          ? typeof value === "boolean"
          : Array.isArray(value) && value.every((v) => typeof v === "string");
    if (!typeOk) {
      problems.push(baseMessage("ActionParameterValueTypeError", [display(value), name, action]));
    } else if (parameter.allowable && typeof value === "string" && !parameter.allowable.includes(value)) {
      problems.push(baseMessage("ActionParameterValueNotInList", [value, name, action]));
    }
  }
  for (const [name, parameter] of Object.entries(spec)) {
    if (parameter.required && !(name in body)) problems.push(baseMessage("ActionParameterMissing", [action, name]));
  }
  if (problems.length > 0) throw new RedfishError(400, problems);
}

/** The values a resource allows for a parameter: inline @Redfish.AllowableValues, else its ActionInfo. */
function allowableValues(context: SimulatorContext, binding: ActionBinding, parameter: string): string[] | undefined {
  const inline = binding.advertised[`${parameter}@Redfish.AllowableValues`];
  if (Array.isArray(inline)) return inline.filter((v): v is string => typeof v === "string");
  const infoUri = binding.advertised["@Redfish.ActionInfo"];
  if (typeof infoUri !== "string") return undefined;
  const parameters = context.store.peek(infoUri)?.Parameters;
  if (!Array.isArray(parameters)) return undefined;
  const entry = parameters.find((p) => isObject(p) && p.Name === parameter);
  return isObject(entry) && Array.isArray(entry.AllowableValues)
    ? entry.AllowableValues.filter((v): v is string => typeof v === "string")
    : undefined;
}

function resetAction(
  context: SimulatorContext,
  binding: ActionBinding,
  body: { [key: string]: JsonValue },
  supported: readonly string[],
): void {
  const advertised = allowableValues(context, binding, "ResetType");
  const allowable = advertised ? advertised.filter((v) => supported.includes(v)) : supported;
  checkParameters(binding.name, body, { ResetType: { type: "string", required: true, allowable } });
}

export function runAction(
  context: SimulatorContext,
  binding: ActionBinding,
  body: { [key: string]: JsonValue },
  record: () => void,
  targetUri: string,
): ActionResult {
  switch (binding.name) {
    case "ComputerSystem.Reset":
    case "Chassis.Reset": {
      const supported = binding.name === "ComputerSystem.Reset" ? SYSTEM_RESET_TYPES : CHASSIS_RESET_TYPES;
      resetAction(context, binding, body, supported);
      record();
      context.power.resetPowered(binding.ownerUri, String(body.ResetType));
      return { status: 204 };
    }
    case "Manager.Reset": {
      resetAction(context, binding, body, MANAGER_RESET_TYPES);
      record();
      context.power.resetManager(binding.ownerUri);
      return { status: 204 };
    }
    case "UpdateService.SimpleUpdate": {
      const protocols = allowableValues(context, binding, "TransferProtocol") ?? [
        "HTTP",
        "HTTPS",
        "SCP",
        "SFTP",
        "TFTP",
        "FTP",
        "CIFS",
        "NFS",
      ];
      checkParameters(binding.name, body, {
        ImageURI: { type: "string", required: true },
        TransferProtocol: { type: "string", allowable: protocols },
        Targets: { type: "stringArray" },
        Username: { type: "string" },
        Password: { type: "string" },
        ForceUpdate: { type: "boolean" },
        Stage: { type: "boolean" },
        LocalImage: { type: "boolean" },
      });
      const imageUri = String(body.ImageURI);
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(imageUri) && body.TransferProtocol === undefined) {
        throw new RedfishError(400, [baseMessage("ActionParameterMissing", [binding.name, "TransferProtocol"])]);
      }
      const targets = context.updates.resolveTargets(body.Targets, "Targets", binding.name);
      context.updates.assertIdle();
      const shown = { ...body };
      if ("Password" in shown) shown.Password = null;
      record();
      const task = context.updates.start({
        operation: "UpdateService.SimpleUpdate",
        imageName: imageUri,
        version: versionFromImage(imageUri),
        targets,
        payload: {
          httpOperation: "POST",
          targetUri: targetUri,
          jsonBody: JSON.stringify(shown),
          httpHeaders: ["Content-Type: application/json"],
        },
      });
      return { status: 202, task };
    }
    case "EventService.SubmitTestEvent": {
      checkParameters(binding.name, body, {
        MessageId: { type: "string" },
        Message: { type: "string" },
        OriginOfCondition: { type: "string" },
        Severity: { type: "string" },
        EventId: { type: "string" },
        EventTimestamp: { type: "string" },
        EventGroupId: { type: "string" },
        MessageArgs: { type: "stringArray" },
        MessageSeverity: { type: "string", allowable: ["OK", "Warning", "Critical"] },
        EventType: { type: "string" },
        Context: { type: "string" },
      });
      record();
      context.events.publish({
        messageId: typeof body.MessageId === "string" ? body.MessageId : "ResourceEvent.1.4.3.TestMessage",
        message: typeof body.Message === "string" ? body.Message : "Test message.",
        args: Array.isArray(body.MessageArgs) ? body.MessageArgs.map(String) : [],
        severity:
          body.MessageSeverity === "Warning" || body.MessageSeverity === "Critical" ? body.MessageSeverity : "OK",
        ...(typeof body.OriginOfCondition === "string" ? { originOfCondition: body.OriginOfCondition } : {}),
      });
      return { status: 204 };
    }
    default:
      throw new RedfishError(400, [baseMessage("ActionNotSupported", [`#${binding.name}`])]);
  }
}
