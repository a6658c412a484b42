#!/usr/bin/env node
// conclave-bmc-simulator: runs one simulated BMC and prints {"url": ...} as one JSON line on
// stdout once it listens, so a parent process can read where it is.
//   node packages/bmc-simulator/src/cli.ts --port 0 --name bmc1 [--mockup DIR] [--host 127.0.0.1]
import { parseArgs } from "node:util";
import { MockupError, SimulatorConfigError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import type { SimulatorOptions, TimingOptions } from "./options.ts";
import { startSimulator } from "./server.ts";

const USAGE = `usage: conclave-bmc-simulator [--port N] [--host ADDR] [--name NODE] [--mockup DIR]
  [--systems N] [--chassis N] [--serial SN]... [--bmc-version V] [--bios-version V]
  [--power-on-delay-ms N] [--power-off-delay-ms N] [--update-step-ms N]
  [--user NAME --password SECRET] [--log-level LEVEL]`;

class UsageError extends Error {}

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${value}".`);
  }
  return n;
}

function parse(argv: string[]): SimulatorOptions & { port: number; host: string } {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string", default: "0" },
        host: { type: "string", default: "127.0.0.1" },
        name: { type: "string", default: "bmc" },
        mockup: { type: "string" },
        systems: { type: "string" },
        chassis: { type: "string" },
        serial: { type: "string", multiple: true },
        "bmc-version": { type: "string" },
        "bios-version": { type: "string" },
        "power-on-delay-ms": { type: "string" },
        "power-off-delay-ms": { type: "string" },
        "update-step-ms": { type: "string" },
        user: { type: "string" },
        password: { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const text = (key: string): string | undefined => {
    const value = values[key];
    return typeof value === "string" ? value : undefined;
  };
  const logLevel = text("log-level") ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new UsageError(
      `--log-level must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}".`,
    );
  }
  if ((text("user") === undefined) !== (text("password") === undefined)) {
    throw new UsageError("--user and --password go together; give both or neither.");
  }
  const timing: Partial<TimingOptions> = {};
  const onDelay = integer("power-on-delay-ms", text("power-on-delay-ms"), 0, 600_000);
  const offDelay = integer("power-off-delay-ms", text("power-off-delay-ms"), 0, 600_000);
  const stepMs = integer("update-step-ms", text("update-step-ms"), 0, 600_000);
  if (onDelay !== undefined) timing.powerOnDelayMs = onDelay;
  if (offDelay !== undefined) timing.gracefulShutdownDelayMs = offDelay;
  if (stepMs !== undefined) timing.updateStepMs = stepMs;
  const generator: NonNullable<SimulatorOptions["generator"]> = { nodeName: text("name") ?? "bmc" };
  const systems = integer("systems", text("systems"), 1, 64);
  const chassis = integer("chassis", text("chassis"), 1, 64);
  if (systems !== undefined) generator.systemCount = systems;
  if (chassis !== undefined) generator.chassisCount = chassis;
  if (Array.isArray(values.serial)) generator.serialNumbers = values.serial;
  const bmcVersion = text("bmc-version");
  const biosVersion = text("bios-version");
  if (bmcVersion !== undefined) generator.bmcFirmwareVersion = bmcVersion;
  if (biosVersion !== undefined) generator.biosVersion = biosVersion;
  const user = text("user");
  const password = text("password");
  const mockup = text("mockup");
  return {
    port: integer("port", text("port"), 0, 65535) ?? 0,
    host: text("host") ?? "127.0.0.1",
    generator,
    timing,
    logLevel,
    ...(mockup !== undefined ? { mockupDir: mockup } : {}),
    ...(user !== undefined && password !== undefined
      ? { accounts: [{ userName: user, password, roleId: "Administrator" as const }] }
      : {}),
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`conclave-bmc-simulator: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  // Logs go to stderr: stdout carries only the one JSON line a parent process reads.
  const logger = createLogger(options.logLevel ?? "info", "bmc-simulator");
  let running: Awaited<ReturnType<typeof startSimulator>>;
  try {
    running = await startSimulator({ ...options, logger: logger });
  } catch (error) {
    if (error instanceof SimulatorConfigError || error instanceof MockupError) {
      process.stderr.write(`conclave-bmc-simulator: ${error.message}.\n`);
      process.exit(2);
    }
    throw error;
  }
  process.stdout.write(
    `${JSON.stringify({ url: running.url, port: running.port, name: options.generator?.nodeName })}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "close failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
