// The logging surface the agent's components need: a subset of pino's, so the daemon passes
// `rootLogger.child({ component })` and tests pass nothing.

export interface AgentLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const ignore = (): void => {};

export const silentLogger: AgentLogger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });
