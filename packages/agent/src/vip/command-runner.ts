// The one door to external commands (ip, arping, na6): execFile with no shell, a timeout and
// bounded output, failures turned into AGENT_ERR_COMMAND_* errors. Unit tests pass a fake.
import { execFile, spawn } from "node:child_process";
import { CommandAbortedError, CommandFailedError, CommandNotFoundError, CommandTimeoutError } from "../errors.ts";

/** How long one command may run before it is killed. `ip` answers in milliseconds; arping -c 1 in one send. */
export const COMMAND_TIMEOUT_MS = 5_000;
/** Output kept from one command (stdout and stderr each); anything beyond is an error, not a hang. */
export const COMMAND_MAX_OUTPUT_BYTES = 256 * 1024;

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunOptions {
  readonly timeoutMs?: number;
  /** Aborting kills the command (SIGKILL) and rejects with CommandAbortedError. */
  readonly signal?: AbortSignal;
  /**
   * Started in the background as soon as the command exits 0, by whatever ran it: not waited for,
   * its output and its outcome discarded. A new PoC's first gratuitous ARP follows its
   * `ip addr add` this way, at once, not after the agent's own loop (busy at that very moment)
   * has heard that the add succeeded.
   */
  readonly thenStart?: FollowUpCommand;
}

export interface FollowUpCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface CommandRunner {
  /**
   * Runs `command` with `args`. Resolves on exit code 0; rejects with CommandFailedError (non-zero
   * exit, the stderr kept), CommandTimeoutError or CommandNotFoundError.
   */
  run(command: string, args: readonly string[], options?: CommandRunOptions): Promise<CommandResult>;
  /** Gets ready to run these commands at once when asked (a runner with nothing to prepare may omit it). */
  prepare?(commands: readonly string[]): void;
  /**
   * Moves the processes this runner keeps between commands (long-lived shells) to this nice value;
   * the commands they start inherit it (a runner that keeps none may omit it).
   */
  setNice?(nice: number): void;
}

export interface ExecFileRunnerInit {
  /**
   * Words put before every command, e.g. `["ip", "netns", "exec", "ns1"]` to run everything in a
   * network namespace (the namespace tests do this).
   */
  readonly prefix?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
}

/** Where each command comes from, for the error that says it is missing. */
export const INSTALL_HINTS: Readonly<Record<string, string>> = {
  ip: "Debian package iproute2",
  arping: "Debian package iputils-arping",
  na6: "Debian package ipv6toolkit",
};

export function execFileRunner(init: ExecFileRunnerInit = {}): CommandRunner {
  const prefix = init.prefix ?? [];
  const defaultTimeoutMs = init.timeoutMs ?? COMMAND_TIMEOUT_MS;
  const maxBuffer = init.maxOutputBytes ?? COMMAND_MAX_OUTPUT_BYTES;
  return {
    run(command, args, options = {}) {
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      const [file, ...fileArgs] = [...prefix, command, ...args] as [string, ...string[]];
      return new Promise((resolve, reject) => {
        execFile(
          file,
          fileArgs,
          {
            timeout: timeoutMs,
            maxBuffer,
            encoding: "utf8",
            killSignal: "SIGKILL",
            windowsHide: true,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          },
          (error, stdout, stderr) => {
            if (error === null) {
              if (options.thenStart !== undefined) startFollowUp(prefix, options.thenStart);
              resolve({ stdout, stderr });
              return;
            }
            const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
            if (failure.name === "AbortError" || options.signal?.aborted === true) {
              reject(new CommandAbortedError(command, args));
            } else if (failure.code === "ENOENT") {
              reject(new CommandNotFoundError(file, INSTALL_HINTS[file] ?? "install it"));
            } else if (failure.killed === true && failure.code !== "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") {
              reject(new CommandTimeoutError(command, args, timeoutMs));
            } else {
              const exitCode = typeof failure.code === "number" ? failure.code : undefined;
              const detail =
                failure.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" ? `${stderr}\noutput too large` : stderr;
              // A missing command behind a prefix (ip netns exec NS arping) shows up as exit 255 and this message.
              if (prefix.length > 0 && /No such file or directory/.test(stderr) && stderr.includes(command)) {
                reject(new CommandNotFoundError(command, INSTALL_HINTS[command] ?? "install it"));
                return;
              }
              reject(new CommandFailedError(command, args, exitCode, detail));
            }
          },
        );
      });
    },
  };
}

/** Starts `followUp` detached from the agent's stdio and lifetime; a failure to start is ignored (see thenStart). */
function startFollowUp(prefix: readonly string[], followUp: FollowUpCommand): void {
  const [file, ...fileArgs] = [...prefix, followUp.command, ...followUp.args] as [string, ...string[]];
  try {
    const child = spawn(file, fileArgs, { stdio: "ignore", windowsHide: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // Not started: the caller's own schedule covers it (thenStart is an early extra, never the only one).
  }
}
