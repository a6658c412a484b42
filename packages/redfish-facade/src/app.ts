// buildApp: the fastify app the PoC serves on the VIP. It never listens: the agent binds it (or
// tests call `inject()`).
import Fastify, { type FastifyInstance } from "fastify";
import type { AuthStore } from "./auth/auth-store.ts";
import { registerAuth } from "./auth/register-auth.ts";
import type { FacadeCluster } from "./facade-cluster.ts";

export interface FacadeInit {
  readonly cluster: FacadeCluster;
  readonly auth: AuthStore;
}

export function buildApp(init: FacadeInit): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerAuth(app, { store: init.auth });
  return app;
}
