// Proves conclaved refuses a bad configuration with exit code 2 and one clear message naming the file and the key, a cluster secret readable by others with exit code 2 naming the file, and a facade TLS key that is not there (facadeTls.enabled) with exit code 2 naming it.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, it } from "vitest";
import { generateClusterSecret } from "../../src/identity/cluster-secret.ts";

const BIN = resolve(import.meta.dirname, "../../src/bin/conclaved.ts");
const dir = mkdtempSync(join(tmpdir(), "conclave-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(config: string): Promise<{ status: number | null; stderr: string }> {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [BIN, "--config", file],
      { encoding: "utf8", timeout: 20_000 },
      (error, _stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolveRun({ status, stderr: stderr.replaceAll(file, "FILE") });
      },
    );
  });
}

describe.concurrent("conclaved start-up errors", () => {
  it("exits 2 on an unknown key, naming the file and the key", async ({ expect }) => {
    const { status, stderr } = await run("clusterName: rack-a\nvip:\n  adress: 10.0.0.1\n");
    expect(status).toBe(2);
    expect(stderr).toContain('config FILE: unknown key "vip.adress" (did you mean "vip.address"?)');
  });

  it("exits 2 on a bad nodeHttp value", async ({ expect }) => {
    const { status, stderr } = await run("clusterName: rack-a\nnodeHttp: localhost\n");
    expect(status).toBe(2);
    expect(stderr).toContain('"nodeHttp" must be an address and port');
  });

  it("exits 2 when the cluster secret is readable by others, naming the file", async ({ expect }) => {
    const secret = join(dir, "open.key");
    writeFileSync(secret, generateClusterSecret());
    chmodSync(secret, 0o644);
    const { status, stderr } = await run(
      `clusterName: rack-a\nsecretFile: ${secret}\nstateDir: ${join(dir, "state")}\nmdns: false\nlisten: [/ip4/127.0.0.1/tcp/0]\n`,
    );
    expect(status).toBe(2);
    expect(stderr).toContain(secret);
  });

  it("exits 2 when TLS is required and the facade's key is not there, naming the file", async ({ expect }) => {
    const secret = join(dir, "tls-cluster.key");
    writeFileSync(secret, generateClusterSecret(), { mode: 0o600 });
    const keyFile = join(dir, "absent-facade.key");
    const { status, stderr } = await run(
      `clusterName: rack-a
secretFile: ${secret}
stateDir: ${join(dir, "tls-state")}
mdns: false
listen: [/ip4/127.0.0.1/tcp/0]
nodeHttp: "127.0.0.1:0"
facadeTls:
  enabled: true
  keyFile: ${keyFile}
`,
    );
    expect(status).toBe(2);
    expect(stderr).toContain(`the facade's TLS key ${keyFile} does not exist (conclave init writes one)`);
  });
});
