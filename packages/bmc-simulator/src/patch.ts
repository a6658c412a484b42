// PATCH: which properties of which resource types a client may write, and the Redfish
// errors for everything else. A PATCH is validated in full before any of it is applied.
import { baseMessage, RedfishError, type RedfishMessage } from "./errors.ts";
import { isObject, type JsonValue, type Resource } from "./store.ts";

type Rule =
  | { kind: "string"; pattern?: RegExp }
  | { kind: "boolean" }
  | { kind: "integer"; min: number; max: number }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "stringArray" }
  | { kind: "object"; fields: Rules }
  | { kind: "writeOnly" };
type Rules = { [property: string]: Rule };

const INDICATOR_LED = { kind: "enum", values: ["Lit", "Blinking", "Off"] } as const;
const BOOT_TARGETS = [
  "None",
  "Pxe",
  "Floppy",
  "Cd",
  "Usb",
  "Hdd",
  "BiosSetup",
  "Utilities",
  "Diags",
  "UefiShell",
  "UefiTarget",
  "SDCard",
  "UefiHttp",
  "RemoteDrive",
  "UefiBootNext",
  "Recovery",
] as const;

/** The writable properties per resource type (the type name from @odata.type). */
export const WRITABLE: { [type: string]: Rules } = {
  ComputerSystem: {
    AssetTag: { kind: "string" },
    HostName: { kind: "string" },
    IndicatorLED: INDICATOR_LED,
    LocationIndicatorActive: { kind: "boolean" },
    PowerRestorePolicy: { kind: "enum", values: ["AlwaysOn", "AlwaysOff", "LastState"] },
    Boot: {
      kind: "object",
      fields: {
        BootSourceOverrideEnabled: { kind: "enum", values: ["Disabled", "Once", "Continuous"] },
        BootSourceOverrideTarget: { kind: "enum", values: BOOT_TARGETS },
        BootSourceOverrideMode: { kind: "enum", values: ["Legacy", "UEFI"] },
        UefiTargetBootSourceOverride: { kind: "string" },
        BootNext: { kind: "string" },
        BootOrder: { kind: "stringArray" },
      },
    },
  },
  Chassis: {
    AssetTag: { kind: "string" },
    IndicatorLED: INDICATOR_LED,
    LocationIndicatorActive: { kind: "boolean" },
  },
  Manager: {
    DateTimeLocalOffset: { kind: "string", pattern: /^([-+][0-1][0-9]:[0-5][0-9])$/ },
    LocationIndicatorActive: { kind: "boolean" },
    ServiceIdentification: { kind: "string" },
  },
  SessionService: {
    SessionTimeout: { kind: "integer", min: 30, max: 86400 },
  },
  ManagerAccount: {
    Password: { kind: "writeOnly" },
    Enabled: { kind: "boolean" },
    RoleId: { kind: "enum", values: ["Administrator", "Operator", "ReadOnly"] },
  },
  EventService: {
    ServiceEnabled: { kind: "boolean" },
    DeliveryRetryAttempts: { kind: "integer", min: 0, max: 100 },
    DeliveryRetryIntervalSeconds: { kind: "integer", min: 1, max: 3600 },
  },
};

export function isPatchable(type: string): boolean {
  return WRITABLE[type] !== undefined;
}

function display(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Checks every property of a PATCH body; returns the messages of everything wrong. */
function check(body: { [key: string]: JsonValue }, current: Resource, rules: Rules, prefix: string): RedfishMessage[] {
  const problems: RedfishMessage[] = [];
  for (const [property, value] of Object.entries(body)) {
    const name = `${prefix}${property}`;
    const rule = rules[property];
    if (rule === undefined) {
      const known = property in current || property.includes("@") || property.startsWith("odata.");
      problems.push(
        known
          ? baseMessage("PropertyNotWritable", [name], [`#/${name}`])
          : baseMessage("PropertyUnknown", [name], [`#/${name}`]),
      );
      continue;
    }
    const typeError = (): RedfishMessage =>
      baseMessage("PropertyValueTypeError", [display(value), name], [`#/${name}`]);
    switch (rule.kind) {
      case "string":
        if (typeof value !== "string") problems.push(typeError());
        else if (rule.pattern && !rule.pattern.test(value)) {
          problems.push(baseMessage("PropertyValueFormatError", [value, name], [`#/${name}`]));
        }
        break;
      case "writeOnly":
        if (typeof value !== "string") problems.push(typeError());
        break;
      case "boolean":
        if (typeof value !== "boolean") problems.push(typeError());
        break;
      case "integer":
        if (typeof value !== "number" || !Number.isInteger(value)) problems.push(typeError());
        else if (value < rule.min || value > rule.max) {
          problems.push(baseMessage("PropertyValueOutOfRange", [String(value), name], [`#/${name}`]));
        }
        break;
      case "stringArray":
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) problems.push(typeError());
        break;
      case "enum": {
        if (typeof value !== "string") {
          problems.push(typeError());
          break;
        }
        // A resource may narrow the values it accepts with @Redfish.AllowableValues.
        const allowable = current[`${property}@Redfish.AllowableValues`];
        const values = Array.isArray(allowable) ? allowable : rule.values;
        if (!values.includes(value)) problems.push(baseMessage("PropertyValueNotInList", [value, name], [`#/${name}`]));
        break;
      }
      case "object": {
        if (!isObject(value)) {
          problems.push(typeError());
          break;
        }
        const inner = isObject(current[property]) ? (current[property] as Resource) : {};
        problems.push(...check(value, inner, rule.fields, `${name}/`));
        break;
      }
    }
  }
  return problems;
}

function merge(target: Resource, body: { [key: string]: JsonValue }, rules: Rules): void {
  for (const [property, value] of Object.entries(body)) {
    const rule = rules[property];
    if (rule?.kind === "writeOnly") continue;
    if (rule?.kind === "object" && isObject(value)) {
      const inner = isObject(target[property]) ? (target[property] as Resource) : {};
      merge(inner, value, rule.fields);
      target[property] = inner;
    } else {
      target[property] = value;
    }
  }
}

/**
 * Validates a PATCH body against the writable properties of the resource's type and, when all
 * of it is acceptable, applies it to `resource` in place. Throws a 400 RedfishError otherwise.
 */
export function applyPatch(type: string, resource: Resource, body: unknown): void {
  const rules = WRITABLE[type];
  if (rules === undefined) throw new RedfishError(405, [baseMessage("OperationNotAllowed")]);
  if (!isObject(body)) throw new RedfishError(400, [baseMessage("MalformedJSON")]);
  if (Object.keys(body).length === 0) throw new RedfishError(400, [baseMessage("NoOperation")]);
  const problems = check(body, resource, rules, "");
  if (problems.length > 0) throw new RedfishError(400, problems);
  merge(resource, body, rules);
  // IndicatorLED is deprecated in favour of LocationIndicatorActive; keep the two in step, as bmcweb does.
  if (typeof body.IndicatorLED === "string" && "LocationIndicatorActive" in resource) {
    resource.LocationIndicatorActive = body.IndicatorLED !== "Off";
  } else if (typeof body.LocationIndicatorActive === "boolean" && "IndicatorLED" in resource) {
    resource.IndicatorLED = body.LocationIndicatorActive ? "Lit" : "Off";
  }
}
