// A follow-up command (CommandRunOptions.thenStart) that leaves a trace: it writes its pid to a
// file, then sleeps, so a test can see that it started and that the run did not wait for its end.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach } from "vitest";
import type { FollowUpCommand } from "../../src/vip/command-runner.ts";

/** How long a follow-up may take to write its pid on a loaded machine. */
const FOLLOW_UP_START_TIMEOUT_MS = 10_000;
const POLL_MS = 10;
/** How long the follow-up sleeps: far longer than any run it follows. */
const FOLLOW_UP_SLEEP_S = 30;

export class FollowUpProbe {
  private readonly dir = mkdtempSync(join(tmpdir(), "conclave-follow-up-"));
  private readonly pidFile = join(this.dir, "pid");
  private pid: number | undefined;

  readonly command: FollowUpCommand = {
    command: "sh",
    args: [
      "-c",
      `echo $$ > '${this.pidFile}.tmp' && mv '${this.pidFile}.tmp' '${this.pidFile}' && exec sleep ${FOLLOW_UP_SLEEP_S}`,
    ],
  };

  /** The follow-up's pid once it has started; throws after FOLLOW_UP_START_TIMEOUT_MS. */
  async started(): Promise<number> {
    for (let waited = 0; waited < FOLLOW_UP_START_TIMEOUT_MS; waited += POLL_MS) {
      if (existsSync(this.pidFile)) {
        this.pid = Number(readFileSync(this.pidFile, "utf8").trim());
        return this.pid;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`the follow-up did not start within ${FOLLOW_UP_START_TIMEOUT_MS} ms`);
  }

  /** Whether it has started by now (no waiting). */
  get hasStarted(): boolean {
    return existsSync(this.pidFile);
  }

  /** Ends the follow-up if it runs, and removes the temp dir. */
  cleanUp(): void {
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True while `pid` runs (a zombie counts as ended). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** A maker of probes for one test file: every probe it made is cleaned up after each test. */
export function followUpProbes(): () => FollowUpProbe {
  const made: FollowUpProbe[] = [];
  afterEach(() => {
    for (const probe of made.splice(0)) probe.cleanUp();
  });
  return () => {
    const probe = new FollowUpProbe();
    made.push(probe);
    return probe;
  };
}
