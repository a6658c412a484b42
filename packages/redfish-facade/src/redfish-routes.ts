// The Redfish routes of the facade: one handler for everything under /redfish that the auth part
// does not serve. GETs resolve through FacadeService (with query options, ETag and 304); a write is
// offered to the facade's own parts first (tasks, aggregate and update actions), then a write on
// a member resource goes to the operation journal (MemberWriter); everything else is a Redfish error.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FacadeTimeouts } from "./facade-limits.ts";
import { MAX_EXPANDED_RESOURCES, MAX_PATH_BYTES, MAX_QUERY_BYTES } from "./facade-limits.ts";
import { computeEtag, type FacadeService } from "./facade-service.ts";
import type { MemberWrite, WriteOutcome } from "./forward-write.ts";
import type { MemberRootMap } from "./member-discovery.ts";
import { SERVICE_COLLECTIONS } from "./member-uri.ts";
import { metadataXml, schemaUrl } from "./metadata.ts";
import {
  applyExpand,
  applySelect,
  ExpandLimitError,
  isQueryProblem,
  NO_QUERY,
  parseQueryOptions,
  type QueryOptions,
} from "./query-options.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "./redfish-error.ts";
import { isPathProblem, parseRequestUrl, type RequestPath } from "./request-path.ts";
import { READ_ONLY_ALLOW, type Served, type ServedResource, servedError } from "./served.ts";

type Json = Record<string, unknown>;
const WRITE_METHODS = new Set(["PATCH", "POST", "PUT", "DELETE"]);
/** How much of a bad path or query a message repeats. */
const SHOWN_CHARACTERS = 128;
/** Cache-Control on every answer: a console may keep it, but must revalidate (ETag, If-None-Match). */
const CACHE_CONTROL = "no-cache";

