// Proves the command line grammar: every command parses, and each usage mistake exits 2 with one sentence naming the bad value.
import { describe, expect, it } from "vitest";
import { COMMAND_SPECS } from "../../src/cli/command-specs.ts";
import { EXIT_USAGE, runCli } from "../../src/cli/main.ts";
import { parseCommandLine } from "../../src/cli/parse-args.ts";
import { editDistance, suggest } from "../../src/cli/suggest.ts";
import { captureOutput } from "./fake-control-server.ts";

async function usage(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const io = captureOutput();
  const code = await runCli(argv, { ...io, defaultConfigFile: "/nonexistent/conclave.yaml" });
  return { code, err: io.err, out: io.out };
}

describe("parsing", () => {
  it("reads every command with its arguments and options, global options before or after the command", () => {
    expect(parseCommandLine(["status"])).toEqual({
      kind: "run",
      command: "status",
      args: [],
      options: { json: false, force: false },
    });
    expect(parseCommandLine(["--json", "--socket", "/s.sock", "members", "--timeout=250"])).toMatchObject({
      command: "members",
      options: { json: true, socket: "/s.sock", timeoutMs: 250 },
    });
    expect(parseCommandLine(["transfer-leadership", "--to", "bmc2"])).toMatchObject({ options: { to: "bmc2" } });
    expect(parseCommandLine(["remove", "bmc3", "--force"])).toMatchObject({
      command: "remove",
      args: ["bmc3"],
      options: { force: true },
    });
    expect(parseCommandLine(["vip", "release", "--config", "/c.yaml"])).toMatchObject({
      command: "vip release",
      options: { config: "/c.yaml" },
    });
    expect(parseCommandLine(["init", "--dir", "/d", "--cluster-name", "rack-a", "--force"])).toMatchObject({
      command: "init",
      options: { dir: "/d", clusterName: "rack-a", force: true },
    });
    for (const command of ["history", "step-down"]) expect(parseCommandLine([command])).toMatchObject({ command });
    for (const command of ["drain", "undrain"]) {
      expect(parseCommandLine([command, "bmc2"])).toMatchObject({ command, args: ["bmc2"] });
    }
    // "--" ends the options: a node name may then start with a dash.
    expect(parseCommandLine(["drain", "--", "-odd"])).toMatchObject({ args: ["-odd"] });
  });

  it("answers --help, -h, help COMMAND and --version", () => {
    expect(parseCommandLine(["--help"])).toEqual({ kind: "help", command: undefined });
    expect(parseCommandLine(["-h", "drain"])).toMatchObject({ kind: "help", command: { name: "drain" } });
    expect(parseCommandLine(["help", "vip", "release"])).toMatchObject({
      kind: "help",
      command: { name: "vip release" },
    });
    expect(parseCommandLine(["--version"])).toEqual({ kind: "version" });
  });

  it("suggests the closest word, counting a swap as one edit", () => {
    expect(editDistance("stauts", "status")).toBe(1);
    expect(suggest("--too", ["--to", "--json", "--timeout"])).toBe("--to");
    expect(suggest("transfer", ["status", "transfer-leadership"])).toBe("transfer-leadership");
    expect(suggest("xyzzy", ["status", "members"])).toBeUndefined();
  });
});

