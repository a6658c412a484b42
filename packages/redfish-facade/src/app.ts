// buildApp: the fastify app the PoC serves on the VIP. It never listens: the agent binds it (or
// tests call `inject()`).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { AuthStore } from "./auth/auth-store.ts";
import { registerAuth } from "./auth/register-auth.ts";
import { eventServicePart } from "./events/event-service-part.ts";
import type { FacadeEventSource } from "./events/facade-event-source.ts";
import type { SubscriptionPolicy } from "./events/subscription-destination.ts";
import type { SubscriptionStore } from "./events/subscription-store.ts";
import type { FacadeCluster } from "./facade-cluster.ts";
import { type FacadeTimeouts, MAX_PATH_BYTES, MAX_REQUEST_BODY_BYTES, RETRY_AFTER_SECONDS } from "./facade-limits.ts";
import { resolveFacadeTimeouts } from "./facade-options.ts";
import { CLUSTER_MANAGER_ID } from "./facade-resources.ts";
import { FacadeService, type WarmUpOptions, type WarmUpResult } from "./facade-service.ts";
import { FACADE_MARKER_HEADER, LOOP_DETECTED_STATUS } from "./loop-guard.ts";
import type { MetricsRegistry } from "./metrics/metrics-registry.ts";
import { aggregationActionsPart } from "./operations/aggregation-actions-part.ts";
import { createFacadeOperations } from "./operations/facade-operations.ts";
import { forceFailoverPart } from "./operations/force-failover-part.ts";
import { createMemoryOperationStore } from "./operations/memory-operation-store.ts";
import type { OperationStore } from "./operations/operation-store.ts";
import type { PowerSequenceConfig } from "./operations/power-sequence.ts";
import { updateServicePart } from "./operations/update-service-part.ts";
import { baseMessage, sendRedfishError } from "./redfish-error.ts";
import { registerRedfishRoutes } from "./redfish-routes.ts";
import { managerDiagnosticsPart } from "./telemetry/manager-diagnostics-part.ts";
import { type FacadeTopology, resolveTopology } from "./topology.ts";

export interface FacadeInit {
  readonly cluster: FacadeCluster;
  readonly auth: AuthStore;
  /**
   * The operation journal, tasks and user aggregates. The agent passes its Raft-replicated store;
   * a facade without a cluster (tests) gets a memory store.
   */
  readonly operations?: OperationStore;
  /** The power-on order of member groups for aggregated resets; none by default. */
  readonly powerSequence?: PowerSequenceConfig;
  /** Members' events for the EventService (the agent pulls them over its RPC); none: the cluster's own only. */
  readonly events?: FacadeEventSource;
  /** Where request and event series are counted (the agent's /metrics); none: not counted. */
  readonly metrics?: MetricsRegistry;
  /** Push subscriptions (EventDestination); none: a memory store that does not outlive this facade. */
  readonly subscriptions?: SubscriptionStore;
  /**
   * Which Destinations a push subscription may have; none: `{ allowPrivateDestinations: true }`
   * (BMC management networks are private). False refuses loopback, link-local and private ones.
   */
  readonly subscriptionPolicy?: SubscriptionPolicy;
  /** Where member chassis and systems sit relative to each other; none by default. */
  readonly topology?: FacadeTopology;
  /** Overrides of DEFAULT_FACADE_TIMEOUTS (validated; FacadeConfigError on a bad value). */
  readonly timeouts?: Partial<FacadeTimeouts>;
}

/** How much of an undecodable path the error repeats. */
const SHOWN_PATH_CHARACTERS = 128;

function isRedfishPath(url: string): boolean {
  return url === "/redfish" || url.startsWith("/redfish/") || url.startsWith("/redfish?");
}

/** The service behind each app buildApp made, for warmUpFacade. */
const services = new WeakMap<FastifyInstance, FacadeService>();

/**
 * Reads ahead, into `app`'s member cache, what a console's first requests need (see
 * FacadeService.warmUp): the agent calls it on a standby voter every few seconds, and at once when
 * its node takes over as PoC. Never rejects.
 */
export function warmUpFacade(app: FastifyInstance, options: WarmUpOptions = {}): Promise<WarmUpResult> {
  const service = services.get(app);
  if (service === undefined) throw new TypeError("warmUpFacade: the app was not made by buildApp");
  return service.warmUp(options);
}

export function buildApp(init: FacadeInit): FastifyInstance {
  const timeouts = resolveFacadeTimeouts(init.timeouts);
  const topology = resolveTopology(init.topology, [CLUSTER_MANAGER_ID]);
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: MAX_REQUEST_BODY_BYTES,
    // The wildcard route's parameter is the whole path: let it be as long as a path may be.
    routerOptions: { maxParamLength: MAX_PATH_BYTES },
    // The router refuses a path it cannot decode before any hook: still a Redfish error.
    frameworkErrors: (error, request, reply) => {
      const path = (request.url.split("?")[0] ?? "").slice(0, SHOWN_PATH_CHARACTERS);
      if (error.code === "FST_ERR_BAD_URL") void sendRedfishError(reply, 400, baseMessage("InvalidURI", [path]));
      else if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
        void sendRedfishError(reply, 400, baseMessage("StringValueTooLong", [path, String(MAX_PATH_BYTES)]));
      } else void sendRedfishError(reply, 500, baseMessage("InternalError"));
    },
  });

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
  const store = init.operations ?? createMemoryOperationStore();
  const operations = createFacadeOperations({ service, store, timeouts });
  service.parts.push(
    ...operations.parts,
    aggregationActionsPart({ service, store, tasks: operations.tasks, powerSequence: init.powerSequence }),
    updateServicePart({ service, tasks: operations.tasks, timeouts }),
    forceFailoverPart({ service }),
    managerDiagnosticsPart({ service }),
    eventServicePart({
      service,
      source: init.events,
      metrics: init.metrics,
      subscriptions: init.subscriptions,
      subscriptionPolicy: init.subscriptionPolicy,
    }),
  );
  for (const part of service.parts) part.register?.(app);
  app.addHook("onClose", async () => {
    operations.close();
    for (const part of service.parts) part.close?.();
  });
  registerRedfishRoutes(app, service, timeouts, operations.writeMember);
  services.set(app, service);
  return app;
}
