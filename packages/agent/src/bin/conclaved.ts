#!/usr/bin/env node
// conclaved: the Conclave agent daemon. `conclaved --config /etc/conclave/conclave.yaml`.
// Exit codes: 0 stopped on SIGTERM/SIGINT, 1 failed while running (systemd restarts it),
// 2 cannot start with this configuration (config, node key, cluster secret, facade TLS pair). SIGHUP
// reads the facade's TLS certificate and key again.
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load-config.ts";
import { DEFAULT_CONFIG_FILE } from "../config/schema.ts";
import type { Daemon } from "../daemon/daemon.ts";
import { createRootLogger } from "../daemon/root-logger.ts";
import { AgentError, ClusterSecretError, ConfigError, NodeKeyError } from "../errors.ts";

const USAGE = "usage: conclaved [--config FILE]   (default FILE: /etc/conclave/conclave.yaml)";

function fail(message: string, code: number): never {
  process.stderr.write(`conclaved: ${message}\n`);
  process.exit(code);
}

let configFile = DEFAULT_CONFIG_FILE;
try {
  const { values } = parseArgs({
    options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  configFile = values.config ?? DEFAULT_CONFIG_FILE;
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`, 2);
}

let loaded: ReturnType<typeof loadConfig>;
try {
  loaded = loadConfig(configFile);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 2);
  throw error;
}

const logger = createRootLogger();
for (const warning of loaded.warnings) logger.warn({ component: "config", config: configFile }, warning);

const startAbort = new AbortController();
let daemon: Daemon | undefined;
let signalled = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (signalled) {
    logger.warn({ signal }, "second signal: exiting at once");
    process.exit(1);
  }
  signalled = true;
  if (daemon === undefined) {
    startAbort.abort(new Error(signal));
    return;
  }
  daemon.stop(signal).then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
// SIGHUP: the facade's TLS certificate and key are read again (Node's default would exit).
process.on("SIGHUP", () => {
  logger.info({ signal: "SIGHUP" }, "reloading the facade's TLS certificate");
  daemon?.reloadTls();
});

try {
  // Loaded once the config is known good: a bad config is reported without loading the daemon's
  // parts (the Redfish facade, libp2p), which takes seconds on a small BMC.
  const { startDaemon } = await import("../daemon/daemon.ts");
  // A signal that came while loading: nothing was started yet.
  startAbort.signal.throwIfAborted();
  daemon = await startDaemon({ config: loaded.config, configFile, logger, signal: startAbort.signal });
} catch (error) {
  if (startAbort.signal.aborted) {
    logger.info({}, "stopped before the cluster formed");
    process.exit(0);
  }
  // ConfigError here: a file the config names (the facade's TLS pair) does not load.
  const startUpError =
    error instanceof NodeKeyError || error instanceof ClusterSecretError || error instanceof ConfigError;
  logger.error({ err: error, code: error instanceof AgentError ? error.code : undefined }, "conclaved cannot start");
  fail(error instanceof Error ? error.message : String(error), startUpError ? 2 : 1);
}

/**
 * Bound on the shutdown after the Raft driver failed. The VIP goes first: exiting with a release
 * still in flight would leave this node answering ARP for the VIP while the next PoC claims it.
 */
const FAILURE_SHUTDOWN_TIMEOUT_MS = 5_000;

const running = daemon;
running.done.catch(async (error: unknown) => {
  logger.fatal({ err: error }, "the Raft driver stopped on an error: exiting (the supervisor restarts the agent)");
  setTimeout(() => process.exit(1), FAILURE_SHUTDOWN_TIMEOUT_MS).unref();
  await running.stop("the Raft driver failed").catch((stopError: unknown) => {
    logger.error({ err: stopError }, "shutdown after the Raft driver failed did not complete");
  });
  process.exit(1);
});
