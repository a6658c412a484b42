// The command line grammar of `conclave`: every command, its arguments and options, and the help
// text made from them. The parser (parse-args.ts) and `--help` both read this one table.
import { dirname } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../config/schema.ts";

export const DEFAULT_INIT_DIR = dirname(DEFAULT_CONFIG_FILE);
export const DEFAULT_CLUSTER_NAME = "conclave";
/** Reads answer at once; a slow answer means a sick daemon. */
export const READ_TIMEOUT_MS = 5_000;
/** Changes wait for the PoC to commit them, and a transfer for the new PoC to hold the lease. */
export const CHANGE_TIMEOUT_MS = 30_000;
export const TIMEOUT_MS_MAX = 3_600_000;

export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** Placeholder shown in help for a string option. */
  readonly value?: string;
  readonly short?: string;
  readonly description: string;
}

export const OPTION_SPECS = {
  config: {
    type: "string",
    value: "FILE",
    description: `The agent's config file; the control socket is <stateDir>/control.sock. Default ${DEFAULT_CONFIG_FILE}.`,
  },
  socket: { type: "string", value: "PATH", description: "The daemon's control socket (instead of the config's)." },
  timeout: {
    type: "string",
    value: "MS",
    description: `How long to wait for the daemon, in milliseconds. Default ${READ_TIMEOUT_MS} for reads, ${CHANGE_TIMEOUT_MS} for changes.`,
  },
  json: { type: "boolean", description: "Print the raw JSON document instead of a table (for scripts)." },
  to: {
    type: "string",
    value: "NODE",
    description: "The node to hand leadership to (id, unique id prefix or name). Default: the best candidate.",
  },
  force: { type: "boolean", description: "" },
  dir: { type: "string", value: "DIR", description: `Where to write the files. Default ${DEFAULT_INIT_DIR}.` },
  "cluster-name": {
    type: "string",
    value: "NAME",
    description: `Lower-case letters, digits and inner hyphens, at most 32 characters. Default "${DEFAULT_CLUSTER_NAME}".`,
  },
  vip: {
    type: "string",
    value: "ADDRESS",
    description:
      "The VIP (IPv4 or IPv6) the facade's certificate names, next to the cluster name. Set the same address as vip.address in the config.",
  },
  "admin-password-file": {
    type: "string",
    value: "FILE",
    description:
      "The first Redfish administrator's password (user admin), on the file's first line. Default: a generated one, printed once.",
  },
  help: { type: "boolean", short: "h", description: "Show this help." },
  version: { type: "boolean", description: "Print the version." },
} as const satisfies Readonly<Record<string, OptionSpec>>;

export type OptionName = keyof typeof OPTION_SPECS;

export type CommandName =
  | "init"
  | "status"
  | "members"
  | "history"
  | "transfer-leadership"
  | "step-down"
  | "drain"
  | "undrain"
  | "remove"
  | "recover"
  | "vip release";

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
}

export interface CommandSpec {
  readonly name: CommandName;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  /** Options besides --help. */
  readonly options: readonly OptionName[];
  /** Overrides the generic description of an option for this command. */
  readonly optionNotes?: Partial<Record<OptionName, string>>;
  readonly details?: string;
}

