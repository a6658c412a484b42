// Proves the commands that need no daemon: `init` writes the secret, a loadable config and the facade's TLS certificate (SAN: the VIP and the cluster name) and key (0600) into a temp dir and refuses to overwrite any of them, and `vip release` reads the config and removes the VIP (through a fake `ip`).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyPassword } from "@conclave/redfish-facade";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runCli } from "../../src/cli/main.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { readFacadeTls } from "../../src/facade-host/facade-tls.ts";
import { readAdminCredentialFile } from "../../src/facade-state/admin-credential-file.ts";
import { readClusterSecret } from "../../src/identity/cluster-secret.ts";
import { FakeRunner } from "../vip/fake-runner.ts";
import { captureOutput } from "./fake-control-server.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-cli-local-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function conclave(argv: string[], vipRunner?: FakeRunner) {
  const io = captureOutput();
  const code = await runCli(argv, { ...io, env: {}, defaultConfigFile: join(dir, "absent.yaml"), vipRunner });
  return { code, out: io.out, err: io.err };
}

describe("conclave init", () => {
  it("writes cluster.key (0600) and a config that loads, prints both and the next steps", async () => {
    const target = join(dir, "etc");
    const { code, out, err } = await conclave([
      "init",
      "--dir",
      target,
      "--cluster-name",
      "rack-a",
      "--vip",
      "10.0.0.100",
    ]);
    expect({ code, err }).toEqual({ code: EXIT_OK, err: "" });
    const secretFile = join(target, "cluster.key");
    const configFile = join(target, "conclave.yaml");
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const { config } = loadConfig(configFile);
    expect(config.clusterName).toBe("rack-a");
    expect(config.secretFile).toBe(secretFile);
    const { fingerprint } = readClusterSecret(secretFile);
    expect(out).toContain('Wrote a new cluster "rack-a":\n');
    expect(out).toContain(`  ${secretFile}  the cluster secret (mode 0600, fingerprint ${fingerprint})\n`);
    expect(out).toContain(`  ${configFile}  the starter config\n`);
    const tls = readFacadeTls(config.facadeTls);
    expect(config.facadeTls).toEqual({ certFile: join(target, "facade.crt"), keyFile: join(target, "facade.key") });
    expect(tls.subjectAltName).toBe("IP Address:10.0.0.100, DNS:rack-a");
    expect(statSync(join(target, "facade.key")).mode & 0o777).toBe(0o600);
    expect(out).toContain(
      `  ${join(target, "facade.crt")}  the facade's self-signed TLS certificate, for 10.0.0.100 and "rack-a"\n`,
    );
    expect(out).toContain(`  ${join(target, "facade.key")}  its private key (mode 0600)\n`);
    expect(out).toContain("Copy these files, unchanged, to every BMC of the group");
    expect(out).toContain("conclave.local.yaml");
    // The first administrator: the generated password is printed once; admin.yaml holds its hash only.
    const password = /shown this once \(it is stored nowhere\): (\S+)\n/.exec(out)?.[1] as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const admin = readAdminCredentialFile(join(target, "admin.yaml"));
    expect(admin.userName).toBe("admin");
    expect(readFileSync(join(target, "admin.yaml"), "utf8")).not.toContain(password);
    expect(await verifyPassword(password, admin.passwordHash)).toBe(true);
    expect(statSync(join(target, "admin.yaml")).mode & 0o777).toBe(0o600);
  });

  it("refuses to overwrite an existing cluster (exit 1), and --force replaces the secret", async () => {
    expect((await conclave(["init", "--dir", dir])).code).toBe(EXIT_OK);
    const before = readFileSync(join(dir, "cluster.key"), "utf8");
    const refused = await conclave(["init", "--dir", dir, "--cluster-name", "rack-b"]);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.out).toBe("");
    expect(refused.err).toBe(
      `conclave: refusing to overwrite ${join(dir, "cluster.key")}, ${join(dir, "conclave.yaml")}, ${join(dir, "facade.crt")}, ${join(dir, "facade.key")} and ${join(dir, "admin.yaml")}: a cluster is already initialised there (--force replaces them, and every node holding the old secret can then no longer talk to this one)\n`,
    );
    expect(readFileSync(join(dir, "cluster.key"), "utf8")).toBe(before);
    expect(loadConfig(join(dir, "conclave.yaml")).config.clusterName).toBe("conclave");

    const forced = await conclave(["init", "--dir", dir, "--cluster-name", "rack-b", "--force", "--json"]);
    expect(forced.code).toBe(EXIT_OK);
    expect(JSON.parse(forced.out)).toMatchObject({
      clusterName: "rack-b",
      configFile: join(dir, "conclave.yaml"),
      secretFile: join(dir, "cluster.key"),
      fingerprint: expect.any(String),
    });
    expect(readFileSync(join(dir, "cluster.key"), "utf8")).not.toBe(before);
    expect(readFacadeTls(loadConfig(join(dir, "conclave.yaml")).config.facadeTls).subjectAltName).toBe("DNS:rack-b");
  });

  it("refuses a bad cluster name or VIP before writing anything (exit 2)", async () => {
    const { code } = await conclave(["init", "--dir", join(dir, "x"), "--cluster-name", "-bad-"]);
    expect(code).toBe(EXIT_USAGE);
    expect(() => statSync(join(dir, "x"))).toThrow();
    const badVip = await conclave(["init", "--dir", join(dir, "x"), "--vip", "10.0.0"]);
    expect(badVip).toMatchObject({
      code: EXIT_USAGE,
      err: 'conclave: --vip "10.0.0" is not an IPv4 or IPv6 address (e.g. "10.0.0.100")\n',
    });
    expect(() => statSync(join(dir, "x"))).toThrow();
  });

  it("takes the administrator's password from --admin-password-file, and refuses a bad one (exit 2)", async () => {
    const passwordFile = join(dir, "password");
    writeFileSync(passwordFile, "correct horse battery\n");
    const target = join(dir, "etc");
    const given = await conclave(["init", "--dir", target, "--admin-password-file", passwordFile, "--json"]);
    expect(given.code).toBe(EXIT_OK);
    expect(JSON.parse(given.out)).toMatchObject({ adminUserName: "admin", adminPassword: null });
    const admin = readAdminCredentialFile(join(target, "admin.yaml"));
    expect(await verifyPassword("correct horse battery", admin.passwordHash)).toBe(true);
    writeFileSync(passwordFile, "short\n");
    const refused = await conclave(["init", "--dir", join(dir, "other"), "--admin-password-file", passwordFile]);
    expect(refused).toMatchObject({
      code: EXIT_USAGE,
      err: `conclave: --admin-password-file ${passwordFile}: the password must be 8 to 64 characters on the first line (got 5)\n`,
    });
    expect(() => statSync(join(dir, "other"))).toThrow();
  });

  it("refuses when only the facade's certificate is there, touching nothing", async () => {
    writeFileSync(join(dir, "facade.crt"), "operator's own certificate");
    const refused = await conclave(["init", "--dir", dir]);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.err).toContain(`refusing to overwrite ${join(dir, "facade.crt")}:`);
    expect(() => statSync(join(dir, "cluster.key"))).toThrow();
    expect(readFileSync(join(dir, "facade.crt"), "utf8")).toBe("operator's own certificate");
  });

  it("says which directory it cannot write into", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const { code, err } = await conclave(["init", "--dir", join(file, "sub")]);
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe(`conclave: cannot write into ${join(file, "sub")}: it is not a directory\n`);
  });
});

