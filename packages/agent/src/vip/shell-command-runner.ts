// A CommandRunner that forks nothing from the agent: one long-lived `/bin/sh` per command name
// (one for `ip`, one for `arping`...) runs each command it is sent. Forking the agent itself costs
// about 7 ms of its CPU per command (a fork of a process with a 100 MB heap), against 0.3 ms for a
// line written to a shell, and a new PoC runs `ip addr add` and `arping` at the very moment the
// console waits for it. One shell per command name keeps a one-second `arping` from delaying an
// `ip addr del` behind it. `prepare()` starts the shells ahead of the first claim.
//
// The protocol, per command (the shell runs one at a time; see `jobScript`):
//   the command runs in the background with stdin from /dev/null, its stdout and stderr on the
//   shell's; the shell writes `pid N` on fd 3 (so a timeout or an abort can kill it), waits for it,
//   then writes a NUL byte on stdout and on stderr (the end of the command's output: ip, arping and
//   na6 never print one) and `exit S` on fd 3. A job is done once all three have arrived. A job
//   with a follow-up (`thenStart`) has the shell start it in the background when the command exits
//   0, before any of that: its output goes to /dev/null and nobody waits for it.
//
// A shell keeps the nice value of the thread that started it, and so does every command it runs:
// `setNice()` moves the shells when the agent's own priority changes (a learner that becomes a
// voter, voter-priority.ts), or its `ip addr add` would wait for CPU behind every learner's loop.
import { type ChildProcess, spawn } from "node:child_process";
import { setPriority } from "node:os";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { CommandAbortedError, CommandFailedError, CommandNotFoundError, CommandTimeoutError } from "../errors.ts";
import {
  COMMAND_MAX_OUTPUT_BYTES,
  COMMAND_TIMEOUT_MS,
  type CommandResult,
  type CommandRunner,
  type CommandRunOptions,
  type FollowUpCommand,
  INSTALL_HINTS,
} from "./command-runner.ts";

/** Commands waiting for one shell. The VIP manager has at most a few in flight; more is a bug or a stall. */
export const SHELL_QUEUE_MAX = 32;
/** What the shell runs: POSIX sh is on every BMC image (dash here, busybox ash on OpenBMC). */
export const SHELL_PATH = "/bin/sh";
/** The exit status sh gives a command it cannot find. */
const EXIT_NOT_FOUND = 127;
const END_OF_OUTPUT = 0;

export interface ShellCommandRunnerInit {
  /** Words put before the shell, e.g. `["ip", "netns", "exec", "ns1"]`: every command then runs in that namespace. */
  readonly prefix?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxOutputBytes?: number;
}

export interface ShellCommandRunner extends CommandRunner {
  /** Moves every shell running now to this nice value (a shell started later gets the agent's). */
  setNice(nice: number): void;
  /** Ends every shell; commands still queued reject with CommandAbortedError. */
  close(): void;
}

/** One word for sh: single-quoted, with each `'` closed, escaped and reopened. */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new RangeError(`a command word cannot contain a NUL byte: ${JSON.stringify(word)}`);
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The line sent to the shell for one command (see the protocol above). */
export function jobScript(command: string, args: readonly string[], thenStart?: FollowUpCommand): string {
  const words = [command, ...args].map(shellQuote).join(" ");
  const followUp =
    thenStart === undefined
      ? ""
      : ` [ "$s" -eq 0 ] && { ${[thenStart.command, ...thenStart.args].map(shellQuote).join(" ")} </dev/null >/dev/null 2>&1 3>&- & };`;
  return `${words} </dev/null 3>&- & echo "pid $!" >&3; wait $!; s=$?;${followUp} printf '\\000'; printf '\\000' >&2; echo "exit $s" >&3\n`;
}

interface Job {
  readonly command: string;
  readonly args: readonly string[];
  readonly options: CommandRunOptions;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
}

interface RunningJob {
  readonly job: Job;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  outputBytes: number;
  pid: number | undefined;
  exitStatus: number | undefined;
  stdoutEnded: boolean;
  stderrEnded: boolean;
  /** Why the command was killed, if it was. */
  stoppedFor: "timeout" | "abort" | "output" | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
}

/** One shell and the commands queued for it. */
class ShellLane {
  private shell: ChildProcess | undefined;
  private readonly queue: Job[] = [];
  private running: RunningJob | undefined;
  private closed = false;
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;

  constructor(prefix: readonly string[], timeoutMs: number, maxOutputBytes: number) {
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.maxOutputBytes = maxOutputBytes;
  }

