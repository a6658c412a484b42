// One child process of the rack (a simulator, an agent, a CLI run), started through a launcher such
// as `ip netns exec NS` (which execs, so the pid is the program's own), with its output appended to
// a log file.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

export class RackProcess {
  readonly logFile: string;
  private readonly command: readonly string[];
  private readonly env: NodeJS.ProcessEnv;
  child: ChildProcess | undefined;
  exit: Promise<number | null> | undefined;

  constructor(command: readonly string[], logFile: string, env: NodeJS.ProcessEnv = {}) {
    this.command = command;
    this.logFile = logFile;
    this.env = env;
  }

  start(): void {
    if (this.running) throw new Error(`${this.command.join(" ")} is already running`);
    const child = spawn(this.command[0] as string, this.command.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...this.env },
    });
    const append = (chunk: Buffer) => writeFileSync(this.logFile, chunk, { flag: "a" });
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.child = child;
    this.exit = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal`; for SIGKILL/SIGTERM waits for the exit (bounded by `waitMs`, then SIGKILL). */
  async kill(signal: NodeJS.Signals, waitMs = 10_000): Promise<number | null> {
    if (!this.running) return this.child?.exitCode ?? null;
    this.child?.kill(signal);
    if (signal === "SIGSTOP" || signal === "SIGCONT") return null;
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), waitMs);
    try {
      return await (this.exit as Promise<number | null>);
    } finally {
      clearTimeout(timer);
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  tail(lines: number): string {
    return this.log().split("\n").slice(-lines).join("\n");
  }
}
