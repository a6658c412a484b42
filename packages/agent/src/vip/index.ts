// The VIP: claim and release in interface, loopback and none modes, and the supervisor's cleanup.
export {
  COMMAND_MAX_OUTPUT_BYTES,
  COMMAND_TIMEOUT_MS,
  type CommandResult,
  type CommandRunner,
  type CommandRunOptions,
  type ExecFileRunnerInit,
  execFileRunner,
} from "./command-runner.ts";
export {
  DEFAULT_CLEANUP_REASON,
  type ReleaseStaleVipOptions,
  type ReleaseStaleVipResult,
  releaseStaleVip,
  releaseStaleVipFromConfigFile,
} from "./release-stale-vip.ts";
export { serverListenerHook } from "./server-listener-hook.ts";
export {
  SHELL_QUEUE_MAX,
  type ShellCommandRunner,
  type ShellCommandRunnerInit,
  shellCommandRunner,
} from "./shell-command-runner.ts";
export {
  ANNOUNCE_BURST_COUNT,
  ANNOUNCE_BURST_INTERVAL_MS,
  ANNOUNCE_REFRESH_INTERVAL_MS,
  type AnnounceSchedule,
  createVipManager,
  DEFAULT_ANNOUNCE_SCHEDULE,
  IPV6_ALL_NODES,
  type VipListenerHook,
  type VipManager,
  type VipManagerInit,
  type VipStatus,
} from "./vip-manager.ts";
