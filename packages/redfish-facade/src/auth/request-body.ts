// Reading the JSON bodies of the SessionService and AccountService requests, with every
// problem answered by the Base registry message a Redfish client expects: a property the
// resource does not have (PropertyUnknown), one it has but will not take (PropertyNotWritable),
// a wrong type (PropertyValueTypeError), a missing required one (PropertyMissing), an empty
// PATCH (EmptyJSON), a body that is not an object (UnrecognizedRequestBody). All problems of a
// body are reported at once. Values are echoed in messages cut to MESSAGE_VALUE_MAX_CHARS,
// and never for properties marked secret (Password).
import type { RedfishMessage } from "../redfish-error.ts";
import { baseMessage } from "../redfish-error.ts";

export const MESSAGE_VALUE_MAX_CHARS = 64;
/** Properties in one body beyond which the rest are not looked at. */
export const BODY_PROPERTIES_MAX = 32;

export type PropertyType = "string" | "integer" | "boolean";

export interface PropertyRule {
  readonly type: PropertyType;
  /** Never echoed in a message. */
  readonly secret?: boolean;
}

export interface BodyRules {
  /** Properties the request may set. */
  readonly writable: Readonly<Record<string, PropertyRule>>;
  /** Properties the resource has but a client may not set (answered PropertyNotWritable). */
  readonly readOnly: readonly string[];
  readonly required?: readonly string[];
  /** A PATCH must change something (EmptyJSON otherwise). */
  readonly nonEmpty?: boolean;
}

export type BodyValues = Readonly<Record<string, string | number | boolean>>;

export type BodyOutcome =
  | { readonly ok: true; readonly values: BodyValues }
  | { readonly ok: false; readonly messages: readonly RedfishMessage[] };

/** OData annotations a client may echo back from a GET; they change nothing. */
const IGNORED_PREFIX = "@odata.";

export function readBody(body: unknown, rules: BodyRules): BodyOutcome {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, messages: [baseMessage("UnrecognizedRequestBody")] };
  }
  const messages: RedfishMessage[] = [];
  const values: Record<string, string | number | boolean> = {};
  const keys = Object.keys(body).slice(0, BODY_PROPERTIES_MAX);
  for (const key of keys) {
    if (key.startsWith(IGNORED_PREFIX)) continue;
    const value = (body as Record<string, unknown>)[key];
    const rule = Object.hasOwn(rules.writable, key) ? rules.writable[key] : undefined;
    if (rule === undefined) {
      const name = shown(key);
      messages.push(
        rules.readOnly.includes(key)
          ? baseMessage("PropertyNotWritable", [name], [`/${name}`])
          : baseMessage("PropertyUnknown", [name], [`/${name}`]),
      );
      continue;
    }
    if (!hasType(value, rule.type)) {
      messages.push(baseMessage("PropertyValueTypeError", [rule.secret ? "" : describe(value), key], [`/${key}`]));
      continue;
    }
    values[key] = value as string | number | boolean;
  }
  if (Object.keys(body).length > BODY_PROPERTIES_MAX) {
    messages.push(baseMessage("UnrecognizedRequestBody"));
  }
  for (const key of rules.required ?? []) {
    if (!Object.hasOwn(body, key)) messages.push(baseMessage("PropertyMissing", [key], [`/${key}`]));
  }
  if (messages.length === 0 && rules.nonEmpty === true && Object.keys(values).length === 0) {
    messages.push(baseMessage("EmptyJSON"));
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, values };
}

function hasType(value: unknown, type: PropertyType): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "boolean":
      return typeof value === "boolean";
  }
}

/** A value as a message argument: JSON, cut. */
export function describe(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return shown(text);
}

function shown(text: string): string {
  return text.length > MESSAGE_VALUE_MAX_CHARS ? `${text.slice(0, MESSAGE_VALUE_MAX_CHARS)}…` : text;
}
