// `conclave vip release`: the cleanup a supervisor runs after the agent is gone (the systemd unit's
// ExecStopPost), because a SIGKILLed agent cannot release its VIP itself and a living BMC must not
// keep answering ARP for it. Needs no daemon: it reads the config and removes the address.
// Idempotent: running it when nothing is held does nothing and says so.
import { loadConfig } from "../config/load-config.ts";
import type { ConclaveConfig, VipMode } from "../config/schema.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { CommandRunner } from "./command-runner.ts";
import { createVipManager } from "./vip-manager.ts";

export interface ReleaseStaleVipOptions {
  readonly runner?: CommandRunner;
  readonly logger?: AgentLogger;
  /** Logged with the release. */
  readonly reason?: string;
}

export interface ReleaseStaleVipResult {
  readonly mode: VipMode;
  readonly address: string | undefined;
  /** True when the VIP was on the interface and has been removed. */
  readonly removed: boolean;
  /** One sentence for the operator (the CLI prints it). */
  readonly message: string;
}

export const DEFAULT_CLEANUP_REASON = "cleanup after the agent stopped (conclave vip release)";

/** Removes this host's VIP as `config` describes it, whether or not an agent is running. */
export async function releaseStaleVip(
  config: Pick<ConclaveConfig, "vip" | "interface">,
  options: ReleaseStaleVipOptions = {},
): Promise<ReleaseStaleVipResult> {
  const { mode, address, prefix } = config.vip;
  const logger = options.logger ?? silentLogger;
  const reason = options.reason ?? DEFAULT_CLEANUP_REASON;
  if (mode === "none") {
    return { mode, address, removed: false, message: "vip.mode is none: there is no VIP to release" };
  }
  if (mode === "loopback") {
    // The loopback VIP is a listening socket, not an address: it died with the agent's process.
    return {
      mode,
      address,
      removed: false,
      message: `loopback VIP ${address}: nothing to release (the listener closes with the agent's process)`,
    };
  }
  const manager = createVipManager({
    mode,
    address,
    prefix,
    interface: config.interface,
    runner: options.runner,
    logger,
  });
  const removed = await manager.removeStaleVip(reason);
  return {
    mode,
    address,
    removed,
    message: removed
      ? `VIP ${address} removed from ${config.interface}`
      : `VIP ${address} was not on ${config.interface}: nothing to release`,
  };
}

/** Reads the config file (throws ConfigError) and releases the VIP it names. */
export async function releaseStaleVipFromConfigFile(
  configFile: string,
  options: ReleaseStaleVipOptions = {},
): Promise<ReleaseStaleVipResult> {
  const { config } = loadConfig(configFile);
  return releaseStaleVip(config, options);
}