function shown(text: string): string {
  return text.length > SHOWN_CHARACTERS ? `${text.slice(0, SHOWN_CHARACTERS)}...` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function etagMatches(header: string, etag: string): boolean {
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

function sendServedError(reply: FastifyReply, served: Extract<Served, { kind: "error" }>): FastifyReply {
  for (const [name, value] of Object.entries(served.headers)) reply.header(name, value);
  return sendRedfishError(reply, served.statusCode, ...served.messages);
}

const VERSION_DOCUMENT = JSON.stringify({ v1: "/redfish/v1/" });

/** A document that is not a resource (`/redfish`, `$metadata`): still ETag, If-None-Match and Allow. */
function sendDocument(request: FastifyRequest, reply: FastifyReply, text: string, type: string): FastifyReply {
  const etag = computeEtag(text);
  reply.header("ETag", etag).header("Allow", READ_ONLY_ALLOW.join(", ")).header("Cache-Control", CACHE_CONTROL);
  const ifNoneMatch = request.headers["if-none-match"];
  if (typeof ifNoneMatch === "string" && etagMatches(ifNoneMatch, etag)) return reply.code(304).send();
  return reply.code(200).type(type).send(text);
}

function sendJson(
  reply: FastifyReply,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
): FastifyReply {
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  if (body === undefined) return reply.code(statusCode).send();
  return reply.code(statusCode).type("application/json; charset=utf-8").send(JSON.stringify(body));
}

function errorFromProblem(
  parsed: Exclude<ReturnType<typeof parseRequestUrl>, RequestPath>,
  url: string,
): {
  statusCode: number;
  message: RedfishMessage;
} {
  const [path = "", query = ""] = url.split(/\?(.*)/s);
  switch (parsed.kind) {
    case "too-long":
      return parsed.what === "path"
        ? { statusCode: 400, message: baseMessage("StringValueTooLong", [shown(path), String(MAX_PATH_BYTES)]) }
        : { statusCode: 400, message: baseMessage("StringValueTooLong", [shown(query), String(MAX_QUERY_BYTES)]) };
    case "bad-segment":
      return { statusCode: 400, message: baseMessage("InvalidURI", [shown(path)]) };
    case "bad-query":
      return { statusCode: 400, message: baseMessage("QueryParameterValueFormatError", [shown(parsed.text), "query"]) };
    case "not-redfish":
      return { statusCode: 404, message: baseMessage("ResourceMissingAtURI", [shown(path)]) };
  }
}

/** Sends a write on a member resource to its owner: the operation journal in the facade. */
export type MemberWriter = (write: MemberWrite, request: FastifyRequest) => Promise<WriteOutcome>;

export function registerRedfishRoutes(
  app: FastifyInstance,
  service: FacadeService,
  timeouts: FacadeTimeouts,
  writeMember: MemberWriter,
): void {
  // JSON bodies are parsed here so a malformed one is a Redfish MalformedJSON, and kept as parsed
  // so URIs in them can be un-prefixed before forwarding.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, text, done) => {
    const body = String(text);
    if (body.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(
        Object.assign(new Error("malformed JSON"), { statusCode: 400, code: "FACADE_ERR_MALFORMED_JSON" }),
        undefined,
      );
    }
  });

  app.setErrorHandler((error, _request, reply) => {
    const { statusCode, code } = error as { statusCode?: number; code?: string };
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE" || statusCode === 413) {
      return sendRedfishError(reply, 413, baseMessage("PayloadTooLarge"));
    }
    if (
      code === "FACADE_ERR_MALFORMED_JSON" ||
      code === "FST_ERR_CTP_EMPTY_JSON_BODY" ||
      error instanceof SyntaxError
    ) {
      return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
    }
    if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || statusCode === 415) {
      return sendRedfishError(reply, 415, baseMessage("HeaderInvalid", ["Content-Type"]));
    }
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return sendRedfishError(reply, statusCode, baseMessage("GeneralError"));
    }
    return sendRedfishError(reply, 500, baseMessage("InternalError"));
  });
  app.setNotFoundHandler((request, reply) =>
    sendRedfishError(reply, 404, baseMessage("ResourceMissingAtURI", [shown(request.url.split("?")[0] ?? "")])),
  );

  /** Bodies served unchanged (a cached member answer, a memoised merge) keep their text and ETag. */
  const renderedBodies = new WeakMap<object, { text: string; etag: string }>();

  /** A GET of a facade URI found in a resource (for `only` and `$expand`). */
  const resolveUri = async (uri: string): Promise<Served> => {
    const parsed = parseRequestUrl(uri);
    if (isPathProblem(parsed) || parsed.versionDocument)
      return servedError(404, baseMessage("ResourceMissingAtURI", [shown(uri)]));
    return service.resolve(parsed.segments, parsed.path);
  };

  const get = async (request: FastifyRequest, reply: FastifyReply, parsed: RequestPath): Promise<FastifyReply> => {
    const query = parseQueryOptions(parsed.query);
    if (isQueryProblem(query)) return sendRedfishError(reply, query.statusCode, query.message);
    if (parsed.segments.length === 1 && parsed.segments[0] === "$metadata") {
      if (query !== NO_QUERY && (query.select || query.expand || query.only)) {
        return sendRedfishError(reply, 400, baseMessage("QueryNotSupportedOnResource"));
      }
      return sendDocument(request, reply, metadataXml(service.metadataTypes()), "application/xml");
    }
    let served = await service.resolve(parsed.segments, parsed.path);
    if (served.kind === "error") return sendServedError(reply, served);
    const answer = await applyQuery(served, query);
    if ("kind" in answer) return sendServedError(reply, answer);
    served = answer.served;
    let rendered = answer.changed ? undefined : renderedBodies.get(answer.body);
    if (rendered === undefined) {
      const text = JSON.stringify(answer.body);
      rendered = { text, etag: answer.changed || served.etag === undefined ? computeEtag(text) : served.etag };
      if (!answer.changed) renderedBodies.set(answer.body, rendered);
    }
    const { text, etag } = rendered;
    const headers: Record<string, string> = { ...served.headers };
    headers.etag = etag;
    headers.allow = served.allow.join(", ");
    headers["cache-control"] = CACHE_CONTROL;
    const schema = schemaUrl(answer.body["@odata.type"]);
    if (schema !== undefined && headers.link === undefined) headers.link = `<${schema}>; rel=describedby`;
    const ifNoneMatch = request.headers["if-none-match"];
    if (typeof ifNoneMatch === "string" && served.statusCode === 200 && etagMatches(ifNoneMatch, etag)) {
      for (const [name, value] of Object.entries(headers)) reply.header(name, value);
      return reply.code(304).send();
    }
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    return reply.code(served.statusCode).type("application/json; charset=utf-8").send(text);
  };

  const applyQuery = async (
    served: ServedResource,
    query: QueryOptions,
  ): Promise<{ served: ServedResource; body: Json; changed: boolean } | Extract<Served, { kind: "error" }>> => {
    let current = served;
    if (query.only && Array.isArray(current.body.Members)) {
      const members = current.body.Members;
      if (members.length === 1 && isObject(members[0]) && typeof members[0]["@odata.id"] === "string") {
        const member = await resolveUri(members[0]["@odata.id"]);
        if (member.kind === "error") return member;
        current = member;
      }
    }
    let body = current.body;
    let changed = current !== served;
    if (query.expand !== undefined) {
      try {
        body = await applyExpand(body, query.expand.mode, async (uri) => {
          const target = await resolveUri(uri);
          return target.kind === "resource" && target.statusCode === 200 ? target.body : undefined;
        });
      } catch (error) {
        if (error instanceof ExpandLimitError) {
          return servedError(
            400,
            baseMessage("QueryParameterOutOfRange", [
              "$expand",
              "$expand",
              `at most ${MAX_EXPANDED_RESOURCES} resources`,
            ]),
          );
        }
        throw error;
      }
      changed = true;
    }
    if (query.select !== undefined) {
      const paths = query.select;
      if (query.expand !== undefined && Array.isArray(body.Members)) {
        body = { ...body, Members: body.Members.map((m) => (isObject(m) ? applySelect(m, paths) : m)) };
      } else {
        body = applySelect(body, paths);
      }
      changed = true;
    }
    return { served: current, body, changed };
  };

  /** The member and path a write goes to, or undefined when the path is not a member resource. */
  const writeTarget = async (
    parsed: RequestPath,
  ): Promise<{ member: MemberWrite["member"]; map: MemberRootMap; memberPath: string } | Served | undefined> => {
    const [first, second] = parsed.segments;
    const candidates: number[] = [];
    if (parsed.segments.length >= 2) candidates.push(1);
    if (parsed.segments.length >= 3 && SERVICE_COLLECTIONS.has(`${first}/${second}`)) candidates.push(2);
    for (const index of candidates) {
      const owner = service.ownerOf(parsed.segments, index);
      if (owner === undefined) continue;
      const map = await service.discovery.rootMap(owner.member);
      if ("kind" in map) return service.missingResource(map, parsed.path);
      const serves = index === 1 ? map.prefixCollections.has(first as string) : map.rootServices.has(first as string);
      if (serves) return { member: owner.member, map, memberPath: owner.memberPath };
    }
    return undefined;
  };

  const write = async (request: FastifyRequest, reply: FastifyReply, parsed: RequestPath): Promise<FastifyReply> => {
    if (parsed.query.some(([name]) => name.startsWith("$") || name === "only")) {
      return sendRedfishError(reply, 400, baseMessage("QueryNotSupportedOnOperation"));
    }
    for (const part of service.parts) {
      const served = await part.write?.(request, reply, parsed);
      // A sent reply is thenable: awaiting a part's `return reply` gives undefined. reply.sent tells.
      if (served !== undefined || reply.sent) return reply;
    }
    const target = await writeTarget(parsed);
    if (target !== undefined && "kind" in target) {
      if (target.kind === "error") return sendServedError(reply, target);
    } else if (target !== undefined) {
      const ifMatch = request.headers["if-match"];
      const outcome = await writeMember(
        {
          member: target.member,
          map: target.map,
          method: request.method as MemberWrite["method"],
          memberPath: target.memberPath,
          facadePath: parsed.path,
          body: request.body,
          ifMatch: typeof ifMatch === "string" ? ifMatch : undefined,
          timeoutMs: timeouts.memberWriteTimeoutMs,
        },
        request,
      );
      if (outcome.kind === "error") return sendServedError(reply, outcome);
      if (outcome.kind === "answered") return sendJson(reply, outcome.statusCode, outcome.body, outcome.headers);
      return sendJson(reply, outcome.statusCode, outcome.body, {});
    }
    // Not a member resource: the facade's own resources are read-only here.
    const existing = await service.resolve(parsed.segments, parsed.path);
    if (existing.kind === "error") return sendServedError(reply, existing);
    reply.header("Allow", (existing.allow.length > 0 ? existing.allow : READ_ONLY_ALLOW).join(", "));
    return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const parsed = parseRequestUrl(request.url);
    if (isPathProblem(parsed)) {
      const { statusCode, message } = errorFromProblem(parsed, request.url);
      return sendRedfishError(reply, statusCode, message);
    }
    const method = request.method === "HEAD" ? "GET" : request.method;
    if (parsed.versionDocument) {
      if (method !== "GET") {
        reply.header("Allow", READ_ONLY_ALLOW.join(", "));
        return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
      }
      return sendDocument(request, reply, VERSION_DOCUMENT, "application/json; charset=utf-8");
    }
    if (method === "GET") return get(request, reply, parsed);
    if (WRITE_METHODS.has(method)) return write(request, reply, parsed);
    reply.header("Allow", READ_ONLY_ALLOW.join(", "));
    return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
  };

  const methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"];
  app.route({ method: methods, url: "/redfish", handler: handle });
  app.route({ method: methods, url: "/redfish/*", handler: handle });
}
