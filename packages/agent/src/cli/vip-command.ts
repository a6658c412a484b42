// `conclave vip release`: removes this host's VIP without the daemon (the unit's ExecStopPost).
import { releaseStaleVipFromConfigFile } from "../vip/release-stale-vip.ts";
import type { CliContext } from "./cli-context.ts";
import { renderJson } from "./render.ts";

export async function runVipRelease(context: CliContext): Promise<void> {
  const result = await releaseStaleVipFromConfigFile(context.options.config ?? context.defaultConfigFile, {
    runner: context.vipRunner,
  });
  context.stdout.write(context.options.json ? renderJson(result) : `${result.message}\n`);
}
