import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentLogger } from "../../src/logger.ts";
import { DEFAULT_VOTER_NICE, VoterPriority } from "../../src/scheduling/voter-priority.ts";

function recordingLogger(): AgentLogger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_object: object, message?: string) => lines.push({ level, message: message ?? "" });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A thread whose nice value starts at `startNice`; `allowRaise: false` refuses what needs CAP_SYS_NICE. */
function fakeThread(startNice: number, allowRaise = true) {
  const thread = { nice: startNice, calls: [] as number[] };
  return {
    thread,
    getNice: () => thread.nice,
    setNice: (nice: number) => {
      thread.calls.push(nice);
      if (nice < thread.nice && !allowRaise) throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      thread.nice = nice;
    },
  };
}

describe("VoterPriority", () => {
  it("raises a voter's priority and gives it back when the node becomes a learner", () => {
    const { thread, getNice, setNice } = fakeThread(0);
    const priority = new VoterPriority({ voterNice: -10, logger: recordingLogger(), getNice, setNice });
    priority.update(true);
    expect(thread.nice).toBe(-10);
    priority.update(true); // no change, no call
    priority.update(false);
    expect(thread.nice).toBe(0);
    expect(thread.calls).toEqual([-10, 0]);
    expect(priority.nice).toBe(0);
  });

  it("raises the PoC above the voters while it leads, then gives it a voter's priority back", () => {
    const { thread, getNice, setNice } = fakeThread(0);
    const priority = new VoterPriority({ voterNice: -10, pocNice: -15, logger: recordingLogger(), getNice, setNice });
    priority.update(true);
    priority.setPoc(true);
    expect(thread.nice).toBe(-15);
    priority.update(true); // a membership change while leading keeps the PoC's priority
    expect(thread.nice).toBe(-15);
    priority.setPoc(false);
    expect(thread.nice).toBe(-10);
    priority.update(false);
    expect(thread.calls).toEqual([-10, -15, -10, 0]);
  });

  it("never gives the PoC a weaker priority than a voter's", () => {
    const { thread, getNice, setNice } = fakeThread(0);
    const priority = new VoterPriority({ voterNice: -10, pocNice: -5, logger: recordingLogger(), getNice, setNice });
    priority.update(true);
    priority.setPoc(true);
    expect(thread.calls).toEqual([-10]);
  });

  it("never makes a voter weaker than the priority the agent started with", () => {
    const { thread, getNice, setNice } = fakeThread(-15);
    const priority = new VoterPriority({ voterNice: -10, logger: recordingLogger(), getNice, setNice });
    priority.update(true);
    priority.update(false);
    expect(thread.calls).toEqual([]);
    expect(thread.nice).toBe(-15);
  });

  it("warns once when raising is refused, keeps running, and tries again on the next role change", () => {
    const { thread, getNice, setNice } = fakeThread(0, false);
    const logger = recordingLogger();
    const priority = new VoterPriority({ voterNice: -10, logger, getNice, setNice });
    priority.update(true);
    priority.update(false); // already at the starting priority: nothing to do
    priority.update(true);
    expect(thread.nice).toBe(0);
    expect(thread.calls).toEqual([-10, -10]);
    expect(logger.lines.filter((line) => line.level === "warn")).toHaveLength(1);
    expect(logger.lines[0]?.message).toMatch(/CAP_SYS_NICE/);
  });

  it("rejects a nice value Linux does not have, naming it", () => {
    const { getNice, setNice } = fakeThread(0);
    expect(() => new VoterPriority({ voterNice: -21, logger: recordingLogger(), getNice, setNice })).toThrow(/-21/);
    expect(() => new VoterPriority({ voterNice: 2.5, logger: recordingLogger(), getNice, setNice })).toThrow(/2\.5/);
    expect(
      () => new VoterPriority({ voterNice: -10, pocNice: 20, logger: recordingLogger(), getNice, setNice }),
    ).toThrow(/pocNice .* 20/);
  });

  // The real system calls, in a child process so this worker's own priority is left alone.
  it.runIf(process.getuid?.() === 0)("sets every thread's nice value on Linux, a worker's too (as root)", () => {
    const script = `
      import { getPriority } from "node:os";
      import { once } from "node:events";
      import { Worker } from "node:worker_threads";
      import { VoterPriority } from ${JSON.stringify(resolve(import.meta.dirname, "../../src/scheduling/voter-priority.ts"))};
      // A worker started before the change, like the lease guard's: it reports its own nice value when asked.
      const worker = new Worker('const { parentPort } = process.getBuiltinModule("node:worker_threads"); const { getPriority } = process.getBuiltinModule("node:os"); parentPort.on("message", () => parentPort.postMessage(getPriority()));', { eval: true });
      const workerNice = async () => { worker.postMessage("nice?"); return (await once(worker, "message"))[0]; };
      await workerNice();
      const start = getPriority();
      const priority = new VoterPriority({ voterNice: ${DEFAULT_VOTER_NICE}, logger: { debug() {}, info() {}, warn() {}, error() {} } });
      priority.update(true);
      const asVoter = [getPriority(), await workerNice()];
      priority.update(false);
      const asLearner = [getPriority(), await workerNice()];
      await worker.terminate();
      console.log(JSON.stringify({ start, asVoter, asLearner }));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "--eval", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.stderr).toBe("");
    const { start, asVoter, asLearner } = JSON.parse(run.stdout) as {
      start: number;
      asVoter: number[];
      asLearner: number[];
    };
    const voterNice = Math.min(DEFAULT_VOTER_NICE, start);
    expect(asVoter).toEqual([voterNice, voterNice]);
    expect(asLearner).toEqual([start, start]);
  });
});
