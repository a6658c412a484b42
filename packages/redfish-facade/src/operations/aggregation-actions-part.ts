// The AggregationService's writes: AggregationService.Reset, Aggregate.Reset (the default
// aggregate and user ones), and user aggregates (create, delete, AddElements, RemoveElements);
// and the Aggregates the facade serves besides the default one. The default aggregate and the
// service itself are served by FacadeService (aggregation-service.ts advertises their actions).
import type { FastifyReply, FastifyRequest } from "fastify";
import { aggregates, aggregateUri, DEFAULT_AGGREGATE_ID, userAggregate } from "../aggregation-service.ts";
import type { FacadePart } from "../facade-part.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import type { RequestPath } from "../request-path.ts";
import { servedResource } from "../served.ts";
import { aggregateReset } from "./aggregate-reset-action.ts";
import { linkedUri } from "./aggregate-reset-parameters.ts";
import { UserAggregates } from "./aggregate-user.ts";
import type { OperationStore } from "./operation-store.ts";
import { type PowerSequenceConfig, resolvePowerSequence } from "./power-sequence.ts";
import type { TaskRunner } from "./task-runner.ts";

const COLLECTION_ALLOW = Object.freeze(["GET", "HEAD", "POST"]);
const USER_AGGREGATE_ALLOW = Object.freeze(["GET", "HEAD", "DELETE"]);
const ACTION_ALLOW = "POST";

function methodNotAllowed(reply: FastifyReply, allow: string): FastifyReply {
  reply.header("Allow", allow);
  return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
}

export function aggregationActionsPart(init: {
  readonly service: FacadeService;
  readonly store: OperationStore;
  readonly tasks: TaskRunner;
  readonly powerSequence: PowerSequenceConfig | undefined;
}): FacadePart {
  const { service, store, tasks } = init;
  // A bad sequence stops buildApp (FacadeConfigError), as a bad timeout does.
  const context = { service, tasks, sequence: resolvePowerSequence(init.powerSequence) };
  const user = new UserAggregates(service, store);

  /** The default aggregate's elements: what a GET of it lists now. */
  const defaultElements = async (): Promise<string[]> => {
    const served = await service.resolve(
      ["AggregationService", "Aggregates", DEFAULT_AGGREGATE_ID],
      aggregateUri(DEFAULT_AGGREGATE_ID),
    );
    const elements = served.kind === "resource" ? served.body.Elements : undefined;
    return Array.isArray(elements) ? elements.flatMap((e) => linkedUri(e) ?? []) : [];
  };

  const aggregateAction = async (
    request: FastifyRequest,
    reply: FastifyReply,
    parsed: RequestPath,
    id: string,
    action: string,
  ): Promise<FastifyReply | undefined> => {
    const known = ["Aggregate.Reset", "Aggregate.AddElements", "Aggregate.RemoveElements"];
    if (!known.includes(action)) return undefined;
    const record = store.aggregate(id);
    if (id !== DEFAULT_AGGREGATE_ID && record === undefined) {
      return sendRedfishError(reply, 404, baseMessage("ResourceMissingAtURI", [parsed.path]));
    }
    if (request.method !== "POST") return methodNotAllowed(reply, ACTION_ALLOW);
    if (action === "Aggregate.Reset") {
      const elements = record === undefined ? await defaultElements() : record.elements;
      return aggregateReset(
        context,
        { action: "Aggregate.Reset", actionUri: parsed.path, body: request.body, elements },
        reply,
      );
    }
    // The default aggregate follows the members: nothing is added or removed by hand.
    if (record === undefined) return sendRedfishError(reply, 400, baseMessage("ActionNotSupported", [`#${action}`]));
    return user.changeElements(
      id,
      action === "Aggregate.AddElements" ? "AddElements" : "RemoveElements",
      request.body,
      reply,
    );
  };

  return {
    resolve(segments) {
      if (segments[0] !== "AggregationService" || segments[1] !== "Aggregates") return undefined;
      if (segments.length === 2) {
        return servedResource(aggregates(store.aggregates().map((a) => a.id)), { allow: COLLECTION_ALLOW });
      }
      const record = segments.length === 3 ? store.aggregate(segments[2] as string) : undefined;
      if (record === undefined) return undefined;
      return servedResource(userAggregate(record), { allow: USER_AGGREGATE_ALLOW });
    },

    async write(request, reply, parsed) {
      const [service0, collection, id, actions, action] = parsed.segments;
      if (service0 !== "AggregationService") return undefined;
      const count = parsed.segments.length;
      if (count === 3 && collection === "Actions" && id === "AggregationService.Reset") {
        if (request.method !== "POST") return methodNotAllowed(reply, ACTION_ALLOW);
        return aggregateReset(
          context,
          { action: "AggregationService.Reset", actionUri: parsed.path, body: request.body },
          reply,
        );
      }
      if (collection !== "Aggregates") return undefined;
      if (count === 2) {
        if (request.method !== "POST") return methodNotAllowed(reply, COLLECTION_ALLOW.join(", "));
        return user.create(request.body, reply);
      }
      if (count === 3 && id !== undefined) {
        const record = store.aggregate(id);
        if (record === undefined) return undefined;
        if (request.method !== "DELETE") return methodNotAllowed(reply, USER_AGGREGATE_ALLOW.join(", "));
        return user.delete(record, reply);
      }
      if (count === 5 && id !== undefined && actions === "Actions" && action !== undefined) {
        return aggregateAction(request, reply, parsed, id, action);
      }
      return undefined;
    },
  };
}
