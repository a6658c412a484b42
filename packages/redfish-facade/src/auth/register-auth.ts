// Authentication and authorization of every facade request, and the SessionService and
// AccountService routes. (Owned by the auth part of the facade; until it lands this registers
// nothing and every request is served.)
import type { FastifyInstance } from "fastify";
import type { AuthStore } from "./auth-store.ts";

export interface AuthOptions {
  readonly store: AuthStore;
}

export function registerAuth(_app: FastifyInstance, _options: AuthOptions): void {}
