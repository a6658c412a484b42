// Proves the CLI prints its bound URL as one JSON line, serves Redfish there, exits 0 on SIGTERM and 2 on bad flags.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, packageRoot } from "./helpers.ts";

const CLI = resolve(packageRoot, "src/cli.ts");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function run(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) return line;
  throw new Error("the CLI closed stdout without a line");
}

async function stderrOf(child: ChildProcess): Promise<string> {
  let text = "";
  child.stderr?.on("data", (chunk) => {
    text += chunk;
  });
  await once(child, "exit");
  return text;
}

describe("cli", () => {
  it("starts, prints {url} on stdout, serves Redfish, and exits 0 on SIGTERM", async () => {
    const child = run(["--port", "0", "--name", "bmc1", "--host", "127.0.0.1", "--log-level", "warn"]);
    const line = JSON.parse(await firstLine(child));
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.name).toBe("bmc1");
    const root = (await (await fetch(`${line.url}/redfish/v1`)).json()) as Record<string, unknown>;
    expect(root.Product).toContain("bmc1");
    const manager = (await (await fetch(`${line.url}/redfish/v1/Managers/bmc`, { headers: ADMIN })).json()) as Record<
      string,
      unknown
    >;
    expect(manager.ServiceIdentification).toBe("bmc1");
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it("names a bad flag value in one sentence and exits 2", async () => {
    const child = run(["--port", "banana"]);
    const stderr = await stderrOf(child);
    expect(child.exitCode).toBe(2);
    expect(stderr).toContain('--port must be an integer from 0 to 65535, got "banana".');
  });

  it("rejects an unknown flag and a missing mockup directory with exit 2", async () => {
    const unknown = run(["--colour", "red"]);
    expect(await stderrOf(unknown)).toMatch(/Unknown option '--colour'/);
    expect(unknown.exitCode).toBe(2);
    const missing = run(["--mockup", "/nonexistent/mockup"]);
    expect(await stderrOf(missing)).toContain("mockup directory /nonexistent/mockup does not exist");
    expect(missing.exitCode).toBe(2);
  });
});
