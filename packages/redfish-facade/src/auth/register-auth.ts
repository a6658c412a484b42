// Authentication and authorization of every facade request, and the SessionService and
// AccountService routes.
//
// One onRequest hook, before any body is read: requiredPrivilege(method, url) names what the
// request needs (per the Redfish privilege registry); the service root, `$metadata`, `odata`
// and the login (POST Sessions) need nothing. Anything else needs credentials, either
// `X-Auth-Token` (a session; tried first when present) or HTTP Basic; none or bad ones get 401
// with `WWW-Authenticate: Basic realm="Conclave"`, too few privileges 403 InsufficientPrivilege.
// Routes whose rule depends on ownership (a user's own session or account: ConfigureSelf)
// finish the check themselves with the principal the hook set (principalOf).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import { registerAccountRoutes } from "./account-routes.ts";
import { AUTH_BODY_MAX_BYTES } from "./auth-limits.ts";
import { sendForbidden, sendUnauthorized, sendUnavailable } from "./auth-replies.ts";
import type { AuthStore } from "./auth-store.ts";
import { PasswordChecker, PasswordChecksBusyError } from "./basic-credentials.ts";
import { setPrincipal } from "./principal.ts";
import { requiredPrivilege, satisfies } from "./required-privilege.ts";
import type { Privilege } from "./roles.ts";
import { SessionActivity } from "./session-activity.ts";
import { registerSessionRoutes } from "./session-routes.ts";
import { hashSessionToken, looksLikeSessionToken } from "./session-token.ts";

export interface AuthOptions {
  readonly store: AuthStore;
  /** Wall clock in ms (tests inject a fake one to expire sessions). Default Date.now. */
  readonly now?: () => number;
}

/** What the auth routes share. */
export interface AuthContext {
  readonly store: AuthStore;
  readonly now: () => number;
  readonly activity: SessionActivity;
  readonly passwords: PasswordChecker;
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const now = options.now ?? Date.now;
  const context: AuthContext = {
    store: options.store,
    now,
    activity: new SessionActivity({
      store: options.store,
      now,
      onTouchFailed: (sessionId, err) =>
        app.log.warn({ err, sessionId }, "a session's use was not committed; retried on its next use"),
    }),
    passwords: new PasswordChecker(now),
  };

  app.addHook("onRequest", async (request, reply) => {
    const requirement = requiredPrivilege(request.method, request.url);
    if (requirement.kind === "none") return;
    const authenticated = await authenticate(context, request, reply);
    if (authenticated === "answered") return reply;
    // A session or an account: its route knows whose it is and checks the whole rule (PropertyOverrides included).
    if (requirement.deferredToRoute) return;
    if (!satisfies(authenticated, requirement.alternatives, false)) return sendForbidden(reply);
    return;
  });

  app.register(async (scope) => {
    // The auth routes read their own small bodies: a parse failure is MalformedJSON, a big body PayloadTooLarge.
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser(
      "application/json",
      { parseAs: "string", bodyLimit: AUTH_BODY_MAX_BYTES },
      (_request, text, done) => {
        try {
          done(null, parseJsonBody(String(text)));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    scope.setErrorHandler((error: FastifyError, request, reply) => sendRouteError(error, request, reply));
    registerSessionRoutes(scope, context);
    registerAccountRoutes(scope, context);
  });
}

/** Sets the principal and returns its privileges, or answers (401/503) and says so. */
async function authenticate(
  context: AuthContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<readonly Privilege[] | "answered"> {
  const { store, activity } = context;
  const token = request.headers["x-auth-token"];
  if (token !== undefined) {
    if (typeof token !== "string" || !looksLikeSessionToken(token)) {
      sendUnauthorized(reply, baseMessage("NoValidSession"));
      return "answered";
    }
    const session = store.sessionByTokenHash(hashSessionToken(token));
    const settings = store.settings();
    const account = session === undefined ? undefined : store.account(session.accountId);
    if (session === undefined || account === undefined || !account.enabled || !activity.isLive(session, settings)) {
      sendUnauthorized(reply, baseMessage("NoValidSession"));
      return "answered";
    }
    activity.used(session, settings);
    return setPrincipal(request, account, session.id).privileges;
  }
  const authorization = request.headers.authorization;
  if (authorization === undefined) {
    sendUnauthorized(reply, baseMessage("NoValidSession"));
    return "answered";
  }
  try {
    const account = await context.passwords.checkBasic(store, authorization);
    if (account === undefined) {
      sendUnauthorized(reply, baseMessage("AccessUnauthorized"));
      return "answered";
    }
    return setPrincipal(request, account, undefined).privileges;
  } catch (error) {
    if (!(error instanceof PasswordChecksBusyError)) throw error;
    sendUnavailable(reply);
    return "answered";
  }
}

/** JSON.parse refusing `__proto__` and `constructor` keys (a body is copied into records). */
function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw new SyntaxError("empty body");
  return JSON.parse(text, (key, value: unknown) => {
    if (key === "__proto__" || key === "constructor") throw new SyntaxError(`the key "${key}" is not allowed`);
    return value;
  });
}

function sendRouteError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof SyntaxError) return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return sendRedfishError(reply, 413, baseMessage("PayloadTooLarge"));
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return sendRedfishError(reply, 415, baseMessage("HeaderInvalid", ["Content-Type"]));
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
    default:
      request.log.error({ err: error }, "auth route failed");
      return sendRedfishError(reply, 500, baseMessage("InternalError"));
  }
}
