// The local admin endpoint for tests, outside /redfish and never faulted:
//   GET/POST/DELETE /_sim/faults   read, merge in, or clear the fault knobs
//   GET/DELETE      /_sim/counters read or reset the execution counters
//   GET             /_sim/state    power states, running tasks, sessions and SSE clients at a glance
import type { FastifyInstance } from "fastify";
import type { SimulatorContext } from "../context.ts";
import { SimulatorConfigError } from "../errors.ts";
import { isObject } from "../store.ts";

export const ADMIN_PREFIX = "/_sim";

export interface AdminHooks {
  /** Called after a fault change is answered, so "down" can act on connections and the listener. */
  onFaultsChanged(): void;
}

export function registerAdminRoutes(app: FastifyInstance, context: SimulatorContext, hooks: AdminHooks): void {
  app.get(`${ADMIN_PREFIX}/faults`, async () => context.faults.state);
  app.post(`${ADMIN_PREFIX}/faults`, async (request, reply) => {
    if (!isObject(request.body))
      return reply.code(400).send({ error: "the body must be a JSON object of fault knobs" });
    try {
      const state = context.faults.set(request.body);
      reply.raw.once("finish", () => hooks.onFaultsChanged());
      return state;
    } catch (error) {
      if (error instanceof SimulatorConfigError) return reply.code(400).send({ error: error.message });
      throw error;
    }
  });
  app.delete(`${ADMIN_PREFIX}/faults`, async (_request, reply) => {
    context.faults.clear();
    reply.raw.once("finish", () => hooks.onFaultsChanged());
    return context.faults.state;
  });
  app.get(`${ADMIN_PREFIX}/counters`, async () => context.counters.snapshot());
  app.delete(`${ADMIN_PREFIX}/counters`, async () => {
    context.counters.reset();
    return context.counters.snapshot();
  });
  app.get(`${ADMIN_PREFIX}/state`, async () => {
    const power: Record<string, unknown> = {};
    for (const type of ["ComputerSystem", "Chassis", "Manager"]) {
      for (const resource of context.store.ofType(type)) {
        const status = isObject(resource.Status) ? resource.Status.State : undefined;
        power[String(resource["@odata.id"])] = { PowerState: resource.PowerState ?? null, State: status ?? null };
      }
    }
    return {
      power,
      sessions: context.auth.sessionCount,
      sseClients: context.events.clientCount,
      lastEventId: context.events.lastEventId,
      faults: context.faults.state,
    };
  });
}
