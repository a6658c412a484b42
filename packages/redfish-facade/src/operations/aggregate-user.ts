// Aggregates a console creates (POST on the Aggregates collection), changes (Aggregate.AddElements
// / RemoveElements) and deletes, kept in the cluster state through the OperationStore, so every
// PoC serves the same ones. Elements are member systems, chassis and managers that exist when
// they are added.
import { randomUUID } from "node:crypto";
import type { FastifyReply } from "fastify";
import { aggregateUri, userAggregate } from "../aggregation-service.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { linkedUri } from "./aggregate-reset-parameters.ts";
import { lookUpElement } from "./aggregate-targets.ts";
import { sendStoreFailure } from "./aggregate-task-answer.ts";
import type { OperationStore } from "./operation-store.ts";
import { AGGREGATE_ELEMENTS_MAX, type AggregateRecord } from "./operation-types.ts";

/** Longest aggregate Name (the cluster state's bound on short texts). */
export const AGGREGATE_NAME_MAX_CHARS = 256;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

type Problems = RedfishMessage[];

function send400(reply: FastifyReply, problems: Problems): FastifyReply {
  const [first, ...more] = problems;
  return sendRedfishError(reply, 400, first ?? baseMessage("GeneralError"), ...more);
}

export class UserAggregates {
  private readonly service: FacadeService;
  private readonly store: OperationStore;
  /**
   * Element changes are computed from the state and committed whole: one at a time on this PoC,
   * so two concurrent AddElements never overwrite each other.
   */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(service: FacadeService, store: OperationStore) {
    this.service = service;
    this.store = store;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads `Elements` (links or URIs): each a member system, chassis or manager that exists now.
   * Returns the canonical URIs in order without repeats, or the problems; a member that cannot
   * be read now is its own error (503).
   */
  private async readElements(
    value: unknown,
    where: string,
    reply: FastifyReply,
  ): Promise<{ uris: string[] } | FastifyReply> {
    if (!Array.isArray(value) || !value.every((v) => linkedUri(v) !== undefined)) {
      return send400(reply, [baseMessage("PropertyValueTypeError", [shown(value), "Elements"], ["/Elements"])]);
    }
    if (value.length > AGGREGATE_ELEMENTS_MAX) {
      return send400(reply, [
        baseMessage("ArraySizeTooLong", ["Elements", String(AGGREGATE_ELEMENTS_MAX)], ["/Elements"]),
      ]);
    }
    const requested = value.map((v) => (linkedUri(v) as string).replace(/\/+$/, ""));
    const lookups = await Promise.all(requested.map((uri) => lookUpElement(this.service, uri)));
    const problems: Problems = [];
    const uris: string[] = [];
    for (const [index, lookup] of lookups.entries()) {
      if (lookup.kind === "unavailable") {
        for (const [name, header] of Object.entries(lookup.served.headers)) reply.header(name, header);
        return sendRedfishError(reply, lookup.served.statusCode, ...lookup.served.messages);
      }
      if (lookup.kind === "unknown") {
        problems.push(
          baseMessage(
            "ActionParameterValueNotInList",
            [requested[index] as string, "Elements", where],
            [`/Elements/${index}`],
          ),
        );
      } else if (!uris.includes(lookup.element.uri)) uris.push(lookup.element.uri);
    }
    if (problems.length > 0) return send400(reply, problems);
    return { uris };
  }

  /** POST on the Aggregates collection: 201 with the new aggregate and its Location. */
  async create(body: unknown, reply: FastifyReply): Promise<FastifyReply> {
    if (!isObject(body)) return send400(reply, [baseMessage("MalformedJSON")]);
    const problems: Problems = [];
    for (const name of Object.keys(body)) {
      if (name !== "Name" && name !== "Elements" && !name.includes("@")) {
        problems.push(baseMessage("PropertyUnknown", [name], [`/${name}`]));
      }
    }
    const { Name: name, Elements: elements } = body;
    if (elements === undefined)
      problems.push(baseMessage("CreateFailedMissingReqProperties", ["Elements"], ["/Elements"]));
    if (name !== undefined && (typeof name !== "string" || name === "" || name.length > AGGREGATE_NAME_MAX_CHARS)) {
      problems.push(baseMessage("PropertyValueFormatError", [shown(name), "Name"], ["/Name"]));
    }
    if (problems.length > 0) return send400(reply, problems);
    const read = await this.readElements(elements, "Aggregate", reply);
    if (!("uris" in read)) return read;
    const id = randomUUID();
    let record: AggregateRecord;
    try {
      record = (await this.store.commit({
        type: "aggregate.create",
        body: {
          id,
          name: (name as string | undefined) ?? `Aggregate ${id.slice(0, 8)}`,
          elements: read.uris,
          atMs: Date.now(),
        },
      })) as AggregateRecord;
    } catch (error) {
      return sendStoreFailure(reply, error);
    }
    const created = this.store.aggregate(id) ?? record;
    return reply
      .code(201)
      .header("Location", aggregateUri(id))
      .type("application/json; charset=utf-8")
      .send(JSON.stringify(userAggregate(created)));
  }

  async delete(record: AggregateRecord, reply: FastifyReply): Promise<FastifyReply> {
    try {
      await this.store.commit({ type: "aggregate.delete", body: { id: record.id, atMs: Date.now() } });
    } catch (error) {
      return sendStoreFailure(reply, error);
    }
    return reply.code(204).send();
  }

  /** Aggregate.AddElements / RemoveElements: 204 once the new element list is committed. */
  async changeElements(
    id: string,
    change: "AddElements" | "RemoveElements",
    body: unknown,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const action = `Aggregate.${change}`;
    if (body !== undefined && !isObject(body)) return send400(reply, [baseMessage("MalformedJSON")]);
    const fields = body ?? {};
    const problems: Problems = [];
    for (const name of Object.keys(fields)) {
      if (name !== "Elements" && !name.includes("@")) {
        problems.push(baseMessage("ActionParameterUnknown", [action, name], [`/${name}`]));
      }
    }
    if (fields.Elements === undefined)
      problems.push(baseMessage("ActionParameterMissing", [action, "Elements"], ["/Elements"]));
    if (problems.length > 0) return send400(reply, problems);
    return this.serialised(async () => {
      const existing = this.store.aggregate(id);
      if (existing === undefined)
        return sendRedfishError(reply, 404, baseMessage("ResourceMissingAtURI", [aggregateUri(id)]));
      let elements: string[];
      if (change === "AddElements") {
        const read = await this.readElements(fields.Elements, action, reply);
        if (!("uris" in read)) return read;
        elements = [...existing.elements, ...read.uris.filter((uri) => !existing.elements.includes(uri))];
        if (elements.length > AGGREGATE_ELEMENTS_MAX) {
          return send400(reply, [
            baseMessage("ArraySizeTooLong", ["Elements", String(AGGREGATE_ELEMENTS_MAX)], ["/Elements"]),
          ]);
        }
      } else {
        const value = fields.Elements;
        if (!Array.isArray(value) || !value.every((v) => linkedUri(v) !== undefined)) {
          return send400(reply, [
            baseMessage("ActionParameterValueTypeError", [shown(value), "Elements", action], ["/Elements"]),
          ]);
        }
        const removed = value.map((v) => (linkedUri(v) as string).replace(/\/+$/, ""));
        const absent = removed.flatMap((uri, index) =>
          existing.elements.includes(uri)
            ? []
            : [baseMessage("ActionParameterValueNotInList", [uri, "Elements", action], [`/Elements/${index}`])],
        );
        if (absent.length > 0) return send400(reply, absent);
        elements = existing.elements.filter((uri) => !removed.includes(uri));
      }
      try {
        await this.store.commit({ type: "aggregate.elements", body: { id, elements, atMs: Date.now() } });
      } catch (error) {
        return sendStoreFailure(reply, error);
      }
      return reply.code(204).send();
    });
  }
}
