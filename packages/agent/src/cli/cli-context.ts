// What a command runs with: its parsed arguments, where to write, how to style, and how to reach the
// daemon. Commands write through this, never to process.stdout directly, so tests capture everything.
import type { CommandRunner } from "../vip/command-runner.ts";
import type { ControlClient } from "./control-client.ts";
import type { CliOptions } from "./parse-args.ts";
import type { Style } from "./table.ts";

export interface CliOutput {
  write(text: string): void;
}

export interface CliContext {
  readonly args: readonly string[];
  readonly options: CliOptions;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly style: Style;
  /** A client for the local daemon; `defaultTimeoutMs` applies unless --timeout was given. */
  readonly daemon: (defaultTimeoutMs: number) => ControlClient;
  /** The config read when --config is absent. */
  readonly defaultConfigFile: string;
  /** Runs `ip` for `vip release`; tests pass a fake. */
  readonly vipRunner?: CommandRunner;
}

/** The one argument of a NODE command (the parser has checked it is there). */
export function nodeArgument(context: CliContext): string {
  const node = context.args[0];
  if (node === undefined) throw new Error("NODE argument missing after parsing");
  return node;
}
