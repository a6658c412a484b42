// Redfish error bodies (DSP0266 §9.8): `error` with `code`, `message` and `@Message.ExtendedInfo`,
// every message taken from the Base registry this package carries (registries/Base.1.22.1.json,
// DMTF, BSD-3-Clause), so the text and the argument count can never drift from the standard.
import type { FastifyReply } from "fastify";
import baseRegistry from "../registries/Base.1.22.1.json" with { type: "json" };

/** `Base.1.22` as message ids carry it (major.minor only, DSP0266 §9.6). */
export const BASE_REGISTRY_PREFIX = "Base.1.22";
const MESSAGE_TYPE = "#Message.v1_3_0.Message";

type Severity = "OK" | "Warning" | "Critical";

interface RegistryMessage {
  readonly Message: string;
  readonly MessageSeverity: Severity;
  readonly NumberOfArgs: number;
  readonly Resolution: string;
}

const MESSAGES = baseRegistry.Messages as unknown as Readonly<Record<string, RegistryMessage>>;

/** A Base registry message id without the prefix: `ResourceNotFound`, `PropertyValueTypeError`. */
export type BaseMessageKey = keyof typeof baseRegistry.Messages;

export interface RedfishMessage {
  readonly "@odata.type": string;
  readonly MessageId: string;
  readonly Message: string;
  readonly MessageArgs: readonly string[];
  readonly MessageSeverity: Severity;
  readonly Resolution: string;
  /** JSON pointers to the request properties the message is about (e.g. `/AssetTag`). */
  readonly RelatedProperties?: readonly string[];
}

export interface RedfishErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly "@Message.ExtendedInfo": readonly RedfishMessage[];
  };
}

/** One Base registry message with its arguments filled in. Throws on a wrong argument count (a bug). */
export function baseMessage(
  key: BaseMessageKey,
  args: readonly string[] = [],
  relatedProperties?: readonly string[],
): RedfishMessage {
  const entry = MESSAGES[key];
  if (entry === undefined) throw new Error(`no message ${key} in ${BASE_REGISTRY_PREFIX}`);
  if (args.length !== entry.NumberOfArgs) {
    throw new Error(`${key} takes ${entry.NumberOfArgs} arguments, got ${args.length}`);
  }
  const message = entry.Message.replace(/%(\d+)/g, (_match, n: string) => args[Number(n) - 1] ?? "");
  return {
    "@odata.type": MESSAGE_TYPE,
    MessageId: `${BASE_REGISTRY_PREFIX}.${key}`,
    Message: message,
    MessageArgs: [...args],
    MessageSeverity: entry.MessageSeverity,
    Resolution: entry.Resolution,
    ...(relatedProperties === undefined ? {} : { RelatedProperties: [...relatedProperties] }),
  };
}

/**
 * The error body for one or more messages. `code` and `message` are the first message's, as
 * DSP0266 shows; every message is in `@Message.ExtendedInfo`.
 */
export function redfishError(first: RedfishMessage, ...more: readonly RedfishMessage[]): RedfishErrorBody {
  return {
    error: {
      code: first.MessageId,
      message: first.Message,
      "@Message.ExtendedInfo": [first, ...more],
    },
  };
}

/** Sends a Redfish error with the OData-Version header every Redfish answer carries. */
export function sendRedfishError(
  reply: FastifyReply,
  statusCode: number,
  first: RedfishMessage,
  ...more: readonly RedfishMessage[]
): FastifyReply {
  return reply
    .code(statusCode)
    .header("OData-Version", "4.0")
    .header("Content-Type", "application/json; charset=utf-8")
    .send(redfishError(first, ...more));
}
