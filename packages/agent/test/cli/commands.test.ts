// Proves every daemon command against a fake control server on a temp unix socket: the requests sent, the output, the exit codes, and the errors (daemon down, refused, timeout, broken answers).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlProtocolError, ControlRequestError, ControlTimeoutError } from "../../src/cli/cli-errors.ts";
import { createControlClient } from "../../src/cli/control-client.ts";
import { EXIT_FAILED, EXIT_OK, runCli } from "../../src/cli/main.ts";
import { CONTROL_BODY_BYTES_MAX } from "../../src/control/control-protocol.ts";
import { captureOutput, FakeControlServer } from "./fake-control-server.ts";
import { CHANGED, HISTORY, ID_2, MEMBERS, MEMBERS_DOCUMENT, STATUS, TRANSFER } from "./fixtures.ts";

let server: FakeControlServer;
let scratch: string;

beforeEach(async () => {
  server = await FakeControlServer.start();
  scratch = mkdtempSync(join(tmpdir(), "conclave-cli-scratch-"));
  server
    .on("GET /v1/status", { body: STATUS })
    .on("GET /v1/members", { body: MEMBERS_DOCUMENT })
    .on("GET /v1/history", { body: HISTORY })
    .on("POST /v1/transfer-leadership", { body: TRANSFER })
    .on("POST /v1/step-down", { body: { ok: true, message: "bmc1 stepped down; an election follows" } })
    .on("POST /v1/drain", { body: CHANGED })
    .on("POST /v1/undrain", { body: { ok: true, message: "bmc2 may become PoC again" } })
    .on("POST /v1/remove", { body: { ok: true, message: "bmc3 removed" } });
});

