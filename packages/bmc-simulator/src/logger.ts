// The one root logger: passwords, tokens and authorization headers never reach the log.
// It writes to stderr, so a CLI's stdout carries only what a parent process reads.
import { type Logger, pino } from "pino";

export const REDACT_PATHS = [
  "req.headers.authorization",
  'req.headers["x-auth-token"]',
  'res.headers["x-auth-token"]',
  "password",
  "Password",
  "token",
  "*.password",
  "*.Password",
  "*.token",
  "*.authorization",
];

export function createLogger(level: string, name: string, fd = 2): Logger {
  return pino(
    { name, level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    pino.destination({ fd, sync: false }),
  );
}