describe("conclave vip release", () => {
  const writeConfig = (vip: string) => {
    const file = join(dir, "conclave.yaml");
    writeFileSync(file, `clusterName: rack-a\ninterface: eth0\nvip:\n${vip}`);
    return file;
  };

  it("removes the VIP from the interface, then says there is nothing left to release", async () => {
    const config = writeConfig("  mode: interface\n  address: 10.0.0.100\n  prefix: 24\n");
    const runner = new FakeRunner();
    runner.addresses.add("10.0.0.100/24");
    const first = await conclave(["vip", "release", "--config", config], runner);
    expect(first).toEqual({ code: EXIT_OK, out: "VIP 10.0.0.100 removed from eth0\n", err: "" });
    expect(runner.addresses.size).toBe(0);
    const again = await conclave(["vip", "release", "--config", config, "--json"], runner);
    expect(again.code).toBe(EXIT_OK);
    expect(JSON.parse(again.out)).toEqual({
      mode: "interface",
      address: "10.0.0.100",
      removed: false,
      message: "VIP 10.0.0.100 was not on eth0: nothing to release",
    });
  });

  it("has nothing to do in loopback mode; fails with the config's own sentence when the config is missing", async () => {
    const config = writeConfig("  mode: loopback\n  address: 127.0.0.10\n");
    const loopback = await conclave(["vip", "release", "--config", config], new FakeRunner());
    expect(loopback.out).toBe(
      "loopback VIP 127.0.0.10: nothing to release (the listener closes with the agent's process)\n",
    );
    const missing = await conclave(["vip", "release"]);
    expect(missing.code).toBe(EXIT_FAILED);
    expect(missing.err).toBe(`conclave: config ${join(dir, "absent.yaml")}: cannot read the file (no such file)\n`);
  });

  it("reports a refused ip command as a failure", async () => {
    const config = writeConfig("  mode: interface\n  address: 10.0.0.100\n");
    const runner = new FakeRunner().on(/addr del/, { fail: { stderr: "RTNETLINK answers: Operation not permitted" } });
    runner.addresses.add("10.0.0.100/24");
    const { code, err } = await conclave(["vip", "release", "--config", config], runner);
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe(
      "conclave: cannot remove VIP 10.0.0.100 on eth0: not permitted (the agent needs root or CAP_NET_ADMIN)\n",
    );
  });
});
