// A CommandRunner that records every command and answers from a script of rules, for the VIP unit tests.
import { CommandFailedError, CommandNotFoundError } from "../../src/errors.ts";
import type { CommandResult, CommandRunner, CommandRunOptions } from "../../src/vip/command-runner.ts";

export interface RecordedCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** `command args...`, for readable assertions. */
  readonly line: string;
}

type Answer = CommandResult | { readonly fail: { readonly exitCode?: number; readonly stderr: string } } | "not-found";

export class FakeRunner implements CommandRunner {
  readonly calls: RecordedCommand[] = [];
  private readonly rules: { match: RegExp; answer: Answer; times: number }[] = [];
  /** The addresses `ip -o addr show` reports, kept up to date by add/del like the kernel would. */
  readonly addresses = new Set<string>();
  /** Every nice value the runner was told to move its processes to. */
  readonly nices: number[] = [];
  /** Follow-ups (thenStart) of commands that succeeded, as `command args...`, in order. */
  readonly followUps: string[] = [];

  /** Answers commands whose line matches `match` with `answer`, `times` times (default: always). */
  on(match: RegExp, answer: Answer, times = Number.POSITIVE_INFINITY): this {
    this.rules.push({ match, answer, times });
    return this;
  }

  lines(pattern?: RegExp): string[] {
    return this.calls.map((call) => call.line).filter((line) => pattern === undefined || pattern.test(line));
  }

  setNice(nice: number): void {
    this.nices.push(nice);
  }

  async run(command: string, args: readonly string[], options: CommandRunOptions = {}): Promise<CommandResult> {
    const line = [command, ...args].join(" ");
    this.calls.push({ command, args: [...args], line });
    const result = this.answer(command, args, line);
    if (options.thenStart !== undefined) {
      this.followUps.push([options.thenStart.command, ...options.thenStart.args].join(" "));
    }
    return result;
  }

  private answer(command: string, args: readonly string[], line: string): CommandResult {
    const rule = this.rules.find((candidate) => candidate.times > 0 && candidate.match.test(line));
    if (rule !== undefined) {
      rule.times -= 1;
      if (rule.answer === "not-found") throw new CommandNotFoundError(command, "test");
      if ("fail" in rule.answer) {
        throw new CommandFailedError(command, args, rule.answer.fail.exitCode ?? 2, rule.answer.fail.stderr);
      }
      return rule.answer;
    }
    return this.simulateIp(command, args);
  }

  private simulateIp(command: string, args: readonly string[]): CommandResult {
    if (command !== "ip") return { stdout: "", stderr: "" };
    const words = args.filter((word) => word !== "-6" && word !== "-4" && word !== "-o");
    if (words[0] === "addr" && words[1] === "add" && words[2] !== undefined) {
      if (this.addresses.has(words[2])) {
        throw new CommandFailedError(command, args, 2, "Error: ipv4: Address already assigned.");
      }
      this.addresses.add(words[2]);
    } else if (words[0] === "addr" && words[1] === "del" && words[2] !== undefined) {
      if (!this.addresses.delete(words[2])) {
        throw new CommandFailedError(command, args, 2, "RTNETLINK answers: Cannot assign requested address");
      }
    } else if (words[0] === "addr" && words[1] === "show") {
      const stdout = [...this.addresses]
        .map((cidr) => `2: eth0    ${cidr.includes(":") ? "inet6" : "inet"} ${cidr} scope global eth0\\`)
        .join("\n");
      return { stdout, stderr: "" };
    }
    return { stdout: "", stderr: "" };
  }
}
