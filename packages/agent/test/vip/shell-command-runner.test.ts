// The long-lived shells that run the VIP's commands: output and exit status come back per command,
// words reach the command exactly as given, and a timeout, an abort, too much output or a dead
// shell fail one command without harming the next.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import {
  jobScript,
  SHELL_QUEUE_MAX,
  type ShellCommandRunner,
  shellCommandRunner,
  shellQuote,
} from "../../src/vip/shell-command-runner.ts";
import { followUpProbes, isRunning } from "./follow-up-probe.ts";

const runners: ShellCommandRunner[] = [];

function runner(init: Parameters<typeof shellCommandRunner>[0] = {}): ShellCommandRunner {
  const created = shellCommandRunner(init);
  runners.push(created);
  return created;
}

/** This process's live children that are shells (the runner's: vitest's own workers are node). */
function childShells(): number[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim();
  if (children === "") return [];
  return children.split(" ").map(Number).filter(isLiveShell);
}

function isLiveShell(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && /^(sh|dash|ash|bash)$/.test(readFileSync(`/proc/${pid}/comm`, "utf8").trim());
  } catch {
    return false; // exited and reaped
  }
}

/** Field 19 of /proc/PID/stat: the nice value. */
function niceFromStat(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

function niceOf(pid: number): number {
  return niceFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

const followUpProbe = followUpProbes();

afterEach(() => {
  for (const created of runners.splice(0)) created.close();
});

describe("shellQuote and jobScript", () => {
  it("single-quotes every word so the shell expands nothing", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(jobScript("ip", ["addr", "add", "10.0.0.1/24"])).toMatch(
      /^'ip' 'addr' 'add' '10\.0\.0\.1\/24' <\/dev\/null/,
    );
  });

  it("refuses a word with a NUL byte, which the protocol uses as an end marker", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("shellCommandRunner", () => {
  it("returns each command's stdout and stderr, with its words exactly as given", async () => {
    const shells = runner();
    const tricky = ["a b", "it's", "$(echo injected)", "`id`", "; echo no", "*", "line\nbreak"];
    for (const word of tricky) {
      const { stdout } = await shells.run("printf", ["%s", word]);
      expect(stdout).toBe(word);
    }
    const { stdout, stderr } = await shells.run("sh", ["-c", "echo out; echo err >&2"]);
    expect(stdout).toBe("out\n");
    expect(stderr).toBe("err\n");
  });

  it("fails a command that exits non-zero with its exit code and stderr, and runs the next one", async () => {
    const shells = runner();
    await expect(shells.run("sh", ["-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2"])).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
      exitCode: 2,
      stderr: "RTNETLINK answers: File exists\n",
    });
    expect((await shells.run("sh", ["-c", "echo again"])).stdout).toBe("again\n");
  });

  it("names a command that is not installed", async () => {
    await expect(runner().run("conclave-no-such-command", ["x"])).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_NOT_FOUND",
    });
  });

  it("kills a command past its deadline, and the same shell runs the next one", async () => {
    const shells = runner({ timeoutMs: 100 });
    const startedMs = Date.now();
    await expect(shells.run("sleep", ["30"])).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_TIMEOUT" });
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    expect((await shells.run("sleep", ["0"])).stdout).toBe("");
  });

  it("kills a command when its signal aborts, even before the shell reported its pid", async () => {
    const shells = runner();
    const early = new AbortController();
    const first = shells.run("sleep", ["30"], { signal: early.signal });
    early.abort();
    await expect(first).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_ABORTED" });
    const later = new AbortController();
    const second = shells.run("sleep", ["30"], { signal: later.signal });
    setTimeout(() => later.abort(), 100);
    await expect(second).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_ABORTED" });
    expect((await shells.run("sleep", ["0"])).stdout).toBe("");
  });

  it("stops a command whose output passes the bound", async () => {
    const shells = runner({ maxOutputBytes: 4096 });
    await expect(shells.run("yes", [])).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
      message: expect.stringMatching(/output too large/),
    });
    expect((await shells.run("printf", ["fits"])).stdout).toBe("fits");
  });

  it("runs commands of different names side by side: a long arping does not hold up ip", async () => {
    const shells = runner();
    const slow = shells.run("sleep", ["1"]);
    const fast = shells.run("printf", ["done"]);
    const first = await Promise.race([slow.then(() => "slow"), fast.then(() => "fast")]);
    expect(first).toBe("fast");
    await slow;
  });

  it("fails the command whose shell died, and starts a new shell for the next", async () => {
    const shells = runner();
    // `sh -c` runs as a child of the lane's shell: its parent is that shell.
    await expect(shells.run("sh", ["-c", "kill -9 $PPID; sleep 5"])).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
      message: expect.stringMatching(/shell exited/),
    });
    expect((await shells.run("sh", ["-c", "echo alive"])).stdout).toBe("alive\n");
  });

  it("fails every command when the shell cannot be started, whether spawn throws or reports it later", async () => {
    const throws = runner({ prefix: ["conclave\0bad"] });
    const missing = runner({ prefix: ["/nonexistent/conclave-no-such-prefix"] });
    for (const shells of [throws, missing]) {
      const runs = [shells.run("printf", ["a"]), shells.run("printf", ["b"])];
      for (const run of runs) await expect(run).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_FAILED" });
    }
  });

  it("prepare() starts one shell per command ahead of the first run; close() ends them", async () => {
    const before = new Set(childShells());
    const shells = runner();
    shells.prepare?.(["printf", "sleep", "printf"]);
    const started = childShells().filter((pid) => !before.has(pid));
    expect(started).toHaveLength(2);
    expect((await shells.run("printf", ["ready"])).stdout).toBe("ready");
    expect(childShells().filter((pid) => !before.has(pid))).toEqual(started);
    shells.close();
    for (let waited = 0; started.some(isLiveShell) && waited < 50; waited++) await sleep(20);
    expect(started.filter(isLiveShell)).toEqual([]);
  });

  it("setNice() moves the running shells, and the commands they start run at that value", async () => {
    const before = new Set(childShells());
    const shells = runner();
    shells.prepare?.(["cat"]);
    const [shell] = childShells().filter((pid) => !before.has(pid));
    if (shell === undefined) throw new Error("prepare() started no shell");
    // A weaker priority than this process's: lowering one's own priority needs no privilege.
    const nice = Math.min(niceOf(process.pid) + 3, 19);
    shells.setNice(nice);
    expect(niceOf(shell)).toBe(nice);
    const { stdout } = await shells.run("cat", ["/proc/self/stat"]);
    expect(niceFromStat(stdout)).toBe(nice);
    // The same shell: moved, not replaced.
    expect(childShells().filter((pid) => !before.has(pid))).toEqual([shell]);
  });

  it(`refuses more than ${SHELL_QUEUE_MAX} waiting commands, and close() aborts the rest`, async () => {
    const shells = runner();
    const running = shells.run("sleep", ["30"]);
    const queued = Array.from({ length: SHELL_QUEUE_MAX }, () => shells.run("sleep", ["30"]));
    await expect(shells.run("sleep", ["30"])).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
      message: expect.stringMatching(/already wait/),
    });
    shells.close();
    await expect(running).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_ABORTED" });
    for (const waiting of queued) await expect(waiting).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_ABORTED" });
    await expect(shells.run("sleep", ["0"])).rejects.toMatchObject({ code: "AGENT_ERR_COMMAND_ABORTED" });
  });

  it("starts a follow-up once the command exits 0, and answers without waiting for it", async () => {
    const shells = runner();
    const probe = followUpProbe();
    const { stdout } = await shells.run("echo", ["added"], { thenStart: probe.command });
    expect(stdout).toBe("added\n");
    const pid = await probe.started();
    // Still sleeping: the run answered while its follow-up went on.
    expect(isRunning(pid)).toBe(true);
    // And the shell is free for the next command at once.
    expect((await shells.run("echo", ["next"])).stdout).toBe("next\n");
  });

  it("does not start the follow-up when the command fails", async () => {
    const shells = runner();
    const probe = followUpProbe();
    await expect(shells.run("sh", ["-c", "exit 2"], { thenStart: probe.command })).rejects.toMatchObject({
      code: "AGENT_ERR_COMMAND_FAILED",
    });
    // The follow-up would have been started before the failure was reported; give a started one time to show.
    await shells.run("sleep", ["0.2"]);
    expect(probe.hasStarted).toBe(false);
  });
});
