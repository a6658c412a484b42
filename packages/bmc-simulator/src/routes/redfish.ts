// The Redfish routes: one dispatcher over the resource tree for GET/PATCH/POST/DELETE, with
// the protocol details bmcweb gets right (ETag, If-Match, Allow, Link, 404/405 bodies).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SESSIONS_URI } from "../auth.ts";
import type { SimulatorContext } from "../context.ts";
import { OPERATION_ID_HEADER } from "../counters.ts";
import { baseMessage, RedfishError } from "../errors.ts";
import { REGISTRIES } from "../events.ts";
import { metadataXml, odataServiceDocument, schemaUrl } from "../metadata.ts";
import { applyPatch, isPatchable } from "../patch.ts";
import { MULTIPART_PUSH_URI, SSE_URI } from "../services.ts";
import {
  canonicalUri,
  computeEtag,
  isObject,
  type JsonValue,
  type Resource,
  resourceType,
  SERVICE_ROOT,
} from "../store.ts";
import { TASK_MONITORS_URI, type TaskHandle } from "../tasks.ts";
import { runAction } from "./actions.ts";
import { multipartUpdate } from "./multipart-update.ts";

/** Query options this service supports; any other `$` option is answered 501 QueryNotSupported. */
const SUPPORTED_QUERY = new Set(["only"]);

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

function operationId(request: FastifyRequest): string | undefined {
  const value = request.headers[OPERATION_ID_HEADER];
  return typeof value === "string" ? value : undefined;
}

function notFound(context: SimulatorContext, path: string): RedfishError {
  // Name the type the way bmcweb does: the member type of the nearest collection above.
  const segments = path.split("/");
  const name = segments.pop() ?? "";
  const parent = context.store.peek(segments.join("/"));
  const parentType = parent ? resourceType(parent) : "";
  const type = parentType.endsWith("Collection") ? parentType.slice(0, -"Collection".length) : "Resource";
  return new RedfishError(404, [baseMessage("ResourceNotFound", [type, name])]);
}

function methodNotAllowed(allow: string[]): RedfishError {
  return new RedfishError(405, [baseMessage("OperationNotAllowed")], { Allow: allow.join(", ") });
}

export function allowedMethods(context: SimulatorContext, path: string): string[] {
  if (context.actions.has(path) || path === MULTIPART_PUSH_URI) return ["POST"];
  const resource = context.store.peek(path);
  if (resource === undefined) return [];
  const allow = ["GET", "HEAD"];
  if (isPatchable(resourceType(resource))) allow.push("PATCH");
  if (path === SESSIONS_URI) allow.push("POST");
  if (path.startsWith(`${SESSIONS_URI}/`)) allow.push("DELETE");
  return allow;
}

/** The resource as served: a copy, with the clock readings a real BMC reports filled in. */
function render(context: SimulatorContext, path: string): { body: Resource; etag: string } | undefined {
  const stored = context.store.peek(path);
  if (stored === undefined) return undefined;
  // The ETag follows the stored state; a clock reading such as DateTime is not state.
  const etag = context.store.etag(path) ?? computeEtag(stored);
  const body = structuredClone(stored) as Resource;
  if (resourceType(body) === "Manager" && "DateTime" in body)
    body.DateTime = context
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "+00:00");
  return { body, etag };
}

function sendResource(context: SimulatorContext, reply: FastifyReply, path: string, status = 200): FastifyReply {
  const rendered = render(context, path);
  if (rendered === undefined) throw notFound(context, path);
  reply.header("ETag", rendered.etag);
  reply.header("Allow", allowedMethods(context, path).join(", "));
  const schema = schemaUrl(rendered.body["@odata.type"]);
  if (schema) reply.header("Link", `<${schema}>; rel=describedby`);
  return reply.code(status).send(rendered.body);
}

function sendTaskAccepted(context: SimulatorContext, reply: FastifyReply, task: TaskHandle): FastifyReply {
  reply.header("Location", task.monitorUri);
  reply.header("Retry-After", String(Math.max(1, Math.ceil(context.options.timing.updateStepMs / 1000))));
  return sendResource(context, reply, task.uri, 202);
}

function checkIfMatch(context: SimulatorContext, request: FastifyRequest, path: string): void {
  const header = request.headers["if-match"];
  const current = render(context, path);
  if (current && !etagMatches(header, current.etag)) throw new RedfishError(412, [baseMessage("PreconditionFailed")]);
}

function jsonBody(request: FastifyRequest): { [key: string]: JsonValue } {
  const body = request.body;
  if (body === undefined || body === null || body === "") return {};
  if (!isObject(body)) throw new RedfishError(400, [baseMessage("MalformedJSON")]);
  return body;
}

