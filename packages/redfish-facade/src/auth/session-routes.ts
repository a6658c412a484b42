// SessionService: the service (SessionTimeout PATCHable within the schema's 30..86400 s), the
// Sessions collection, login (POST: 201 with X-Auth-Token, Location and the Session), and
// logout (DELETE of one's own session; Administrators, holding ConfigureManager, any session).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import {
  CLIENT_ORIGIN_MAX_CHARS,
  SESSION_CONTEXT_MAX_CHARS,
  SESSION_TIMEOUT_SECONDS_MAX,
  SESSION_TIMEOUT_SECONDS_MIN,
} from "./auth-limits.ts";
import {
  sendBadRequest,
  sendCommitFailure,
  sendForbidden,
  sendJson,
  sendNotAllowed,
  sendPreconditionFailed,
  sendUnauthorized,
  sendUnavailable,
} from "./auth-replies.ts";
import {
  SESSION_SERVICE_URI,
  SESSIONS_URI,
  sessionCollection,
  sessionResource,
  sessionServiceResource,
  sessionUri,
} from "./auth-resources.ts";
import { PasswordChecksBusyError } from "./basic-credentials.ts";
import { principalOf } from "./principal.ts";
import type { AuthContext } from "./register-auth.ts";
import { describe, readBody } from "./request-body.ts";
import { requiredPrivilege, satisfies } from "./required-privilege.ts";
import { ifMatchHolds } from "./resource-etag.ts";
import { hashSessionToken, newSessionId, newSessionToken } from "./session-token.ts";

export function registerSessionRoutes(app: FastifyInstance, context: AuthContext): void {
  const { store, activity } = context;
  const liveSessions = () => store.sessions().filter((session) => activity.isLive(session, store.settings()));

  app.get(SESSION_SERVICE_URI, (_request, reply) => sendJson(reply, 200, sessionServiceResource(store.settings())));
  app.patch(SESSION_SERVICE_URI, async (request, reply) => {
    const body = readBody(request.body, {
      writable: { SessionTimeout: { type: "integer" } },
      readOnly: ["Id", "Name", "Description", "ServiceEnabled", "Sessions", "Status"],
      nonEmpty: true,
    });
    if (!body.ok) return sendBadRequest(reply, body.messages);
    if (!ifMatchHolds(request, sessionServiceResource(store.settings()))) return sendPreconditionFailed(reply);
    const timeout = body.values.SessionTimeout as number;
    if (timeout < SESSION_TIMEOUT_SECONDS_MIN || timeout > SESSION_TIMEOUT_SECONDS_MAX) {
      return sendRedfishError(
        reply,
        400,
        baseMessage("PropertyValueOutOfRange", [String(timeout), "SessionTimeout"], ["/SessionTimeout"]),
      );
    }
    try {
      await store.commit({ type: "auth.settings", body: { sessionTimeoutSeconds: timeout } });
    } catch (error) {
      return sendCommitFailure(reply, error, { uri: SESSION_SERVICE_URI, resourceType: "SessionService", id: "" });
    }
    return sendJson(reply, 200, sessionServiceResource(store.settings()));
  });
  app.route({
    method: ["POST", "PUT", "DELETE"],
    url: SESSION_SERVICE_URI,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "PATCH"]),
  });

  app.get(SESSIONS_URI, (request, reply) => {
    const principal = principalOf(request);
    const seeAll = principal?.privileges.includes("ConfigureManager") === true;
    const visible = liveSessions().filter((session) => seeAll || session.accountId === principal?.account.id);
    return sendJson(reply, 200, sessionCollection(visible));
  });
  app.post(SESSIONS_URI, (request, reply) => login(context, request, reply));
  app.route({
    method: ["PUT", "PATCH", "DELETE"],
    url: SESSIONS_URI,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "POST"]),
  });

  const sessionFor = (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const found = store.session(request.params.id);
    const session = found !== undefined && activity.isLive(found, store.settings()) ? found : undefined;
    const principal = principalOf(request);
    const own = principal !== undefined && principal.account.id === session?.accountId;
    const rule = requiredPrivilege(request.method, request.url);
    // Privileges first: whether a session exists is not told to someone who may not see it.
    if (
      principal === undefined ||
      rule.kind !== "privileges" ||
      !satisfies(principal.privileges, rule.alternatives, own)
    ) {
      sendForbidden(reply);
      return undefined;
    }
    if (session === undefined) {
      sendRedfishError(reply, 404, baseMessage("ResourceNotFound", ["Session", describe(request.params.id)]));
      return undefined;
    }
    return session;
  };
  app.get<{ Params: { id: string } }>(`${SESSIONS_URI}/:id`, (request, reply) => {
    const session = sessionFor(request, reply);
    if (session === undefined) return reply;
    return sendJson(reply, 200, sessionResource(session, store.account(session.accountId)));
  });
  app.delete<{ Params: { id: string } }>(`${SESSIONS_URI}/:id`, async (request, reply) => {
    const session = sessionFor(request, reply);
    if (session === undefined) return reply;
    try {
      await store.commit({ type: "session.delete", body: { id: session.id } });
    } catch (error) {
      return sendCommitFailure(reply, error, { uri: sessionUri(session.id), resourceType: "Session", id: session.id });
    }
    activity.forget(session.id);
    return reply.code(204).header("OData-Version", "4.0").send();
  });
  app.route({
    method: ["POST", "PUT", "PATCH"],
    url: `${SESSIONS_URI}/:id`,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "DELETE"]),
  });
}

async function login(context: AuthContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { store, activity, now } = context;
  const body = readBody(request.body, {
    writable: { UserName: { type: "string" }, Password: { type: "string", secret: true }, Context: { type: "string" } },
    readOnly: ["Id", "Name", "Description", "SessionType", "CreatedTime", "ClientOriginIPAddress", "Roles", "Token"],
    required: ["UserName", "Password"],
  });
  if (!body.ok) return sendBadRequest(reply, body.messages);
  const sessionContext = (body.values.Context as string | undefined) ?? null;
  if (sessionContext !== null && sessionContext.length > SESSION_CONTEXT_MAX_CHARS) {
    return sendRedfishError(
      reply,
      400,
      baseMessage("StringValueTooLong", [describe(sessionContext), String(SESSION_CONTEXT_MAX_CHARS)], ["/Context"]),
    );
  }
  let account: Awaited<ReturnType<typeof context.passwords.check>>;
  try {
    account = await context.passwords.check(store, body.values.UserName as string, body.values.Password as string);
  } catch (error) {
    if (error instanceof PasswordChecksBusyError) return sendUnavailable(reply);
    throw error;
  }
  if (account === undefined) return sendUnauthorized(reply, baseMessage("AccessUnauthorized"));
  const token = newSessionToken();
  const id = newSessionId();
  try {
    await store.commit({
      type: "session.create",
      body: {
        id,
        accountId: account.id,
        tokenHash: hashSessionToken(token),
        atMs: Math.floor(now()),
        clientOrigin: request.ip.slice(0, CLIENT_ORIGIN_MAX_CHARS),
        context: sessionContext,
      },
    });
  } catch (error) {
    return sendCommitFailure(reply, error, { uri: SESSIONS_URI, resourceType: "Session", id });
  }
  const session = store.session(id);
  if (session === undefined) throw new Error(`session ${id} was committed but is not in the state`);
  activity.created(session);
  return sendJson(
    reply.header("X-Auth-Token", token).header("Location", sessionUri(id)),
    201,
    sessionResource(session, account),
  );
}