afterEach(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function conclave(...argv: string[]) {
  const io = captureOutput();
  const code = await runCli(argv, { ...io, env: {}, defaultConfigFile: join(scratch, "absent.yaml") });
  return { code, out: io.out, err: io.err };
}

const requestLines = () => server.requests.map((request) => `${request.method} ${request.path}`);

describe("reads", () => {
  it("status prints the tables and exits 0", async () => {
    const { code, out, err } = await conclave("status", "--socket", server.socketPath);
    expect({ code, err }).toEqual({ code: EXIT_OK, err: "" });
    expect(out).toContain("PoC      bmc1\n");
    expect(out).toContain("bmc2  voter    -        warning   2.1 s         12   cpu 93% >= 90%\n");
    expect(requestLines()).toEqual(["GET /v1/status"]);
    expect(server.requests[0]?.body).toBeUndefined();
  });

  it("--json prints the raw documents", async () => {
    for (const [command, document] of [
      ["status", STATUS],
      ["members", MEMBERS_DOCUMENT],
      ["history", HISTORY],
    ] as const) {
      const { code, out } = await conclave(command, "--json", "--socket", server.socketPath);
      expect(code).toBe(EXIT_OK);
      expect(JSON.parse(out)).toEqual(document);
    }
    // history --json needs no member names, so it makes one request.
    expect(requestLines()).toEqual(["GET /v1/status", "GET /v1/members", "GET /v1/history"]);
  });

  it("members and history render tables; history names the PoCs from the member list", async () => {
    const members = await conclave("members", "--socket", server.socketPath);
    expect(members.out.split("\n")[0]).toMatch(/^NAME +ID +ROLE/);
    const history = await conclave("history", "--socket", server.socketPath);
    expect(history.out).toContain("7     bmc1  2026-11-24 00:31:02  transfer requested by operator\n");
  });

  it("history still works, with ids, when the member list cannot be read", async () => {
    server.on("GET /v1/members", { status: 503, body: { error: { code: "AGENT_ERR_X", message: "busy" } } });
    const { code, out } = await conclave("history", "--socket", server.socketPath);
    expect(code).toBe(EXIT_OK);
    expect(out).toContain(`7     ${MEMBERS[0]?.id}  2026-11-24 00:31:02`);
  });

  it("colours a terminal's output unless NO_COLOR or TERM=dumb says not to", async () => {
    const render = async (env: Record<string, string>) => {
      const io = captureOutput(true);
      await runCli(["status", "--socket", server.socketPath], { ...io, env });
      return io.out;
    };
    expect(await render({})).toContain("\u001b[32mok");
    expect(await render({ NO_COLOR: "1" })).not.toContain("\u001b[");
    expect(await render({ TERM: "dumb" })).not.toContain("\u001b[");
  });

  it("finds the socket in the config's stateDir, or --socket overrides it", async () => {
    const config = join(scratch, "conclave.yaml");
    writeFileSync(config, `clusterName: rack-a\nstateDir: ${JSON.stringify(dirname(server.socketPath))}\n`);
    expect((await conclave("status", "--config", config)).code).toBe(EXIT_OK);
    const io = captureOutput();
    expect(await runCli(["members"], { ...io, defaultConfigFile: config })).toBe(EXIT_OK);
    expect(requestLines()).toEqual(["GET /v1/status", "GET /v1/members"]);
  });
});

describe("changes", () => {
  it("transfer-leadership sends --to, waits, prints the new PoC and the hand-over time", async () => {
    const { code, out } = await conclave("transfer-leadership", "--to", "bmc2", "--socket", server.socketPath);
    expect(code).toBe(EXIT_OK);
    expect(out).toBe("bmc2 is now the PoC (term 8); the hand-over from bmc1 took 142 ms\n");
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1/transfer-leadership",
      contentType: "application/json",
      body: { to: "bmc2" },
    });
  });

  it("transfer-leadership without --to lets the daemon pick; --json prints its result", async () => {
    const { out } = await conclave("transfer-leadership", "--json", "--socket", server.socketPath);
    expect(JSON.parse(out)).toEqual(TRANSFER);
    expect(server.requests[0]?.body).toEqual({});
    expect(requestLines()).toEqual(["POST /v1/transfer-leadership"]);
  });

  it("step-down, drain and undrain send their request and print the daemon's sentence", async () => {
    expect((await conclave("step-down", "--socket", server.socketPath)).out).toBe(
      "bmc1 stepped down; an election follows\n",
    );
    expect((await conclave("drain", ID_2, "--socket", server.socketPath)).out).toBe(`${CHANGED.message}\n`);
    expect((await conclave("undrain", "bmc2", "--socket", server.socketPath)).out).toBe("bmc2 may become PoC again\n");
    expect(server.requests.map((request) => [request.path, request.body])).toEqual([
      ["/v1/step-down", {}],
      ["/v1/drain", { node: ID_2 }],
      ["/v1/undrain", { node: "bmc2" }],
    ]);
    const json = await conclave("drain", "bmc2", "--json", "--socket", server.socketPath);
    expect(JSON.parse(json.out)).toEqual(CHANGED);
  });

  it("remove refused for quorum exits 1 and says so, naming --force", async () => {
    server.on("POST /v1/remove", {
      status: 409,
      body: {
        error: {
          code: "AGENT_ERR_QUORUM_AT_RISK",
          message: "2 of 3 voters are unreachable: removing one leaves no quorum",
        },
      },
    });
    const { code, out, err } = await conclave("remove", "bmc3", "--socket", server.socketPath);
    expect(code).toBe(EXIT_FAILED);
    expect(out).toBe("");
    expect(err).toBe(
      "conclave: refused to remove bmc3 because the cluster would lose its quorum: 2 of 3 voters are unreachable: removing one leaves no quorum (--force removes it anyway)\n",
    );
    expect(server.requests[0]?.body).toEqual({ node: "bmc3" });
  });

  it("remove --force first prints the consequence in one sentence, then sends force", async () => {
    const { code, out, err } = await conclave("remove", "bmc3", "--force", "--socket", server.socketPath);
    expect(code).toBe(EXIT_OK);
    expect(err).toBe(
      "conclave: --force removes bmc3 even if the quorum breaks: 2 voting members remain and a quorum needs 2 of them up, otherwise the cluster has no PoC and no VIP until voters are added back.\n",
    );
    expect(out).toBe("bmc3 removed\n");
    expect(requestLines()).toEqual(["GET /v1/members", "POST /v1/remove"]);
    expect(server.requests[1]?.body).toEqual({ node: "bmc3", force: true });
  });

  it("remove --force of a node the member list does not name still warns", async () => {
    server.on("GET /v1/members", "hang");
    const { code, err } = await conclave(
      "remove",
      "12D3KooWZZ",
      "--force",
      "--timeout",
      "300",
      "--socket",
      server.socketPath,
    );
    expect(code).toBe(EXIT_OK);
    expect(err).toBe(
      "conclave: --force removes 12D3KooWZZ even if the remaining voters cannot form a quorum, and then the cluster has no PoC and no VIP until enough voters are back.\n",
    );
  });
});