  submit(job: Job): void {
    if (this.closed) {
      job.reject(new CommandAbortedError(job.command, job.args));
      return;
    }
    if (job.options.signal?.aborted === true) {
      job.reject(new CommandAbortedError(job.command, job.args));
      return;
    }
    if (this.queue.length >= SHELL_QUEUE_MAX) {
      job.reject(
        new CommandFailedError(
          job.command,
          job.args,
          undefined,
          `${SHELL_QUEUE_MAX} commands already wait for this shell`,
        ),
      );
      return;
    }
    this.queue.push(job);
    this.next();
  }

  /** Starts the shell now, so that the first command does not wait for it. */
  warm(): void {
    if (!this.closed && this.shell === undefined) this.startShell();
  }

  /** Sets the shell's nice value (the commands it starts inherit it); a shell not started yet gets the agent's. */
  setNice(nice: number): void {
    const pid = this.shell?.pid;
    if (pid === undefined) return;
    try {
      setPriority(pid, nice);
    } catch (error) {
      // A shell that ended meanwhile: the next command starts another, with the agent's value.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new CommandAbortedError(job.command, job.args));
    const running = this.running;
    if (running !== undefined) {
      this.settle(running);
      running.job.reject(new CommandAbortedError(running.job.command, running.job.args));
    }
    const shell = this.shell;
    this.shell = undefined;
    if (shell?.pid === undefined) return;
    shell.stdin?.end();
    // The shell leads its own process group (see startShell): this ends it and a command it runs.
    try {
      process.kill(-shell.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  private next(): void {
    if (this.running !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    if (job.options.signal?.aborted === true) {
      job.reject(new CommandAbortedError(job.command, job.args));
      this.next();
      return;
    }
    const shell = this.shell ?? this.startShell();
    if (shell instanceof Error) {
      // spawn threw: this command and the queue behind it fail alike.
      for (const failed of [job, ...this.queue.splice(0)]) {
        failed.reject(new CommandFailedError(failed.command, failed.args, undefined, shell.message));
      }
      return;
    }
    const running: RunningJob = {
      job,
      stdout: [],
      stderr: [],
      outputBytes: 0,
      pid: undefined,
      exitStatus: undefined,
      stdoutEnded: false,
      stderrEnded: false,
      stoppedFor: undefined,
      timer: undefined,
      onAbort: undefined,
    };
    this.running = running;
    const timeoutMs = job.options.timeoutMs ?? this.timeoutMs;
    running.timer = setTimeout(() => this.stop(running, "timeout"), timeoutMs);
    const signal = job.options.signal;
    if (signal !== undefined) {
      running.onAbort = () => this.stop(running, "abort");
      signal.addEventListener("abort", running.onAbort, { once: true });
    }
    shell.stdin?.write(jobScript(job.command, job.args, job.options.thenStart));
  }

  /** The new shell, or why it could not be started (a spawn that fails later reports through shellGone). */
  private startShell(): ChildProcess | Error {
    const [file = SHELL_PATH, ...args] = [...this.prefix, SHELL_PATH];
    let shell: ChildProcess;
    try {
      // detached: the shell leads a process group, so close() can end it with whatever it runs.
      shell = spawn(file, args, { stdio: ["pipe", "pipe", "pipe", "pipe"], detached: true, windowsHide: true });
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    this.shell = shell;
    // The shell must not keep the agent alive on its own: a job's timer does while one runs.
    shell.unref();
    const control = shell.stdio[3] as Readable;
    for (const stream of [shell.stdin, shell.stdout, shell.stderr, control]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
    shell.stdout?.on("data", (chunk: Buffer) => this.output(shell, chunk, "stdout"));
    shell.stderr?.on("data", (chunk: Buffer) => this.output(shell, chunk, "stderr"));
    createInterface({ input: control }).on("line", (line) => this.controlLine(shell, line));
    shell.stdin?.on("error", () => undefined); // a dead shell's EPIPE; its exit is handled below
    shell.on("error", (err) => this.shellGone(shell, err.message));
    shell.on("exit", (code, signal) => this.shellGone(shell, `the command shell exited (${signal ?? `code ${code}`})`));
    return shell;
  }

  private output(shell: ChildProcess, chunk: Buffer, stream: "stdout" | "stderr"): void {
    const running = this.running;
    if (shell !== this.shell || running === undefined) return;
    const end = chunk.indexOf(END_OF_OUTPUT);
    const part = end === -1 ? chunk : chunk.subarray(0, end);
    if (running.stoppedFor !== "output") {
      running.outputBytes += part.length;
      if (running.outputBytes > this.maxOutputBytes) this.stop(running, "output");
      else (stream === "stdout" ? running.stdout : running.stderr).push(Buffer.from(part));
    }
    if (end !== -1) {
      if (stream === "stdout") running.stdoutEnded = true;
      else running.stderrEnded = true;
      this.finishIfDone(running);
    }
  }

  private controlLine(shell: ChildProcess, line: string): void {
    const running = this.running;
    if (shell !== this.shell || running === undefined) return;
    const [word, value] = line.split(" ");
    const number = Number(value);
    if (word === "pid" && Number.isInteger(number)) {
      running.pid = number;
      // A stop asked for before the pid was known takes effect now.
      if (running.stoppedFor !== undefined) this.kill(running);
    } else if (word === "exit" && Number.isInteger(number)) {
      running.exitStatus = number;
      this.finishIfDone(running);
    }
  }

  private stop(running: RunningJob, reason: "timeout" | "abort" | "output"): void {
    if (running !== this.running || running.stoppedFor !== undefined) return;
    running.stoppedFor = reason;
    this.kill(running);
  }

  private kill(running: RunningJob): void {
    // The pid is ours until the shell reports the exit: `wait` has not reaped it before that.
    if (running.pid === undefined || running.exitStatus !== undefined) return;
    try {
      process.kill(running.pid, "SIGKILL");
    } catch {
      // already gone: its exit line is on its way
    }
  }

  private finishIfDone(running: RunningJob): void {
    if (running.exitStatus === undefined || !running.stdoutEnded || !running.stderrEnded) return;
    this.settle(running);
    const { job } = running;
    const stdout = Buffer.concat(running.stdout).toString("utf8");
    const stderr = Buffer.concat(running.stderr).toString("utf8");
    if (running.stoppedFor === "abort") job.reject(new CommandAbortedError(job.command, job.args));
    else if (running.stoppedFor === "timeout") {
      job.reject(new CommandTimeoutError(job.command, job.args, job.options.timeoutMs ?? this.timeoutMs));
    } else if (running.stoppedFor === "output") {
      job.reject(new CommandFailedError(job.command, job.args, undefined, `${stderr}\noutput too large`));
    } else if (running.exitStatus === 0) job.resolve({ stdout, stderr });
    else if (running.exitStatus === EXIT_NOT_FOUND && /not found/i.test(stderr)) {
      job.reject(new CommandNotFoundError(job.command, INSTALL_HINTS[job.command] ?? "install it"));
    } else job.reject(new CommandFailedError(job.command, job.args, running.exitStatus, stderr));
    this.next();
  }

  private settle(running: RunningJob): void {
    if (running.timer !== undefined) clearTimeout(running.timer);
    if (running.onAbort !== undefined) running.job.options.signal?.removeEventListener("abort", running.onAbort);
    this.running = undefined;
  }

  /** The shell died (killed with its namespace, or never started): the running command fails, the queue gets a new shell. */
  private shellGone(shell: ChildProcess, why: string): void {
    if (shell !== this.shell) return;
    this.shell = undefined;
    const running = this.running;
    if (running !== undefined) {
      this.settle(running);
      const { job } = running;
      if (running.stoppedFor === "abort") job.reject(new CommandAbortedError(job.command, job.args));
      else job.reject(new CommandFailedError(job.command, job.args, undefined, why));
    }
    if (!this.closed) this.next();
  }
}

export function shellCommandRunner(init: ShellCommandRunnerInit = {}): ShellCommandRunner {
  const prefix = init.prefix ?? [];
  const timeoutMs = init.timeoutMs ?? COMMAND_TIMEOUT_MS;
  const maxOutputBytes = init.maxOutputBytes ?? COMMAND_MAX_OUTPUT_BYTES;
  const lanes = new Map<string, ShellLane>();
  let closed = false;
  const laneFor = (command: string): ShellLane => {
    let lane = lanes.get(command);
    if (lane === undefined) {
      lane = new ShellLane(prefix, timeoutMs, maxOutputBytes);
      lanes.set(command, lane);
    }
    return lane;
  };
  return {
    run(command, args, options = {}) {
      return new Promise<CommandResult>((resolve, reject) => {
        if (closed) reject(new CommandAbortedError(command, args));
        else laneFor(command).submit({ command, args, options, resolve, reject });
      });
    },
    prepare(commands) {
      if (closed) return;
      for (const command of commands) laneFor(command).warm();
    },
    setNice(nice) {
      for (const lane of lanes.values()) lane.setNice(nice);
    },
    close() {
      closed = true;
      for (const lane of lanes.values()) lane.close();
      lanes.clear();
    },
  };
}