export function registerRedfishRoutes(app: FastifyInstance, context: SimulatorContext): void {
  const { store } = context;

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const path = canonicalUri(request.url);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const record = (operation: string, target: string) => (): void =>
      context.counters.record(operation, target, operationId(request));

    if (path === "/redfish") {
      if (method !== "GET") throw methodNotAllowed(["GET", "HEAD"]);
      return reply.send({ v1: "/redfish/v1/" });
    }
    if (path === `${SERVICE_ROOT}/$metadata`) {
      if (method !== "GET") throw methodNotAllowed(["GET", "HEAD"]);
      return reply.type("application/xml").send(context.mockupMetadataXml ?? metadataXml(store));
    }
    if (path === `${SERVICE_ROOT}/odata`) {
      if (method !== "GET") throw methodNotAllowed(["GET", "HEAD"]);
      return reply.send(odataServiceDocument(store));
    }
    for (const key of Object.keys(query)) {
      if (key.startsWith("$") && !(path === SSE_URI && key === "$filter") && !SUPPORTED_QUERY.has(key)) {
        throw new RedfishError(501, [baseMessage("QueryNotSupported")]);
      }
    }

    if (path === SSE_URI) {
      if (method !== "GET") throw methodNotAllowed(["GET", "HEAD"]);
      if (query.$filter !== undefined) throw new RedfishError(400, [baseMessage("QueryNotSupported")]);
      if (!context.events.hasRoom()) {
        throw new RedfishError(503, [baseMessage("ServiceTemporarilyUnavailable", ["5"])], { "Retry-After": "5" });
      }
      const header = request.headers["last-event-id"];
      const lastEventId = typeof header === "string" && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
      reply.hijack();
      reply.raw.writeHead(200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
        "OData-Version": "4.0",
      });
      context.events.attach(reply.raw, lastEventId);
      return reply;
    }

    if (path.startsWith(`${TASK_MONITORS_URI}/`)) {
      const id = path.slice(TASK_MONITORS_URI.length + 1);
      const task = context.tasks.get(id);
      if (task === undefined) throw notFound(context, path);
      if (method === "DELETE") {
        context.tasks.cancel(id);
        return reply.code(204).send();
      }
      if (method !== "GET") throw methodNotAllowed(["GET", "HEAD", "DELETE"]);
      if (context.tasks.isFinished(id)) return sendResource(context, reply, String(task["@odata.id"]), 200);
      reply.header("Location", path);
      return sendResource(context, reply, String(task["@odata.id"]), 202);
    }

    if (path === MULTIPART_PUSH_URI) {
      if (method !== "POST") throw methodNotAllowed(["POST"]);
      const task = await multipartUpdate(context, request, record("UpdateService.MultipartPush", MULTIPART_PUSH_URI));
      return sendTaskAccepted(context, reply, task);
    }

    const action = context.actions.get(path);
    if (action !== undefined) {
      if (method !== "POST") throw methodNotAllowed(["POST"]);
      checkIfMatch(context, request, action.ownerUri);
      const result = runAction(context, action, jsonBody(request), record(action.name, action.ownerUri), path);
      if (result.status === 202) return sendTaskAccepted(context, reply, result.task);
      return reply.code(204).send();
    }

    if (path === SESSIONS_URI && method === "POST") {
      const body = jsonBody(request);
      const problems = [];
      for (const name of ["UserName", "Password"]) {
        if (!(name in body)) problems.push(baseMessage("PropertyMissing", [name]));
        else if (typeof body[name] !== "string") {
          problems.push(baseMessage("PropertyValueTypeError", [JSON.stringify(body[name]), name]));
        }
      }
      if (problems.length > 0) throw new RedfishError(400, problems);
      const session = context.auth.createSession(String(body.UserName), String(body.Password));
      reply.header("X-Auth-Token", session.token);
      reply.header("Location", session.uri);
      return sendResource(context, reply, session.uri, 201);
    }

    if (!store.has(path)) throw notFound(context, path);
    const allow = allowedMethods(context, path);
    if (!allow.includes(method)) throw methodNotAllowed(allow);

    if (method === "GET") {
      if (query.only !== undefined) {
        const members = store.members(path);
        if (members.length === 1 && members[0] !== undefined)
          return sendResource(context, reply, canonicalUri(members[0]));
      }
      const rendered = render(context, path);
      const ifNoneMatch = request.headers["if-none-match"];
      if (rendered && ifNoneMatch !== undefined && etagMatches(ifNoneMatch, rendered.etag)) {
        return reply.code(304).header("ETag", rendered.etag).send();
      }
      return sendResource(context, reply, path);
    }

    if (method === "PATCH") {
      checkIfMatch(context, request, path);
      const updated = store.get(path) as Resource;
      const type = resourceType(updated);
      applyPatch(type, updated, request.body);
      const body = request.body as { [key: string]: JsonValue };
      if (type === "ManagerAccount") {
        const userName = String(updated.UserName);
        if (typeof body.Password === "string") context.auth.setPassword(userName, body.Password);
        if (typeof body.RoleId === "string") {
          context.auth.setRole(userName, body.RoleId as "Administrator" | "Operator" | "ReadOnly");
          updated.Links = {
            ...(isObject(updated.Links) ? updated.Links : {}),
            Role: { "@odata.id": `/redfish/v1/AccountService/Roles/${body.RoleId}` },
          };
        }
      }
      store.put(updated);
      record("PATCH", path)();
      context.events.publish({
        messageId: `${REGISTRIES.resourceEvent}.ResourceChanged`,
        message: "One or more resource properties have changed.",
        args: [],
        severity: "OK",
        originOfCondition: path,
      });
      return sendResource(context, reply, path);
    }

    if (method === "DELETE") {
      const id = path.slice(SESSIONS_URI.length + 1);
      context.auth.remove(id);
      return reply.code(204).send();
    }
    throw methodNotAllowed(allow);
  };

  const methods = ["GET", "POST", "PATCH", "PUT", "DELETE"] as const;
  app.route({ method: [...methods], url: "/redfish", handler: handle });
  app.route({ method: [...methods], url: "/redfish/*", handler: handle });
}
