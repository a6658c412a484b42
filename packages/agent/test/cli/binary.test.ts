// Proves the real `conclave` executable end to end: a child process runs `status` against a fake control socket and exits with the right code and output.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeControlServer } from "./fake-control-server.ts";
import { STATUS } from "./fixtures.ts";

const BIN = fileURLToPath(new URL("../../src/bin/conclave.ts", import.meta.url));
const run = promisify(execFile);

let server: FakeControlServer;

beforeEach(async () => {
  server = await FakeControlServer.start();
  server.on("GET /v1/status", { body: STATUS });
});

afterEach(async () => {
  await server.close();
});

async function conclave(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...argv], { timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("node packages/agent/src/bin/conclave.ts", () => {
  it("status --socket prints the status without colour (stdout is a pipe) and exits 0", async () => {
    const { code, stdout, stderr } = await conclave("status", "--socket", server.socketPath);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/^cluster {2}rack-a \(5f0c6a8e-/);
    expect(stdout).toContain("PoC      bmc1\n");
    expect(stdout).not.toContain("\u001b[");
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["GET /v1/status"]);
  });

  it("exits 1 when the daemon is not there and 2 on a usage error", async () => {
    const down = await conclave("status", "--socket", `${server.socketPath}.absent`);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `conclave: cannot reach the daemon at ${server.socketPath}.absent: is conclaved running?\n`,
    );
    const usage = await conclave("stauts");
    expect(usage).toEqual({
      code: 2,
      stdout: "",
      stderr: 'conclave: unknown command "stauts" (did you mean "status"?)\n',
    });
  });
});
