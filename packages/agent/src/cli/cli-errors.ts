// Errors of the `conclave` CLI. Each has a stable `code` and the exit code it ends the process with:
// 2 for a command line that cannot be run as written, 1 for everything that went wrong after that.

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export type CliExitCode = typeof EXIT_FAILED | typeof EXIT_USAGE;

export class CliError extends Error {
  /** A stable AGENT_ERR_* code; for ControlRequestError, the daemon's own code. */
  readonly code: string;
  readonly exitCode: CliExitCode;

  constructor(code: string, message: string, exitCode: CliExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Unknown command or option, missing or malformed argument. */
export class UsageError extends CliError {
  constructor(message: string) {
    super("AGENT_ERR_CLI_USAGE", message, EXIT_USAGE);
  }
}

/** Nothing listens on the control socket (missing file, refused connection) or we may not open it. */
export class DaemonUnreachableError extends CliError {
  readonly socketPath: string;

  constructor(socketPath: string, message: string, options?: ErrorOptions) {
    super("AGENT_ERR_CONTROL_UNREACHABLE", message, EXIT_FAILED, options);
    this.socketPath = socketPath;
  }
}

/** The daemon did not answer within the deadline. */
export class ControlTimeoutError extends CliError {
  readonly timeoutMs: number;

  constructor(socketPath: string, timeoutMs: number) {
    super(
      "AGENT_ERR_CONTROL_TIMEOUT",
      `the daemon at ${socketPath} did not answer within ${timeoutMs} ms (--timeout sets how long to wait)`,
      EXIT_FAILED,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** The answer broke the control protocol: not JSON, too large, a non-2xx without an error body, another API version. */
export class ControlProtocolError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_CONTROL_PROTOCOL", message, EXIT_FAILED, options);
  }
}

/** The daemon answered with a ControlErrorBody: `code` is its AGENT_ERR_* code, `status` the HTTP status. */
export class ControlRequestError extends CliError {
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(code, message, EXIT_FAILED);
    this.status = status;
  }
}
