// The agent's memory settings (NODE_OPTIONS, MALLOC_ARENA_MAX) have one home, the systemd unit;
// the demo and `pnpm bench idle` read them from there so the three cannot drift apart.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const SYSTEMD_UNIT_FILE = resolve(import.meta.dirname, "../../deploy/systemd/conclaved.service");

/** The unit's variables that shape the agent's memory. */
export const MEMORY_ENVIRONMENT_KEYS = ["NODE_OPTIONS", "MALLOC_ARENA_MAX"] as const;

/** Every `Environment=KEY=value` or `Environment=KEY="value"` line of the unit, in order. */
export function readUnitEnvironment(unitFile: string = SYSTEMD_UNIT_FILE): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const match of readFileSync(unitFile, "utf8").matchAll(
    /^Environment=([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|(\S*))$/gm,
  )) {
    environment[match[1] as string] = match[2] ?? match[3] ?? "";
  }
  return environment;
}

/** The unit's memory settings; throws naming the unit when one is missing. */
export function readUnitMemoryEnvironment(unitFile: string = SYSTEMD_UNIT_FILE): Record<string, string> {
  const environment = readUnitEnvironment(unitFile);
  const memory: Record<string, string> = {};
  for (const key of MEMORY_ENVIRONMENT_KEYS) {
    const value = environment[key];
    if (value === undefined) throw new Error(`${unitFile} has no Environment=${key}=... line`);
    memory[key] = value;
  }
  return memory;
}
