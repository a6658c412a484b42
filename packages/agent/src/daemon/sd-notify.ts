// sd_notify(3) without a native addon. Node cannot send on a unix datagram socket, so the
// messages go through `systemd-notify` (systemd's own tool). Its messages come from a child
// process, so the unit needs `NotifyAccess=all` (deploy/ sets it). Without NOTIFY_SOCKET, or
// without the tool, notifications are skipped (logged once).
import { execFile } from "node:child_process";
import { type AgentLogger, silentLogger } from "../logger.ts";

/** Bound on one systemd-notify run. */
export const SD_NOTIFY_TIMEOUT_MS = 2_000;

export interface SdNotifier {
  readonly enabled: boolean;
  /** Half of WATCHDOG_USEC, when systemd asked for watchdog pings for this process. */
  readonly watchdogIntervalMs: number | undefined;
  notify(state: string): void;
}

export function createSdNotifier(env: NodeJS.ProcessEnv = process.env, logger: AgentLogger = silentLogger): SdNotifier {
  const socket = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined ? process.pid : Number(env.WATCHDOG_PID);
  const watchdogIntervalMs =
    Number.isFinite(watchdogUsec) && watchdogUsec > 0 && watchdogPid === process.pid
      ? Math.max(1, Math.floor(watchdogUsec / 2_000))
      : undefined;
  let available = socket !== undefined && socket !== "";
  return {
    enabled: available,
    watchdogIntervalMs: available ? watchdogIntervalMs : undefined,
    notify(state: string) {
      if (!available) return;
      execFile("systemd-notify", [`--pid=${process.pid}`, state], { timeout: SD_NOTIFY_TIMEOUT_MS }, (error) => {
        if (error === null) return;
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          available = false;
          logger.warn({}, "NOTIFY_SOCKET is set but systemd-notify is not installed: sd_notify is skipped");
          return;
        }
        logger.warn({ err: error, state }, "systemd-notify failed");
      });
    },
  };
}
