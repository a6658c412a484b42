// Proves `npm run demo` works end to end: the demo starts 3 simulated BMCs and 3 agents, the VIP
// answers with the cluster's ServiceRoot, and one SIGINT (Ctrl-C) stops every child it started (checked
// by pid) and removes its temp dir.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, getServiceRoot, isRunning } from "../../scripts/demo/loopback-group.ts";

const DEMO = resolve(import.meta.dirname, "../../scripts/demo/demo.ts");
/** Bound on the demo printing its files (timing `fast`; it also waits up to 15 s for voters). */
const READY_TIMEOUT_MS = 50_000;
/** Bound on the demo stopping after SIGINT (each agent may hand over for 3 s first). */
const STOP_TIMEOUT_MS = 30_000;
/** A safety net should the test itself die: the demo stops by itself after this. */
const DEMO_EXIT_AFTER_MS = 120_000;

interface DemoFile {
  readonly vipUrl: string;
  readonly clusterUuid: string;
  readonly agents: readonly { readonly name: string; readonly pid: number }[];
  readonly simulators: readonly { readonly name: string; readonly pid: number }[];
}

describe("npm run demo", () => {
  let demo: ChildProcess | undefined;
  let output = "";
  let dir: string | undefined;
  let pids: number[] = [];

  afterAll(() => {
    // Only when the test failed half-way: nothing of the demo may outlive it.
    if (demo !== undefined && demo.exitCode === null && demo.signalCode === null) demo.kill("SIGKILL");
    for (const pid of pids) if (isRunning(pid)) process.kill(-pid, "SIGKILL");
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("answers on the VIP, then stops on SIGINT leaving no process and no temp dir", async () => {
    const child = spawn(process.execPath, [DEMO, "--timing", "fast"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CONCLAVE_DEMO_EXIT_AFTER_MS: String(DEMO_EXIT_AFTER_MS) },
    });
    demo = child;
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });

    dir = await eventually(
      "the demo to print its files",
      async () => {
        if (child.exitCode !== null) throw new Error(`the demo exited with ${child.exitCode}:\n${output}`);
        const match = /demo files\s+(\S+)/.exec(output);
        return match?.[1];
      },
      READY_TIMEOUT_MS,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${output}`);
    });
    const info = JSON.parse(readFileSync(join(dir, "demo.json"), "utf8")) as DemoFile;
    pids = [...info.agents, ...info.simulators].map((process) => process.pid);
    expect(pids).toHaveLength(6);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    expect(output).toContain(info.vipUrl);
    expect(output).toMatch(/login\s+\S+ \/ \S+/);
    expect(output).toContain("transfer-leadership");
    expect(output).toMatch(/kill -9 \d+/);

    const { hostname, port } = new URL(info.vipUrl);
    const root = await getServiceRoot(hostname, Number(port));
    expect(root?.uuid).toBe(info.clusterUuid);

    child.kill("SIGINT");
    const code = await Promise.race([
      exited,
      new Promise<"timeout">((resolveTimeout) => setTimeout(() => resolveTimeout("timeout"), STOP_TIMEOUT_MS)),
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain("Stopped; the demo's files are removed.");
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} still running`).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
