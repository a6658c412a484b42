// Turns argv into a command and its options with node's util.parseArgs (tokens, non-strict), then
// checks every token against the command's grammar so each mistake gets one sentence naming it.
import { parseArgs } from "node:util";
import { UsageError } from "./cli-errors.ts";
import {
  COMMAND_SPECS,
  type CommandName,
  type CommandSpec,
  findCommand,
  OPTION_SPECS,
  type OptionName,
  TIMEOUT_MS_MAX,
} from "./command-specs.ts";
import { didYouMean, suggest } from "./suggest.ts";

export interface CliOptions {
  readonly config?: string;
  readonly socket?: string;
  readonly timeoutMs?: number;
  readonly json: boolean;
  readonly to?: string;
  readonly force: boolean;
  readonly dir?: string;
  readonly clusterName?: string;
  readonly vip?: string;
  readonly adminPasswordFile?: string;
}

export type CommandLine =
  | { readonly kind: "help"; readonly command: CommandSpec | undefined }
  | { readonly kind: "version" }
  | {
      readonly kind: "run";
      readonly command: CommandName;
      readonly args: readonly string[];
      readonly options: CliOptions;
    };

interface OptionToken {
  readonly name: string;
  readonly rawName: string;
  readonly value: string | undefined;
  readonly inlineValue: boolean | undefined;
}

/** Own keys only: `--constructor` is not an option. */
const isKnownOption = (name: string): name is OptionName => Object.hasOwn(OPTION_SPECS, name);

const TOP_LEVEL_WORDS = [...new Set(COMMAND_SPECS.map((spec) => spec.name.split(" ")[0] as string)), "help"];

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const parseOptions = Object.fromEntries(
    Object.entries(OPTION_SPECS).map(([name, spec]) => [
      name,
      "short" in spec ? { type: spec.type, short: spec.short } : { type: spec.type },
    ]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: parseOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options: OptionToken[] = [];
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option") {
      options.push({ name: token.name, rawName: token.rawName, value: token.value, inlineValue: token.inlineValue });
    } else if (token.kind === "positional") {
      positionals.push(token.value);
    }
  }

  const wantsHelp = options.some((option) => option.name === "help");
  const [word, ...rest] = positionals;
  if (word === "help") {
    const [topic, ...topicRest] = rest;
    if (topic === undefined) return { kind: "help", command: undefined };
    return { kind: "help", command: resolveCommand(topic, topicRest).spec };
  }
  if (word === undefined) {
    if (wantsHelp) return { kind: "help", command: undefined };
    if (options.some((option) => option.name === "version")) return { kind: "version" };
    const unknown = options.find((option) => !isKnownOption(option.name));
    if (unknown !== undefined) throw unknownOption(unknown, Object.keys(OPTION_SPECS) as OptionName[]);
    throw new UsageError(`missing command: one of ${TOP_LEVEL_WORDS.join(", ")} (conclave --help explains them)`);
  }
  const unknown = options.find((option) => !isKnownOption(option.name));
  if (unknown !== undefined && !TOP_LEVEL_WORDS.includes(word)) {
    // `--too NODE status`: the unknown option swallowed nothing, so NODE looks like the command; name the option.
    throw unknownOption(unknown, Object.keys(OPTION_SPECS) as OptionName[]);
  }
  const { spec, args } = resolveCommand(word, rest);
  if (wantsHelp) return { kind: "help", command: spec };
  if (options.some((option) => option.name === "version")) return { kind: "version" };

  const values = readOptions(spec, options);
  checkArguments(spec, args);
  return { kind: "run", command: spec.name, args, options: values };
}

function resolveCommand(word: string, rest: readonly string[]): { spec: CommandSpec; args: readonly string[] } {
  if (word === "vip") {
    const [sub, ...args] = rest;
    if (sub === undefined) throw new UsageError('"conclave vip" needs a subcommand: release');
    if (sub !== "release") throw new UsageError(`unknown vip command "${sub}"${didYouMean(suggest(sub, ["release"]))}`);
    return { spec: findCommand("vip release"), args };
  }
  const spec = COMMAND_SPECS.find((candidate) => candidate.name === word);
  if (spec === undefined) {
    throw new UsageError(`unknown command "${word}"${didYouMean(suggest(word, TOP_LEVEL_WORDS))}`);
  }
  return { spec, args: rest };
}

function readOptions(spec: CommandSpec, tokens: readonly OptionToken[]): CliOptions {
  const allowed: readonly OptionName[] = [...spec.options, "help", "version"];
  const seen = new Map<OptionName, string | boolean>();
  for (const token of tokens) {
    const name = token.name as OptionName;
    if (!isKnownOption(token.name)) throw unknownOption(token, allowed);
    if (!allowed.includes(name)) {
      throw new UsageError(`option "--${name}" does not apply to "conclave ${spec.name}"`);
    }
    if (seen.has(name)) throw new UsageError(`option "--${name}" is given more than once`);
    const optionSpec = OPTION_SPECS[name];
    if (optionSpec.type === "boolean") {
      if (token.inlineValue === true) {
        throw new UsageError(`option "--${name}" takes no value, got "${token.rawName}=${token.value ?? ""}"`);
      }
      seen.set(name, true);
      continue;
    }
    const placeholder = "value" in optionSpec ? optionSpec.value : "a value";
    // Without an inline value, parseArgs takes the next word even when it is an option: refuse that.
    if (token.value === undefined || (token.inlineValue === false && token.value.startsWith("--"))) {
      throw new UsageError(`option "--${name}" needs a value (${placeholder})`);
    }
    if (token.value === "") throw new UsageError(`option "--${name}" needs a non-empty value (${placeholder})`);
    seen.set(name, token.value);
  }
  const text = (name: OptionName): string | undefined => {
    const value = seen.get(name);
    return typeof value === "string" ? value : undefined;
  };
  const timeout = text("timeout");
  return {
    config: text("config"),
    socket: text("socket"),
    timeoutMs: timeout === undefined ? undefined : parseTimeout(timeout),
    json: seen.get("json") === true,
    to: text("to"),
    force: seen.get("force") === true,
    dir: text("dir"),
    clusterName: text("cluster-name"),
    vip: text("vip"),
    adminPasswordFile: text("admin-password-file"),
  };
}

function unknownOption(token: OptionToken, allowed: readonly OptionName[]): UsageError {
  const raw = token.rawName;
  const candidates = allowed.map((name) => `--${name}`);
  return new UsageError(`unknown option "${raw}"${didYouMean(suggest(raw, candidates))}`);
}

function parseTimeout(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > TIMEOUT_MS_MAX) {
    throw new UsageError(`--timeout must be a whole number of milliseconds from 1 to ${TIMEOUT_MS_MAX}, got "${text}"`);
  }
  return ms;
}

function checkArguments(spec: CommandSpec, args: readonly string[]): void {
  const missing = spec.arguments[args.length];
  if (missing !== undefined) {
    throw new UsageError(`"conclave ${spec.name}" needs ${missing.name}: ${missing.description}`);
  }
  const extra = args[spec.arguments.length];
  if (extra !== undefined) {
    const expected =
      spec.arguments.length === 0 ? "takes no arguments" : `takes only ${spec.arguments.map((a) => a.name).join(" ")}`;
    throw new UsageError(`unexpected argument "${extra}": "conclave ${spec.name}" ${expected}`);
  }
  for (const [index, value] of args.entries()) {
    if (value.trim() === "") throw new UsageError(`${spec.arguments[index]?.name ?? "the argument"} must not be empty`);
  }
}
