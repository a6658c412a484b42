// Loopback mode's listener hook for a node `net.Server` (fastify's `app.server`, an http.Server):
// listening on the VIP is what holding it means, closing the listener is letting it go.
import type { Server } from "node:net";
import type { VipListenerHook } from "./vip-manager.ts";

interface ClosableConnections {
  closeAllConnections?: () => void;
}

/**
 * Binds `server` to `<vip>:<port>` on claim and closes it on release, dropping open connections
 * (a released VIP must stop answering at once; clients reconnect to the new PoC). Port 0 picks a
 * free port on the first bind, which later binds reuse.
 */
export function serverListenerHook(server: Server, port: number): VipListenerHook {
  let boundPort = port;
  return {
    bind: (address) =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once("error", onError);
        server.listen({ host: address, port: boundPort, exclusive: true }, () => {
          server.off("error", onError);
          const bound = server.address();
          if (bound !== null && typeof bound === "object") boundPort = bound.port;
          resolve();
        });
      }),
    unbind: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        (server as Server & ClosableConnections).closeAllConnections?.();
      }),
  };
}
