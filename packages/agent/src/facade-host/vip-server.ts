// The node server behind the VIP: the VIP listener hook binds it on claim and closes it on
// release; it hands every request to the VIP's fastify app. With TLS it is HTTPS, and
// `refreshTls` swaps the certificate for the connections that follow (the daemon reads the files
// again at each claim).
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { FastifyInstance } from "fastify";
import type { FacadeTlsPair } from "./facade-tls.ts";

export interface VipServer {
  /** The listener the VIP hook binds; it never listens on its own. */
  readonly server: HttpServer | HttpsServer;
  readonly scheme: "http" | "https";
  /** Puts a newly read certificate in place for the connections that follow. */
  refreshTls(pair: FacadeTlsPair): void;
}

/** A node server that hands every request to `app` (ready) — HTTPS when `tls` is given. */
export function createVipServer(app: FastifyInstance, tls: FacadeTlsPair | undefined): VipServer {
  const handle = (
    request: Parameters<FastifyInstance["routing"]>[0],
    response: Parameters<FastifyInstance["routing"]>[1],
  ): void => app.routing(request, response);
  if (tls === undefined) {
    return {
      server: createHttpServer(handle),
      scheme: "http",
      refreshTls: () => {
        throw new Error("the VIP server was created without TLS");
      },
    };
  }
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, handle);
  return {
    server,
    scheme: "https",
    refreshTls: (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }),
  };
}
