// Proves conclaved refuses a bad configuration with exit code 2 and one clear message naming the file and the key, and a cluster secret readable by others with exit code 2 naming the file.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateClusterSecret } from "../../src/identity/cluster-secret.ts";

const BIN = resolve(import.meta.dirname, "../../src/bin/conclaved.ts");
const dir = mkdtempSync(join(tmpdir(), "conclave-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(config: string): { status: number | null; stderr: string } {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const result = spawnSync(process.execPath, [BIN, "--config", file], { encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stderr: result.stderr.replaceAll(file, "FILE") };
}

describe("conclaved start-up errors", () => {
  it("exits 2 on an unknown key, naming the file and the key", () => {
    const { status, stderr } = run("clusterName: rack-a\nvip:\n  adress: 10.0.0.1\n");
    expect(status).toBe(2);
    expect(stderr).toContain('config FILE: unknown key "vip.adress" (did you mean "vip.address"?)');
  });

  it("exits 2 on a bad nodeHttp value", () => {
    const { status, stderr } = run("clusterName: rack-a\nnodeHttp: localhost\n");
    expect(status).toBe(2);
    expect(stderr).toContain('"nodeHttp" must be an address and port');
  });

  it("exits 2 when the cluster secret is readable by others, naming the file", () => {
    const secret = join(dir, "open.key");
    writeFileSync(secret, generateClusterSecret());
    chmodSync(secret, 0o644);
    const { status, stderr } = run(
      `clusterName: rack-a\nsecretFile: ${secret}\nstateDir: ${join(dir, "state")}\nmdns: false\nlisten: [/ip4/127.0.0.1/tcp/0]\n`,
    );
    expect(status).toBe(2);
    expect(stderr).toContain(secret);
  });
});
