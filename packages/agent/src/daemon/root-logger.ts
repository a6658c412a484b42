// The daemon's one root logger: pino JSON on stdout (journald keeps it), each component a child
// `{ component }`, and secrets redacted wherever they appear in a logged object.
import { pino } from "pino";

/** Keys whose values never reach a log line, at the top level and up to three levels down. */
export const REDACTED_KEYS: readonly string[] = Object.freeze([
  "password",
  "Password",
  "token",
  "authorization",
  "Authorization",
  '"x-auth-token"',
  '"X-Auth-Token"',
  "psk",
  "secret",
]);

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of REDACTED_KEYS) {
    const segment = key.startsWith('"') ? `[${key}]` : `.${key}`;
    paths.push(key.startsWith('"') ? `[${key}]` : key);
    paths.push(`*${segment}`, `*.*${segment}`, `*.*.*${segment}`);
  }
  return paths;
}

export type RootLogger = pino.Logger;

export interface RootLoggerInit {
  /** pino level; default `info`, or `CONCLAVE_LOG_LEVEL`. */
  readonly level?: string;
  /** Where lines go; default stdout. Tests pass a stream. */
  readonly destination?: pino.DestinationStream;
}

export function createRootLogger(init: RootLoggerInit = {}): RootLogger {
  const options: pino.LoggerOptions = {
    level: init.level ?? process.env.CONCLAVE_LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    redact: { paths: redactPaths(), censor: "[redacted]" },
    serializers: { err: pino.stdSerializers.err },
  };
  return init.destination === undefined ? pino(options) : pino(options, init.destination);
}
