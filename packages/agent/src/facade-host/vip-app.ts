// What the PoC serves on the VIP: the Redfish facade (`buildApp` of @conclave/redfish-facade, which
// never listens) plus the agent's own `/conclave/v1/status`. The VIP server (vip-server.ts) hands
// it every request; the node's own address hands it requests while this node is PoC.
import {
  type AuthStore,
  buildApp,
  type FacadeCluster,
  type FacadeEventSource,
  type FacadeTopology,
  type MetricsRegistry,
  type OperationStore,
  type PowerSequenceConfig,
  type SubscriptionPolicy,
  type SubscriptionStore,
} from "@conclave/redfish-facade";
import type { FastifyInstance } from "fastify";
import type { StatusDocument } from "../control/control-protocol.ts";

/** The agent's own route on the VIP, next to the Redfish tree. */
export const STATUS_PATH = "/conclave/v1/status";

export interface VipAppInit {
  readonly cluster: FacadeCluster;
  readonly auth: AuthStore;
  /** The replicated operation journal; a memory store when omitted (tests). */
  readonly operations?: OperationStore;
  /** From the config (`powerSequence`, `topology`); none when omitted. */
  readonly powerSequence?: PowerSequenceConfig;
  readonly topology?: FacadeTopology;
  /** Members' events for the EventService, pulled over the RPC; the cluster's own only when omitted. */
  readonly events?: FacadeEventSource;
  /** Where the facade counts requests and events (the node's /metrics). */
  readonly metrics?: MetricsRegistry;
  /** Push subscriptions (EventDestination); a memory store when omitted. */
  readonly subscriptions?: SubscriptionStore;
  /** Which push Destinations are accepted; all (private networks included) when omitted. */
  readonly subscriptionPolicy?: SubscriptionPolicy;
  readonly status: () => StatusDocument;
}

/** The facade with the agent's status route. Call `ready()` before serving. */
export function buildVipApp(init: VipAppInit): FastifyInstance {
  const app = buildApp({
    cluster: init.cluster,
    auth: init.auth,
    ...(init.operations === undefined ? {} : { operations: init.operations }),
    ...(init.powerSequence === undefined ? {} : { powerSequence: init.powerSequence }),
    ...(init.topology === undefined ? {} : { topology: init.topology }),
    ...(init.events === undefined ? {} : { events: init.events }),
    ...(init.metrics === undefined ? {} : { metrics: init.metrics }),
    ...(init.subscriptions === undefined ? {} : { subscriptions: init.subscriptions }),
    ...(init.subscriptionPolicy === undefined ? {} : { subscriptionPolicy: init.subscriptionPolicy }),
  });
  app.get(STATUS_PATH, async (_request, reply) => reply.header("Cache-Control", "no-cache").send(init.status()));
  return app;
}
