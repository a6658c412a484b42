// Where the daemon's control socket is: --socket, else <stateDir>/control.sock with stateDir from
// the config (--config, else the default file; without that file, the schema's default stateDir).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/load-config.ts";
import { ConfigSchema, DEFAULT_CONFIG_FILE } from "../config/schema.ts";
import { CONTROL_SOCKET_FILE_NAME } from "../control/control-protocol.ts";
import type { CliOptions } from "./parse-args.ts";

/** The schema's default stateDir: what the daemon uses when no config names one. */
export const DEFAULT_STATE_DIR = String((ConfigSchema.properties.stateDir as { readonly default?: unknown }).default);

export interface SocketLookup {
  /** The config read when --config is absent; tests point it into a temp dir. */
  readonly defaultConfigFile?: string;
}

export function resolveSocketPath(options: CliOptions, lookup: SocketLookup = {}): string {
  if (options.socket !== undefined) return options.socket;
  const file = options.config ?? lookup.defaultConfigFile ?? DEFAULT_CONFIG_FILE;
  if (options.config === undefined && !existsSync(file)) {
    return join(DEFAULT_STATE_DIR, CONTROL_SOCKET_FILE_NAME);
  }
  // Throws ConfigError naming the file and every problem: the daemon would refuse the same file.
  return join(loadConfig(file).config.stateDir, CONTROL_SOCKET_FILE_NAME);
}
