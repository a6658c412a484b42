// `conclave recover [--force]`: the documented way out of a quorum lost for good. Without --force
// it only says what it would do and what that costs; with --force it makes this node the only
// voter (see raft-driver/forced-recovery.ts). The daemon must be stopped: the command refuses
// while the control socket answers, so it can never write under a running Raft loop.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FileStorage } from "@conclave/consensus";
import { loadConfig } from "../config/load-config.ts";
import { loadOrCreateNodeKey, NODE_KEY_FILE_NAME } from "../identity/node-key.ts";
import { applyForcedRecovery, type ForcedRecoveryPlan, planForcedRecovery } from "../raft-driver/forced-recovery.ts";
import type { CliContext } from "./cli-context.ts";
import { CliError, EXIT_FAILED } from "./cli-errors.ts";
import { renderJson } from "./render.ts";

/** How long the check that no daemon runs waits for the control socket. */
const DAEMON_CHECK_TIMEOUT_MS = 1_000;

function consequence(plan: ForcedRecoveryPlan): string {
  const lines = [
    `This node (${plan.selfId}) becomes the only voter of its cluster.`,
    plan.removed.length === 0
      ? "No other member is in its configuration."
      : `Removed from the cluster: ${plan.removed.join(", ")}.`,
    plan.uncommittedEntries > 0
      ? `${plan.uncommittedEntries} log entries this node holds but a quorum never acknowledged become committed.`
      : "Every entry this node holds was already committed.",
    "Entries only the removed members held are lost. Before a removed BMC runs conclaved again, wipe its state",
    "directory: it then joins as a new member. Never run this on two survivors of the same cluster.",
  ];
  return lines.join("\n");
}

export async function runRecover(context: CliContext): Promise<void> {
  const configFile = context.options.config ?? context.defaultConfigFile;
  const { config } = loadConfig(configFile);
  const daemon = context.daemon(DAEMON_CHECK_TIMEOUT_MS);
  const running = await daemon.status().then(
    () => true,
    () => false,
  );
  if (running) {
    throw new CliError(
      "AGENT_ERR_DAEMON_RUNNING",
      `conclaved is running (${daemon.socketPath} answers): stop it first (systemctl stop conclaved)`,
      EXIT_FAILED,
    );
  }
  if (!existsSync(join(config.stateDir, NODE_KEY_FILE_NAME))) {
    throw new CliError(
      "AGENT_ERR_FORCED_RECOVERY",
      `no node key in ${config.stateDir}: this BMC never ran conclaved with this config, there is nothing to recover`,
      EXIT_FAILED,
    );
  }
  const identity = await loadOrCreateNodeKey(config.stateDir);
  const storage = FileStorage.open({ dir: join(config.stateDir, "raft") });
  try {
    const plan = planForcedRecovery(storage, identity.nodeId);
    if (context.options.force !== true) {
      throw new CliError(
        "AGENT_ERR_FORCE_REQUIRED",
        `${consequence(plan)}\nNothing was changed. Run again with --force to do it.`,
        EXIT_FAILED,
      );
    }
    applyForcedRecovery(storage, plan);
    const summary = {
      recovered: true,
      nodeId: plan.selfId,
      removed: plan.removed,
      committedByForce: plan.uncommittedEntries,
    };
    context.stdout.write(
      context.options.json
        ? renderJson(summary)
        : `${consequence(plan)}\nDone: start conclaved on this BMC; it leads alone until others join.\n`,
    );
  } finally {
    storage.close();
  }
}