describe("failures exit 1 with one sentence", () => {
  it("says the daemon is not running when nothing listens on the socket", async () => {
    const missing = join(scratch, "control.sock");
    const { code, out, err } = await conclave("status", "--socket", missing);
    expect({ code, out }).toEqual({ code: EXIT_FAILED, out: "" });
    expect(err).toBe(`conclave: cannot reach the daemon at ${missing}: is conclaved running?\n`);
  });

  it("without --config and without the default file, looks in the default state directory", async () => {
    const { code, err } = await conclave("members");
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe("conclave: cannot reach the daemon at /var/lib/conclave/control.sock: is conclaved running?\n");
  });

  it("a bad --config is reported naming the file", async () => {
    const config = join(scratch, "bad.yaml");
    writeFileSync(config, "clusterName: rack-a\nstatedir: /x\n");
    const { code, err } = await conclave("status", "--config", config);
    expect(code).toBe(EXIT_FAILED);
    expect(err).toContain(`conclave: config ${config}: unknown key "statedir" (did you mean "stateDir"?)`);
    const missing = await conclave("status", "--config", join(scratch, "nope.yaml"));
    expect(missing.err).toBe(`conclave: config ${join(scratch, "nope.yaml")}: cannot read the file (no such file)\n`);
  });

  it("passes the daemon's error sentence through", async () => {
    server.on("POST /v1/drain", {
      status: 404,
      body: { error: { code: "AGENT_ERR_UNKNOWN_NODE", message: 'no member is named "bmc9"' } },
    });
    const { code, err } = await conclave("drain", "bmc9", "--socket", server.socketPath);
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe('conclave: no member is named "bmc9"\n');
  });

  it("gives up after --timeout", async () => {
    server.on("POST /v1/transfer-leadership", "hang");
    const started = Date.now();
    const { code, err } = await conclave("transfer-leadership", "--timeout", "200", "--socket", server.socketPath);
    expect(code).toBe(EXIT_FAILED);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBe(
      `conclave: the daemon at ${server.socketPath} did not answer within 200 ms (--timeout sets how long to wait)\n`,
    );
  });

  it("refuses a daemon that speaks another control API version", async () => {
    server.on("GET /v1/status", { body: { ...STATUS, apiVersion: 2 } });
    const { code, err } = await conclave("status", "--socket", server.socketPath);
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe(
      "conclave: the daemon speaks control API version 2 and this conclave speaks version 1: use the conclave installed with the daemon\n",
    );
  });
});

describe("control client", () => {
  const client = () => createControlClient({ socketPath: server.socketPath, timeoutMs: 2_000 });

  it("maps an error body to a ControlRequestError carrying the daemon's code and status", async () => {
    server.on("POST /v1/step-down", {
      status: 409,
      body: { error: { code: "AGENT_ERR_NOT_POC", message: "there is no PoC to step down" } },
    });
    const error = await client()
      .stepDown()
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ControlRequestError);
    expect(error).toMatchObject({ code: "AGENT_ERR_NOT_POC", status: 409, message: "there is no PoC to step down" });
  });

  it("rejects answers that are too large, not JSON, or errors without a body", async () => {
    server.on("GET /v1/members", { raw: `"${"x".repeat(CONTROL_BODY_BYTES_MAX)}"` });
    await expect(client().members()).rejects.toThrow(
      new ControlProtocolError(`the daemon's answer to /v1/members exceeds ${CONTROL_BODY_BYTES_MAX} bytes`),
    );
    server.on("GET /v1/history", { raw: "<html>oops</html>", status: 502 });
    await expect(client().history()).rejects.toThrow(
      "the daemon answered /v1/history with HTTP 502 and a body that is not JSON",
    );
    server.on("GET /v1/history", { raw: "", status: 500 });
    await expect(client().history()).rejects.toThrow("the daemon answered /v1/history with HTTP 500 and no error body");
    server.on("GET /v1/history", { raw: "[1]" });
    await expect(client().history()).rejects.toThrow(
      "the daemon answered /v1/history with HTTP 200 but no JSON object",
    );
  });

  it("times out with a ControlTimeoutError", async () => {
    server.on("GET /v1/status", "hang");
    const error = await createControlClient({ socketPath: server.socketPath, timeoutMs: 100 })
      .status()
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ControlTimeoutError);
    expect(error).toMatchObject({ code: "AGENT_ERR_CONTROL_TIMEOUT", exitCode: EXIT_FAILED });
  });
});
