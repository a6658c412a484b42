// Manager.ForceFailover on the cluster Manager: the same leadership transfer as
// `conclave transfer-leadership`. NewManager names a member's BMC manager (that member becomes the
// PoC); without it the cluster picks the best other member. 204 once another member leads: the
// console reaches the new PoC through the same VIP.
import type { FastifyReply } from "fastify";
import { LeadershipTransferError } from "../facade-cluster.ts";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import type { FacadePart } from "../facade-part.ts";
import { FORCE_FAILOVER_URI } from "../facade-resources.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage, redfishError, sendRedfishError } from "../redfish-error.ts";
import { isPathProblem, parseRequestUrl } from "../request-path.ts";
import { linkedUri } from "./aggregate-reset-parameters.ts";

export const FORCE_FAILOVER_ACTION = "Manager.ForceFailover";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

function send400(reply: FastifyReply, message: RedfishMessage): FastifyReply {
  return sendRedfishError(reply, 400, message);
}

/**
 * The member whose BMC manager a facade URI names (`/redfish/v1/Managers/<member>_<id>`, read
 * through the facade: it must exist), if any.
 */
async function memberOfManager(service: FacadeService, uri: string): Promise<string | undefined> {
  const parsed = parseRequestUrl(uri);
  if (isPathProblem(parsed) || parsed.versionDocument || parsed.segments.length !== 2) return undefined;
  if (parsed.segments[0] !== "Managers") return undefined;
  const owner = service.ownerOf(parsed.segments, 1);
  if (owner === undefined) return undefined;
  const served = await service.resolve(parsed.segments, parsed.path);
  return served.kind === "resource" && served.statusCode === 200 ? owner.member.id : undefined;
}

export function forceFailoverPart(init: { readonly service: FacadeService }): FacadePart {
  const { service } = init;
  return {
    async write(request, reply, parsed) {
      if (parsed.path !== FORCE_FAILOVER_URI) return undefined;
      if (request.method !== "POST") {
        reply.header("Allow", "POST");
        return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
      }
      const body = request.body;
      if (body !== undefined && !isObject(body)) return send400(reply, baseMessage("MalformedJSON"));
      const fields = body ?? {};
      for (const name of Object.keys(fields)) {
        if (name !== "NewManager" && !name.includes("@")) {
          return send400(reply, baseMessage("ActionParameterUnknown", [FORCE_FAILOVER_ACTION, name], [`/${name}`]));
        }
      }
      let toMemberId: string | undefined;
      if (fields.NewManager !== undefined) {
        const uri = linkedUri(fields.NewManager);
        if (uri === undefined) {
          return send400(
            reply,
            baseMessage(
              "ActionParameterValueTypeError",
              [shown(fields.NewManager), "NewManager", FORCE_FAILOVER_ACTION],
              ["/NewManager"],
            ),
          );
        }
        toMemberId = await memberOfManager(service, uri);
        const member = service.cluster.members().find((m) => m.id === toMemberId);
        if (member === undefined || member.role === "witness") {
          // A witness never leads; a URI that is no member's manager names nobody to fail over to.
          return send400(
            reply,
            baseMessage("ActionParameterValueError", ["NewManager", FORCE_FAILOVER_ACTION], ["/NewManager"]),
          );
        }
        if (member.isPoc) return sendRedfishError(reply, 400, baseMessage("NoOperation"));
      }
      try {
        await service.cluster.transferLeadership(toMemberId);
      } catch (error) {
        if (!(error instanceof LeadershipTransferError)) throw error;
        const seconds = String(RETRY_AFTER_SECONDS);
        const first = baseMessage("ServiceTemporarilyUnavailable", [seconds]);
        // The registry message says to retry; the error's own message says why it failed.
        const body = redfishError(first);
        return reply
          .code(503)
          .header("Retry-After", seconds)
          .type("application/json; charset=utf-8")
          .send(
            JSON.stringify({
              error: { ...body.error, message: `The point of contact role was not transferred: ${error.message}` },
            }),
          );
      }
      return reply.code(204).send();
    },
  };
}
