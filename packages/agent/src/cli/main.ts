// The `conclave` CLI as a function: argv in, text out, an exit code back (0 ok, 1 failed, 2 usage).
// src/bin/conclave.ts wires it to the process; tests call it directly.
import { DEFAULT_CONFIG_FILE } from "../config/schema.ts";
import { AgentError, ConfigError } from "../errors.ts";
import type { CommandRunner } from "../vip/command-runner.ts";
import type { CliContext, CliOutput } from "./cli-context.ts";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./cli-errors.ts";
import { type CommandName, commandHelp, generalHelp } from "./command-specs.ts";
import { type ControlClient, createControlClient } from "./control-client.ts";
import { resolveSocketPath } from "./daemon-connection.ts";
import { runInit } from "./init-command.ts";
import { runStepDown, runTransferLeadership } from "./leadership-commands.ts";
import { runDrain, runRemove, runUndrain } from "./membership-commands.ts";
import { parseCommandLine } from "./parse-args.ts";
import { runHistory, runMembers, runStatus } from "./read-commands.ts";
import { runRecover } from "./recover-command.ts";
import { cliVersion } from "./version.ts";
import { runVipRelease } from "./vip-command.ts";

export interface CliEnvironment {
  readonly stdout: CliOutput & { readonly isTTY?: boolean };
  readonly stderr: CliOutput;
  /** Consulted for NO_COLOR and TERM. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Read when --config is absent (default /etc/conclave/conclave.yaml). */
  readonly defaultConfigFile?: string;
  readonly vipRunner?: CommandRunner;
}

const COMMANDS: Readonly<Record<CommandName, (context: CliContext) => Promise<void>>> = {
  init: runInit,
  status: runStatus,
  members: runMembers,
  history: runHistory,
  "transfer-leadership": runTransferLeadership,
  "step-down": runStepDown,
  drain: runDrain,
  undrain: runUndrain,
  remove: runRemove,
  recover: runRecover,
  "vip release": runVipRelease,
};

export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const { stdout, stderr } = environment;
  try {
    const line = parseCommandLine(argv);
    if (line.kind === "version") {
      stdout.write(`${cliVersion()}\n`);
      return EXIT_OK;
    }
    if (line.kind === "help") {
      stdout.write(line.command === undefined ? generalHelp() : commandHelp(line.command));
      return EXIT_OK;
    }
    const { options } = line;
    const defaultConfigFile = environment.defaultConfigFile ?? DEFAULT_CONFIG_FILE;
    let socketPath: string | undefined;
    const context: CliContext = {
      args: line.args,
      options,
      stdout,
      stderr,
      style: { color: useColor(environment) },
      defaultConfigFile,
      vipRunner: environment.vipRunner,
      daemon: (defaultTimeoutMs): ControlClient => {
        // Resolved once: a command that makes two requests reads the config once.
        socketPath ??= resolveSocketPath(options, { defaultConfigFile });
        return createControlClient({ socketPath, timeoutMs: options.timeoutMs ?? defaultTimeoutMs });
      },
    };
    await COMMANDS[line.command](context);
    return EXIT_OK;
  } catch (err) {
    return reportError(err, stderr);
  }
}

function reportError(err: unknown, stderr: CliOutput): number {
  if (err instanceof CliError) {
    stderr.write(`conclave: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    // One line per problem, each naming the file.
    for (const problem of err.message.split("\n")) stderr.write(`conclave: ${problem}\n`);
    return EXIT_FAILED;
  }
  if (err instanceof AgentError) {
    stderr.write(`conclave: ${err.message}\n`);
    return EXIT_FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`conclave: unexpected error: ${message}\n`);
  return EXIT_FAILED;
}

/** Colour only on a terminal, and never when NO_COLOR is set or TERM is dumb (https://no-color.org). */
function useColor(environment: CliEnvironment): boolean {
  const env = environment.env ?? {};
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return environment.stdout.isTTY === true;
}

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE };
