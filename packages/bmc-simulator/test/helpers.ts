// Shared test helpers: credentials, polling, crawling a simulator, and where ../shared is.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { buildSimulator, type SimulatorOptions } from "../src/index.ts";

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(packageRoot, "../..");
/** DMTF material the tests (never the product) read; CI clones it beside the repo. */
export const sharedRedfish = resolve(repoRoot, "../shared/redfish");
export const hasShared = existsSync(resolve(sharedRedfish, "json-schema"));

export const ADMIN = { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` };

/** Delays small enough for tests; the behaviour, not the speed, is what the tests check. */
export const FAST_TIMING = {
  powerOnDelayMs: 40,
  gracefulShutdownDelayMs: 40,
  forceOffDelayMs: 10,
  managerResetDelayMs: 40,
  updateStepMs: 15,
  updateStepCount: 4,
};

export function testSimulator(options: SimulatorOptions = {}): FastifyInstance {
  return buildSimulator({ logger: false, ...options, timing: { ...FAST_TIMING, ...options.timing } });
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function getJson(app: FastifyInstance, url: string): Promise<Record<string, unknown>> {
  const response = await app.inject({ url, headers: ADMIN });
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${response.body}`);
  return response.json();
}

function linksIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) linksIn(v, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === "@odata.id" && typeof v === "string" && v.startsWith("/redfish/v1"))
        found.add(v.split("#")[0] as string);
      else linksIn(v, found);
    }
  }
}

/** Every resource reachable from the service root through @odata.id links, as served. */
export async function crawl(app: FastifyInstance): Promise<Map<string, Record<string, unknown>>> {
  const seen = new Map<string, Record<string, unknown>>();
  const queue = ["/redfish/v1"];
  const missing: string[] = [];
  while (queue.length > 0) {
    const uri = queue.shift() as string;
    const key = uri.replace(/\/+$/, "") || "/";
    if (seen.has(key)) continue;
    const response = await app.inject({ url: uri, headers: ADMIN });
    if (response.statusCode !== 200) {
      missing.push(`${uri} -> ${response.statusCode}`);
      seen.set(key, {});
      continue;
    }
    const body = response.json() as Record<string, unknown>;
    seen.set(key, body);
    const links = new Set<string>();
    linksIn(body, links);
    for (const link of links) if (!seen.has(link.replace(/\/+$/, ""))) queue.push(link);
  }
  for (const [key, body] of seen) if (Object.keys(body).length === 0) seen.delete(key);
  (seen as Map<string, Record<string, unknown>> & { missing?: string[] }).missing = missing;
  return seen;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    "@Message.ExtendedInfo": Array<{ MessageId: string; MessageArgs: string[] }>;
  };
}
