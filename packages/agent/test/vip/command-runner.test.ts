// execFileRunner's follow-up (thenStart): started once the command exits 0, never waited for, and
// not started when the command fails. The rest of execFileRunner is exercised in vip-netns.test.ts.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { execFileRunner } from "../../src/vip/command-runner.ts";
import { followUpProbes, isRunning } from "./follow-up-probe.ts";

const followUpProbe = followUpProbes();

describe("execFileRunner follow-up", () => {
  it("starts it once the command exits 0, and answers without waiting for it", async () => {
    const probe = followUpProbe();
    const { stdout } = await execFileRunner().run("echo", ["added"], { thenStart: probe.command });
    expect(stdout).toBe("added\n");
    expect(isRunning(await probe.started())).toBe(true);
  });

  it("does not start it when the command fails", async () => {
    const probe = followUpProbe();
    await expect(execFileRunner().run("sh", ["-c", "exit 2"], { thenStart: probe.command })).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
    });
    await sleep(200);
    expect(probe.hasStarted).toBe(false);
  });
});
