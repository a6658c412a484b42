// buildApp: the fastify app the PoC serves on the VIP. It never listens: the agent binds it (or
// tests call `inject()`).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { AuthStore } from "./auth/auth-store.ts";
import { registerAuth } from "./auth/register-auth.ts";
import type { FacadeCluster } from "./facade-cluster.ts";
import { type FacadeTimeouts, MAX_REQUEST_BODY_BYTES, RETRY_AFTER_SECONDS } from "./facade-limits.ts";
import { resolveFacadeTimeouts } from "./facade-options.ts";
import { CLUSTER_MANAGER_ID } from "./facade-resources.ts";
import { FacadeService } from "./facade-service.ts";
import { FACADE_MARKER_HEADER, LOOP_DETECTED_STATUS } from "./loop-guard.ts";
import { baseMessage, sendRedfishError } from "./redfish-error.ts";
import { registerRedfishRoutes } from "./redfish-routes.ts";
import { type FacadeTopology, resolveTopology } from "./topology.ts";

export interface FacadeInit {
  readonly cluster: FacadeCluster;
  readonly auth: AuthStore;
  /** Where member chassis and systems sit relative to each other; none by default. */
  readonly topology?: FacadeTopology;
  /** Overrides of DEFAULT_FACADE_TIMEOUTS (validated; FacadeConfigError on a bad value). */
  readonly timeouts?: Partial<FacadeTimeouts>;
}

function isRedfishPath(url: string): boolean {
  return url === "/redfish" || url.startsWith("/redfish/") || url.startsWith("/redfish?");
}

export function buildApp(init: FacadeInit): FastifyInstance {
  const timeouts = resolveFacadeTimeouts(init.timeouts);
  const topology = resolveTopology(init.topology, [CLUSTER_MANAGER_ID]);
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: MAX_REQUEST_BODY_BYTES });

  // Before authentication: a marked request is another facade's, and is never served (loop guard);
  // without a quorum nothing the cluster knows can be trusted to be current.
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isRedfishPath(request.url)) return;
    if (request.headers[FACADE_MARKER_HEADER] !== undefined) {
      return sendRedfishError(reply, LOOP_DETECTED_STATUS, baseMessage("HeaderInvalid", [FACADE_MARKER_HEADER]));
    }
    if (request.url.startsWith("/redfish/v1") && !init.cluster.hasQuorum()) {
      const seconds = String(RETRY_AFTER_SECONDS);
      reply.header("Retry-After", seconds);
      return sendRedfishError(reply, 503, baseMessage("ServiceTemporarilyUnavailable", [seconds]));
    }
    return undefined;
  });
  app.addHook("onSend", async (request, reply, payload) => {
    if (isRedfishPath(request.url)) reply.header("OData-Version", "4.0");
    return payload;
  });

  registerAuth(app, { store: init.auth });

  const service = new FacadeService({
    cluster: init.cluster,
    timeouts,
    topology,
    serves: (path) => app.hasRoute({ method: "GET", url: path }),
  });
  registerRedfishRoutes(app, service, timeouts);
  return app;
}
