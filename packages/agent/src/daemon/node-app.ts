// What every node answers on its own address (config `nodeHttp`). Followers are not dead ends:
// with a PoC known they redirect (307, method and body kept) to the same path on the VIP; with
// none they answer 503 with Retry-After and a Redfish error, never a hang. The PoC itself serves
// the facade here too (plain HTTP: this is the node's own address, not the VIP), so `vip.mode:
// none` still has a working endpoint. `GET /metrics` is every node's own (Prometheus text), PoC or not.

import { METRICS_CONTENT_TYPE } from "@conclave/redfish-facade";
import Fastify, { type FastifyInstance } from "fastify";
import { serviceTemporarilyUnavailable } from "./redfish-error.ts";

/** Where every node serves its own Prometheus metrics. */
export const METRICS_PATH = "/metrics";

/** How long a client waits before asking again when there is no PoC: about one election. */
export const NO_POC_RETRY_AFTER_SECONDS = 2;

export type NodeRouting =
  /** This node is PoC: serve here. */
  | { readonly kind: "serve" }
  /** Another node is PoC: send the client to the VIP. */
  | { readonly kind: "redirect"; readonly baseUrl: string }
  /** No PoC (or no VIP to send the client to). */
  | { readonly kind: "unavailable" };

export interface NodeAppInit {
  /** What the PoC serves (the VIP's app, ready): requests are handed to it whole. */
  readonly serve: FastifyInstance;
  readonly routing: () => NodeRouting;
  /** This node's metrics in the Prometheus text format; absent: no /metrics. */
  readonly metrics?: () => string;
}

export function buildNodeApp(init: NodeAppInit): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addHook("onRequest", async (request, reply) => {
    const metrics = init.metrics;
    if (metrics !== undefined && request.method === "GET" && request.url.split("?")[0] === METRICS_PATH) {
      return reply.code(200).header("Cache-Control", "no-cache").type(METRICS_CONTENT_TYPE).send(metrics());
    }
    const routing = init.routing();
    if (routing.kind === "serve") {
      // Before the body is read: the facade reads it itself.
      reply.hijack();
      init.serve.routing(request.raw, reply.raw);
      return;
    }
    if (routing.kind === "redirect") {
      return reply.code(307).header("Location", `${routing.baseUrl}${request.url}`).send();
    }
    return reply
      .code(503)
      .header("Retry-After", String(NO_POC_RETRY_AFTER_SECONDS))
      .send(serviceTemporarilyUnavailable(NO_POC_RETRY_AFTER_SECONDS));
  });
  return app;
}
