// buildSimulator(options): the fastify app of one simulated BMC. It never listens; tests
// use app.inject(), and server.ts / cli.ts listen.

import type { Socket } from "node:net";
import multipart from "@fastify/multipart";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { mayPerform, type Principal, SESSIONS_URI } from "./auth.ts";
import { createContext, type SimulatorContext } from "./context.ts";
import { baseMessage, errorBody, RedfishError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { type ResolvedOptions, resolveOptions, type SimulatorOptions } from "./options.ts";
import { ADMIN_PREFIX, registerAdminRoutes } from "./routes/admin.ts";
import { registerRedfishRoutes } from "./routes/redfish.ts";
import { canonicalUri, SERVICE_ROOT } from "./store.ts";
import { sleep } from "./timers.ts";

declare module "fastify" {
  interface FastifyInstance {
    simulator: SimulatorContext;
  }
  interface FastifyRequest {
    principal: Principal | null;
    failAfterExecution: boolean;
  }
}

/** What anyone may read or do without credentials, as on bmcweb. */
function isPublic(method: string, path: string): boolean {
  if (method === "POST") return path === SESSIONS_URI;
  if (method !== "GET" && method !== "HEAD") return false;
  return ["/redfish", SERVICE_ROOT, `${SERVICE_ROOT}/odata`, `${SERVICE_ROOT}/$metadata`].includes(path);
}

function sendError(reply: FastifyReply, error: RedfishError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).type("application/json; charset=utf-8").send(error.body());
}

function toRedfishError(error: unknown): RedfishError {
  if (error instanceof RedfishError) return error;
  const { statusCode, code } = (error ?? {}) as { statusCode?: number; code?: string };
  if (statusCode === 413 || code === "FST_ERR_CTP_BODY_TOO_LARGE" || code === "FST_REQ_FILE_TOO_LARGE") {
    return new RedfishError(413, [baseMessage("PayloadTooLarge")]);
  }
  if (
    code === "FST_ERR_CTP_INVALID_JSON_BODY" ||
    code === "FST_ERR_CTP_EMPTY_JSON_BODY" ||
    error instanceof SyntaxError
  ) {
    return new RedfishError(400, [baseMessage("MalformedJSON")]);
  }
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new RedfishError(415, [baseMessage("PropertyValueFormatError", ["unsupported", "Content-Type"])]);
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new RedfishError(statusCode, [baseMessage("GeneralError")]);
  }
  return new RedfishError(500, [baseMessage("InternalError")]);
}

export function buildSimulator(options: SimulatorOptions = {}): FastifyInstance {
  const resolved: ResolvedOptions = resolveOptions(options);
  const rootLogger =
    resolved.logger === false
      ? createLogger("silent", "bmc-simulator")
      : (resolved.logger ?? createLogger(resolved.logLevel, "bmc-simulator"));
  const logger = rootLogger.child({ component: "bmc-simulator", node: resolved.generator.nodeName });
  const context = createContext(resolved, logger);

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({
      disableRequestLogging: resolved.logLevel !== "debug" && resolved.logLevel !== "trace",
    }),
    bodyLimit: resolved.limits.maxRequestBodyBytes,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  });
  app.decorate("simulator", context);
  app.decorateRequest("principal", null);
  app.decorateRequest("failAfterExecution", false);
  app.register(multipart, { limits: { fileSize: resolved.limits.maxImageBytes } });

  // Requests held by the hang fault, and the sockets of the listener while it is "down".
  const hung = new Set<Socket>();
  const dropHung = (): void => {
    for (const socket of hung) socket.destroy();
    hung.clear();
  };
  let listenAddress: { port: number; host: string } | undefined;
  let refuseTimer: NodeJS.Timeout | undefined;

  const onFaultsChanged = (): void => {
    const faults = context.faults.state;
    if (!faults.hang) dropHung();
    if (faults.down !== false) context.events.closeAll();
    if (faults.down === "refuse" && refuseTimer === undefined && app.server.listening) {
      const address = app.server.address();
      if (address === null || typeof address === "string") return;
      listenAddress = { port: address.port, host: address.address };
      app.server.close();
      app.server.closeAllConnections();
      refuseTimer = context.timers.after(faults.downForMs, () => {
        refuseTimer = undefined;
        context.faults.set({ down: false, downForMs: 0 });
        if (listenAddress) app.server.listen({ port: listenAddress.port, host: listenAddress.host });
      });
    }
  };

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.url;
    if (url.startsWith(ADMIN_PREFIX)) return;
    const faults = context.faults;
    if (faults.appliesTo(url)) {
      const state = faults.state;
      if (state.down !== false) {
        reply.hijack();
        request.raw.socket.destroy();
        return;
      }
      if (state.hang) {
        reply.hijack();
        if (hung.size >= resolved.limits.maxHungRequests) request.raw.socket.destroy();
        else {
          const socket = request.raw.socket;
          hung.add(socket);
          socket.once("close", () => hung.delete(socket));
        }
        return;
      }
      if (state.latencyMs > 0) await sleep(state.latencyMs);
      if (faults.drawError()) {
        if (state.errorPhase === "before") throw new RedfishError(500, [baseMessage("InternalError")]);
        request.failAfterExecution = true;
      }
    }
    const path = canonicalUri(url);
    if (!path.startsWith("/redfish")) return;
    if (isPublic(request.method, path)) return;
    const principal = context.auth.authenticate(request.headers);
    if (principal === undefined) {
      throw new RedfishError(401, [baseMessage("NoValidSession")], { "WWW-Authenticate": 'Basic realm="Redfish"' });
    }
    if (!mayPerform(principal, request.method, path))
      throw new RedfishError(403, [baseMessage("InsufficientPrivilege")]);
    request.principal = principal;
  });

  app.addHook("onSend", async (request, reply, payload) => {
    if (!request.url.startsWith("/redfish")) return payload;
    reply.header("OData-Version", "4.0");
    reply.header("Cache-Control", "no-store, max-age=0");
    if (request.failAfterExecution) {
      // The operation ran; the client is told it failed (the case retries must not repeat).
      request.failAfterExecution = false;
      for (const name of ["location", "etag", "x-auth-token", "allow", "link"]) reply.removeHeader(name);
      reply.code(500).type("application/json; charset=utf-8");
      return JSON.stringify(errorBody([baseMessage("InternalError")]));
    }
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const redfish = toRedfishError(error);
    if (redfish.statusCode >= 500 && !(error instanceof RedfishError))
      request.log.error({ err: error }, "request failed");
    return sendError(reply, redfish);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new RedfishError(404, [baseMessage("ResourceNotFound", ["Resource", canonicalUri(request.url)])])),
  );

  registerRedfishRoutes(app, context);
  registerAdminRoutes(app, context, { onFaultsChanged });

  app.addHook("preClose", async () => {
    context.timers.close();
    refuseTimer = undefined;
    dropHung();
    context.events.closeAll();
  });
  return app;
}