const DAEMON_OPTIONS: readonly OptionName[] = ["config", "socket", "timeout", "json"];
const NODE_ARGUMENT: ArgumentSpec = { name: "NODE", description: "a node id, a unique id prefix or a member name" };

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: "init",
    summary:
      "Write a new cluster secret, a starter config, the facade's TLS certificate and key and the first administrator, to copy to every BMC.",
    arguments: [],
    options: ["dir", "cluster-name", "vip", "admin-password-file", "force", "json"],
    optionNotes: {
      force: "Replace existing files. Nodes that hold the old secret can no longer talk to nodes with the new one.",
    },
    details:
      "Needs no daemon. Refuses to overwrite cluster.key, conclave.yaml, facade.crt, facade.key or admin.yaml unless --force is given. The PoC commits the administrator in admin.yaml (user name and password hash) when the cluster has no account yet.",
  },
  {
    name: "status",
    summary: "Show the cluster, term, PoC, lease, VIP and every member's role, health, last contact and lag.",
    arguments: [],
    options: DAEMON_OPTIONS,
  },
  {
    name: "members",
    summary: "List the members with their ids, addresses and labels.",
    arguments: [],
    options: DAEMON_OPTIONS,
  },
  {
    name: "history",
    summary: "Show the leadership history: who was PoC in which term, and why.",
    arguments: [],
    options: DAEMON_OPTIONS,
  },
  {
    name: "transfer-leadership",
    summary: "Hand the PoC role to another node; waits, then prints the new PoC and how long it took.",
    arguments: [],
    options: ["to", ...DAEMON_OPTIONS],
  },
  {
    name: "step-down",
    summary: "Make the PoC give up its role; the cluster elects another.",
    arguments: [],
    options: DAEMON_OPTIONS,
  },
  {
    name: "drain",
    summary: "Keep NODE from becoming PoC; a drained PoC hands over at once.",
    arguments: [NODE_ARGUMENT],
    options: DAEMON_OPTIONS,
  },
  { name: "undrain", summary: "Let NODE become PoC again.", arguments: [NODE_ARGUMENT], options: DAEMON_OPTIONS },
  {
    name: "remove",
    summary: "Remove NODE from the cluster; refused when it would break the quorum.",
    arguments: [NODE_ARGUMENT],
    options: ["force", ...DAEMON_OPTIONS],
    optionNotes: {
      force: "Remove NODE even when the remaining voters may not form a quorum (the consequence is printed first).",
    },
  },
  {
    name: "recover",
    summary:
      "After a quorum is lost for good: make this node the only voter (daemon stopped; refuses without --force).",
    arguments: [],
    options: ["force", "config", "socket", "json"],
    optionNotes: {
      force: "Do it. Without it the command only prints what it would change and what is lost.",
    },
    details:
      "Run it on the one surviving BMC with the newest state, with conclaved stopped. Entries a quorum never acknowledged become committed; the removed BMCs must have their state directory wiped before they rejoin.",
  },
  {
    name: "vip release",
    summary: "Remove this host's VIP as the config describes it; needs no daemon (systemd ExecStopPost).",
    arguments: [],
    options: ["config", "json"],
    details: "Idempotent: when the VIP is not held it says so and succeeds.",
  },
];

export function findCommand(name: CommandName): CommandSpec {
  const spec = COMMAND_SPECS.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`no command spec for ${name}`);
  return spec;
}

function optionLabel(name: OptionName): string {
  const spec: OptionSpec = OPTION_SPECS[name];
  const long = spec.value === undefined ? `--${name}` : `--${name} ${spec.value}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

export function commandUsageLine(spec: CommandSpec): string {
  const args = spec.arguments.map((argument) => argument.name);
  const options = spec.options.map((name) => `[${optionLabel(name)}]`);
  return ["conclave", spec.name, ...args, ...options].join(" ");
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: ${commandUsageLine(spec)}`, "", spec.summary];
  if (spec.details !== undefined) lines.push(spec.details);
  if (spec.arguments.length > 0) {
    lines.push("", "arguments:", ...columns(spec.arguments.map((argument) => [argument.name, argument.description])));
  }
  const options: OptionName[] = [...spec.options, "help"];
  lines.push(
    "",
    "options:",
    ...columns(options.map((name) => [optionLabel(name), spec.optionNotes?.[name] ?? OPTION_SPECS[name].description])),
  );
  return `${lines.join("\n")}\n`;
}

export function generalHelp(): string {
  const lines = [
    "usage: conclave <command> [options]",
    "",
    "Drives the local Conclave agent (conclaved) over its control socket. Changes work from any node:",
    "the daemon forwards them to the PoC.",
    "",
    "commands:",
    ...columns(
      COMMAND_SPECS.map((spec) => [[spec.name, ...spec.arguments.map((a) => a.name)].join(" "), spec.summary]),
    ),
    "",
    "options for the commands that talk to the daemon:",
    ...columns(DAEMON_OPTIONS.map((name) => [optionLabel(name), OPTION_SPECS[name].description])),
    "",
    "other options:",
    ...columns([
      [optionLabel("help"), 'Show help; "conclave <command> --help" for one command.'],
      [optionLabel("version"), OPTION_SPECS.version.description],
    ]),
    "",
    "exit codes: 0 ok, 1 failed (daemon error, refused change, timeout), 2 usage error.",
  ];
  return `${lines.join("\n")}\n`;
}
