// Answers of the auth routes: JSON with the Redfish headers, and the Redfish error for each way
// a change to the auth state can fail.
import type { FastifyReply } from "fastify";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { AuthRuleViolation } from "./auth-state.ts";
import { AuthStoreUnavailableError } from "./auth-store.ts";
import { PasswordChecksBusyError } from "./basic-credentials.ts";
import { etagListMatches, etagOf } from "./resource-etag.ts";

export const AUTH_REALM = 'Basic realm="Conclave"';

/** A resource or collection, with its ETag; a GET whose If-None-Match names that ETag gets 304. */
export function sendJson(reply: FastifyReply, statusCode: number, body: unknown): FastifyReply {
  const etag = etagOf(body);
  reply.header("ETag", etag);
  const ifNoneMatch = reply.request.headers["if-none-match"];
  if (reply.request.method === "GET" && statusCode === 200 && typeof ifNoneMatch === "string") {
    if (etagListMatches(ifNoneMatch, etag)) return reply.code(304).header("OData-Version", "4.0").send();
  }
  return reply
    .code(statusCode)
    .header("OData-Version", "4.0")
    .header("Cache-Control", "no-store")
    .header("Content-Type", "application/json; charset=utf-8")
    .send(body);
}

/** 400 with every problem found in a request body (there is at least one). */
export function sendBadRequest(reply: FastifyReply, messages: readonly RedfishMessage[]): FastifyReply {
  const [first, ...more] = messages;
  if (first === undefined) throw new Error("sendBadRequest needs a message");
  return sendRedfishError(reply, 400, first, ...more);
}

export function sendPreconditionFailed(reply: FastifyReply): FastifyReply {
  return sendRedfishError(reply, 412, baseMessage("PreconditionFailed"));
}

/** 401 with the Basic challenge (DSP0266 §13.3.1: both Basic and session auth are offered). */
export function sendUnauthorized(reply: FastifyReply, message: RedfishMessage): FastifyReply {
  return sendRedfishError(reply.header("WWW-Authenticate", AUTH_REALM), 401, message);
}

export function sendForbidden(reply: FastifyReply): FastifyReply {
  return sendRedfishError(reply, 403, baseMessage("InsufficientPrivilege"));
}

export function sendUnavailable(reply: FastifyReply): FastifyReply {
  return sendRedfishError(
    reply.header("Retry-After", String(RETRY_AFTER_SECONDS)),
    503,
    baseMessage("ServiceTemporarilyUnavailable", [String(RETRY_AFTER_SECONDS)]),
  );
}

export function sendNotAllowed(reply: FastifyReply, allow: readonly string[]): FastifyReply {
  return sendRedfishError(reply.header("Allow", allow.join(", ")), 405, baseMessage("OperationNotAllowed"));
}

/** Context a refused change needs to be explained: the resource and, for a PATCH, what was asked. */
export interface ChangeContext {
  readonly uri: string;
  readonly resourceType: string;
  readonly id: string;
  /** The first property of the request that caused the refusal, for PropertyValueResourceConflict. */
  readonly property?: readonly [name: string, value: string];
}

/** Maps a failed commit to its Redfish answer; rethrows what is a bug (the route's error handler answers 500). */
export function sendCommitFailure(reply: FastifyReply, error: unknown, context: ChangeContext): FastifyReply {
  if (error instanceof AuthStoreUnavailableError || error instanceof PasswordChecksBusyError) {
    return sendUnavailable(reply);
  }
  if (!(error instanceof AuthRuleViolation)) throw error;
  switch (error.code) {
    case "user-name-taken":
      return sendRedfishError(
        reply,
        409,
        baseMessage(
          "ResourceAlreadyExists",
          ["ManagerAccount", "UserName", context.property?.[1] ?? ""],
          ["/UserName"],
        ),
      );
    case "accounts-full":
      return sendRedfishError(reply, 400, baseMessage("CreateLimitReachedForResource"));
    case "no-such-account":
    case "no-such-session":
      return sendRedfishError(reply, 404, baseMessage("ResourceNotFound", [context.resourceType, context.id]));
    case "last-administrator":
      // The last enabled Administrator may be neither deleted, disabled nor demoted: nobody
      // could manage accounts again.
      if (context.property === undefined) return sendRedfishError(reply, 409, baseMessage("ResourceCannotBeDeleted"));
      return sendRedfishError(
        reply,
        409,
        baseMessage(
          "PropertyValueResourceConflict",
          [context.property[0], context.property[1], context.uri],
          [`/${context.property[0]}`],
        ),
      );
    case "sessions-full":
      return sendRedfishError(reply, 503, baseMessage("SessionLimitExceeded"));
    case "account-disabled":
      return sendUnauthorized(reply, baseMessage("AccessUnauthorized"));
    case "password-length-conflict":
      return sendRedfishError(
        reply,
        400,
        baseMessage(
          "PropertyValueConflict",
          ["MinPasswordLength", "MaxPasswordLength"],
          ["/MinPasswordLength", "/MaxPasswordLength"],
        ),
      );
    default:
      throw error;
  }
}