describe("usage errors exit 2 with one sentence on stderr", () => {
  const cases: [string[], string][] = [
    [
      [],
      "conclave: missing command: one of init, status, members, history, transfer-leadership, step-down, drain, undrain, remove, recover, vip, help (conclave --help explains them)",
    ],
    [["stauts"], 'conclave: unknown command "stauts" (did you mean "status"?)'],
    [["frobnicate"], 'conclave: unknown command "frobnicate"'],
    [["transfer-leadership", "--too", "bmc2"], 'conclave: unknown option "--too" (did you mean "--to"?)'],
    [["--too", "bmc2", "transfer-leadership"], 'conclave: unknown option "--too" (did you mean "--to"?)'],
    [["status", "-x"], 'conclave: unknown option "-x"'],
    [["status", "--constructor"], 'conclave: unknown option "--constructor"'],
    [["init", "--socket", "/s"], 'conclave: option "--socket" does not apply to "conclave init"'],
    [["status", "--to", "bmc2"], 'conclave: option "--to" does not apply to "conclave status"'],
    [["transfer-leadership", "--to"], 'conclave: option "--to" needs a value (NODE)'],
    [["transfer-leadership", "--to", "--json"], 'conclave: option "--to" needs a value (NODE)'],
    [["status", "--socket="], 'conclave: option "--socket" needs a non-empty value (PATH)'],
    [["status", "--json=yes"], 'conclave: option "--json" takes no value, got "--json=yes"'],
    [["status", "--json", "--json"], 'conclave: option "--json" is given more than once'],
    [
      ["status", "--timeout", "soon"],
      'conclave: --timeout must be a whole number of milliseconds from 1 to 3600000, got "soon"',
    ],
    [
      ["status", "--timeout", "0"],
      'conclave: --timeout must be a whole number of milliseconds from 1 to 3600000, got "0"',
    ],
    [["drain"], 'conclave: "conclave drain" needs NODE: a node id, a unique id prefix or a member name'],
    [["remove", "bmc3", "bmc4"], 'conclave: unexpected argument "bmc4": "conclave remove" takes only NODE'],
    [["status", "now"], 'conclave: unexpected argument "now": "conclave status" takes no arguments'],
    [["undrain", " "], "conclave: NODE must not be empty"],
    [["vip"], 'conclave: "conclave vip" needs a subcommand: release'],
    [["vip", "relase"], 'conclave: unknown vip command "relase" (did you mean "release"?)'],
    [["help", "stauts"], 'conclave: unknown command "stauts" (did you mean "status"?)'],
    [
      ["init", "--cluster-name", "Rack A"],
      'conclave: --cluster-name "Rack A" is not a valid cluster name: use lower-case letters, digits and inner hyphens, at most 32 characters (e.g. "rack-a")',
    ],
  ];
  for (const [argv, message] of cases) {
    it(`conclave ${argv.join(" ")}`, async () => {
      const { code, err, out } = await usage(argv);
      expect(code).toBe(EXIT_USAGE);
      expect(err).toBe(`${message}\n`);
      expect(out).toBe("");
    });
  }
});

describe("help and version exit 0 on stdout", () => {
  it("lists every command, and each command's own help names its options", async () => {
    const general = await usage(["--help"]);
    expect(general.code).toBe(0);
    for (const command of [
      "init",
      "status",
      "members",
      "history",
      "transfer-leadership",
      "step-down",
      "drain NODE",
      "undrain NODE",
      "remove NODE",
      "vip release",
    ]) {
      expect(general.out).toContain(`  ${command} `);
    }
    expect(general.out).toContain("exit codes: 0 ok, 1 failed");
    const transfer = await usage(["transfer-leadership", "--help"]);
    expect(transfer.out).toMatch(
      /^usage: conclave transfer-leadership \[--to NODE\] \[--config FILE\] \[--socket PATH\] \[--timeout MS\] \[--json\]\n/,
    );
    const remove = await usage(["help", "remove"]);
    expect(remove.out).toContain("--force");
    expect(remove.out).toContain("NODE  a node id, a unique id prefix or a member name");
    const init = await usage(["init", "-h"]);
    expect(init.out).toContain("--cluster-name NAME");
    expect(init.out).not.toContain("--socket");
  });

  it("every command answers --help with its usage line", async () => {
    for (const spec of COMMAND_SPECS) {
      const { code, out, err } = await usage([...spec.name.split(" "), "--help"]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      expect(out.startsWith(`usage: conclave ${spec.name}`)).toBe(true);
      expect(out).toContain(spec.summary);
    }
  });

  it("prints the version with the control API version", async () => {
    const { code, out } = await usage(["--version"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^conclave \d+\.\d+\.\d+ \(control API v1\)\n$/);
  });
});
