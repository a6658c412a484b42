// The facade over simulated members, as tests build it: console credentials on every request
// (admin / conclave-admin, Administrator), short timeouts, a crawler, and where ../shared is.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { createMemoryAuthStore } from "../../src/auth/memory-auth-store.ts";
import { buildApp, type FacadeInit } from "../../src/index.ts";
import {
  createSimulatedCluster,
  type SimulatedCluster,
  type SimulatedClusterOptions,
  type SimulatedMemberSpec,
} from "./simulated-cluster.ts";

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const repoRoot = resolve(packageRoot, "../..");
/** DMTF material only the tests read; the facade never needs it. */
export const sharedRedfish = resolve(repoRoot, "../shared/redfish");
export const hasShared = existsSync(resolve(sharedRedfish, "json-schema"));
export const SHARED_MISSING = "skipped: ../shared/redfish is absent (DMTF schemas and mockups are only for tests)";

export const CONSOLE_USER = { userName: "admin", password: "conclave-admin", roleId: "Administrator" } as const;
export const CONSOLE = {
  authorization: `Basic ${Buffer.from(`${CONSOLE_USER.userName}:${CONSOLE_USER.password}`).toString("base64")}`,
};

/** Deadlines short enough that a hung member costs a test little. */
export const TEST_TIMEOUTS = { memberReadTimeoutMs: 300, memberWriteTimeoutMs: 1_000 } as const;

export interface Facade {
  readonly app: FastifyInstance;
  readonly cluster: SimulatedCluster;
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  json(url: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startFacade(
  specs: readonly SimulatedMemberSpec[],
  init: Omit<FacadeInit, "cluster" | "auth"> = {},
  options: SimulatedClusterOptions = {},
): Promise<Facade> {
  const cluster = await createSimulatedCluster(specs, options);
  const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
  const app = buildApp({ cluster, auth, ...init, timeouts: { ...TEST_TIMEOUTS, ...init.timeouts } });
  await app.ready();
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: "GET", url, headers: { ...CONSOLE, ...headers } });
  return {
    app,
    cluster,
    get,
    async json(url) {
      const response = await get(url);
      if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${response.body}`);
      return response.json();
    },
    async close() {
      await app.close();
      await cluster.close();
    },
  };
}

export function threeMembers(): SimulatedMemberSpec[] {
  return [
    { name: "bmc1" },
    { name: "bmc2", simulator: { generator: { nodeName: "bmc2", systemCount: 2 } } },
    { name: "bmc3" },
  ];
}

function linksIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) linksIn(v, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === "@odata.id" && typeof v === "string" && v.startsWith("/redfish/v1")) {
        found.add(v.split("#")[0] as string);
      } else linksIn(v, found);
    }
  }
}

export interface CrawlResult {
  readonly resources: Map<string, Record<string, unknown>>;
  /** Links that did not answer 200, as `uri -> status (linked from)`. */
  readonly unresolved: string[];
}

/** Every resource reachable from /redfish/v1 through @odata.id links, as the facade serves them. */
export async function crawl(app: FastifyInstance, limit = 5_000): Promise<CrawlResult> {
  const resources = new Map<string, Record<string, unknown>>();
  const unresolved: string[] = [];
  const from = new Map<string, string>([["/redfish/v1", "(start)"]]);
  const queue = ["/redfish/v1"];
  const seen = new Set<string>();
  while (queue.length > 0 && seen.size < limit) {
    const uri = queue.shift() as string;
    const key = uri.replace(/\/+$/, "") || "/";
    if (seen.has(key)) continue;
    seen.add(key);
    const response = await app.inject({ method: "GET", url: uri, headers: CONSOLE });
    if (response.statusCode !== 200) {
      unresolved.push(`${uri} -> ${response.statusCode} (linked from ${from.get(uri) ?? "?"})`);
      continue;
    }
    const body = response.json() as Record<string, unknown>;
    resources.set(key, body);
    const links = new Set<string>();
    linksIn(body, links);
    for (const link of links) {
      if (!seen.has(link.replace(/\/+$/, ""))) {
        if (!from.has(link)) from.set(link, key);
        queue.push(link);
      }
    }
  }
  return { resources, unresolved };
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    "@Message.ExtendedInfo": Array<{ MessageId: string; MessageArgs: string[]; RelatedProperties?: string[] }>;
  };
}

export function messageIds(response: LightMyRequestResponse): string[] {
  const body = response.json() as ErrorBody;
  return body.error["@Message.ExtendedInfo"].map((m) => m.MessageId.replace(/^Base\.(\d+\.)+/, ""));
}

/** Polls until `probe` gives a value (the facade reflects a member's change within TTL + deadline). */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
