// Proves the CLI and the daemon's real control server (src/daemon/control-server.ts) agree on the contract: routes, bodies, error codes and statuses.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXIT_FAILED, EXIT_OK, runCli } from "../../src/cli/main.ts";
import type { RemoveRequest } from "../../src/control/control-protocol.ts";
import { type ControlHandlers, type ControlServer, createControlServer } from "../../src/daemon/control-server.ts";
import { AgentError } from "../../src/errors.ts";
import { captureOutput } from "./fake-control-server.ts";
import { CHANGED, HISTORY, MEMBERS_DOCUMENT, STATUS, TRANSFER } from "./fixtures.ts";

let dir: string;
let server: ControlServer;
let socketPath: string;
const calls: [string, unknown][] = [];

class QuorumError extends AgentError {
  constructor() {
    super("AGENT_ERR_QUORUM_AT_RISK", "removing bmc3 leaves 1 of 2 voters: no quorum");
  }
}

const handlers: ControlHandlers = {
  status: () => STATUS,
  members: () => MEMBERS_DOCUMENT,
  history: () => HISTORY,
  transferLeadership: async (request) => {
    calls.push(["transfer", request]);
    return TRANSFER;
  },
  stepDown: async () => {
    calls.push(["stepDown", undefined]);
    return { ok: true, message: "stepped down" };
  },
  drain: async (request) => {
    calls.push(["drain", request]);
    return CHANGED;
  },
  undrain: async (request) => {
    calls.push(["undrain", request]);
    return { ok: true, message: "undrained" };
  },
  remove: async (request: RemoveRequest) => {
    calls.push(["remove", request]);
    if (request.force !== true) throw new QuorumError();
    return { ok: true, message: "removed" };
  },
};

beforeEach(async () => {
  calls.length = 0;
  dir = mkdtempSync(join(tmpdir(), "conclave-cli-contract-"));
  socketPath = join(dir, "control.sock");
  server = createControlServer({ socketPath, handlers });
  await server.start();
});

afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function conclave(...argv: string[]) {
  const io = captureOutput();
  const code = await runCli([...argv, "--socket", socketPath], { ...io, env: {} });
  return { code, out: io.out, err: io.err };
}

describe("the CLI against the daemon's control server", () => {
  it("reads status, members and history", async () => {
    for (const command of ["status", "members", "history"]) {
      const { code, err } = await conclave(command);
      expect({ command, code, err }).toEqual({ command, code: EXIT_OK, err: "" });
    }
    expect(JSON.parse((await conclave("status", "--json")).out)).toEqual(STATUS);
  });

  it("sends every change in the shape the server accepts", async () => {
    expect((await conclave("transfer-leadership")).code).toBe(EXIT_OK);
    expect((await conclave("transfer-leadership", "--to", "bmc2")).code).toBe(EXIT_OK);
    expect((await conclave("step-down")).code).toBe(EXIT_OK);
    expect((await conclave("drain", "bmc2")).code).toBe(EXIT_OK);
    expect((await conclave("undrain", "bmc2")).code).toBe(EXIT_OK);
    expect((await conclave("remove", "bmc3", "--force")).code).toBe(EXIT_OK);
    expect(calls).toEqual([
      ["transfer", {}],
      ["transfer", { to: "bmc2" }],
      ["stepDown", undefined],
      ["drain", { node: "bmc2" }],
      ["undrain", { node: "bmc2" }],
      ["remove", { node: "bmc3", force: true }],
    ]);
  });

  it("turns the server's quorum refusal into exit 1 and a sentence naming --force", async () => {
    const { code, err } = await conclave("remove", "bmc3");
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe(
      "conclave: refused to remove bmc3 because the cluster would lose its quorum: removing bmc3 leaves 1 of 2 voters: no quorum (--force removes it anyway)\n",
    );
  });
});
