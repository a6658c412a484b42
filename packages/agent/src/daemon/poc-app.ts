// What the PoC serves on the VIP until the Redfish facade exists: a valid ServiceRoot whose UUID is
// the cluster's (set once at cluster.init, the same on every PoC), and the status document.
// `buildPocApp` returns the fastify app and never listens: the VIP manager binds it (loopback mode)
// and the node app reuses its routes when this node is PoC.
import Fastify, { type FastifyInstance } from "fastify";
import type { StatusDocument } from "../control/control-protocol.ts";
import { resourceNotFound, serviceTemporarilyUnavailable } from "./redfish-error.ts";

export const SERVICE_ROOT_TYPE = "#ServiceRoot.v1_17_0.ServiceRoot";
/** The DSP0266 protocol version the placeholder claims (what it serves is that small). */
export const REDFISH_PROTOCOL_VERSION = "1.17.0";
/** Retry-After while the cluster has no identity yet (the seconds after the very first election). */
export const NO_IDENTITY_RETRY_AFTER_SECONDS = 1;

export interface PocAppInit {
  /** The cluster UUID once `cluster.init` is applied; null before. */
  readonly clusterUuid: () => string | null;
  readonly clusterName: string;
  readonly status: () => StatusDocument;
}

export function serviceRoot(uuid: string, clusterName: string): Record<string, unknown> {
  return {
    "@odata.id": "/redfish/v1",
    "@odata.type": SERVICE_ROOT_TYPE,
    Id: "RootService",
    Name: `Conclave cluster ${clusterName}`,
    RedfishVersion: REDFISH_PROTOCOL_VERSION,
    UUID: uuid,
    // Sessions, Systems and the rest come with the facade: link only what exists.
    Links: {},
  };
}

export function registerPocRoutes(app: FastifyInstance, init: PocAppInit): void {
  const root = async (_request: unknown, reply: import("fastify").FastifyReply) => {
    const uuid = init.clusterUuid();
    if (uuid === null) {
      return reply
        .code(503)
        .header("Retry-After", String(NO_IDENTITY_RETRY_AFTER_SECONDS))
        .send(serviceTemporarilyUnavailable(NO_IDENTITY_RETRY_AFTER_SECONDS));
    }
    return reply
      .header("OData-Version", "4.0")
      .header("Cache-Control", "no-cache")
      .send(serviceRoot(uuid, init.clusterName));
  };
  app.get("/redfish/v1", root);
  app.get("/redfish/v1/", root);
  app.get("/redfish", async (_request, reply) => reply.header("OData-Version", "4.0").send({ v1: "/redfish/v1/" }));
  app.get("/conclave/v1/status", async (_request, reply) =>
    reply.header("Cache-Control", "no-cache").send(init.status()),
  );
}

export function buildPocApp(init: PocAppInit): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerPocRoutes(app, init);
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send(resourceNotFound(request.url)));
  return app;
}
