// Proves deploy/systemd/conclaved.service is a unit systemd accepts without a single complaint
// (`systemd-analyze verify` in a temp root holding the binaries it names), that the same check
// catches a broken copy, and that it keeps the promises the daemon relies on.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SHUTDOWN_TRANSFER_WAIT_MS } from "../../packages/agent/src/daemon/daemon.ts";
import { readUnitMemoryEnvironment, SYSTEMD_UNIT_FILE } from "../../scripts/demo/unit-environment.ts";

const SYSTEM_UNIT_DIRS = ["/usr/lib/systemd/system", "/lib/systemd/system"];
const unitText = readFileSync(SYSTEMD_UNIT_FILE, "utf8");
const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
/** Shown in the test names when the verification cannot run here. */
const SKIP_NOTE = hasSystemdAnalyze ? "" : " (skipped: systemd-analyze is not installed)";

/** All values of `key` in the unit (keys may repeat). */
function values(key: string): string[] {
  return [...unitText.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => (m[1] as string).trim());
}

function seconds(value: string): number {
  const match = /^(\d+)(s|min)?$/.exec(value);
  if (match === null) throw new Error(`not a time span: ${value}`);
  return Number(match[1]) * (match[2] === "min" ? 60 : 1);
}

describe("deploy/systemd/conclaved.service", () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  /**
   * A root holding the system's own units (so targets and mounts resolve), executables at the
   * paths the unit runs, and `unit` in /etc/systemd/system. Returns systemd-analyze's verdict.
   */
  function verify(unit: string, binaries: readonly string[] = ["/usr/bin/conclaved", "/usr/bin/conclave"]) {
    const root = mkdtempSync(join(tmpdir(), "conclave-unit-root-"));
    roots.push(root);
    mkdirSync(join(root, "tmp"));
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    const systemUnits = SYSTEM_UNIT_DIRS.find((dir) => existsSync(join(dir, "sysinit.target")));
    if (systemUnits !== undefined) cpSync(systemUnits, join(root, "usr/lib/systemd/system"), { recursive: true });
    for (const binary of binaries) {
      mkdirSync(join(root, binary, ".."), { recursive: true });
      writeFileSync(join(root, binary), "#!/bin/sh\nexit 0\n");
      chmodSync(join(root, binary), 0o755);
    }
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    writeFileSync(join(root, "etc/systemd/system/conclaved.service"), unit);
    const run = spawnSync(
      "systemd-analyze",
      ["verify", "--man=no", `--root=${root}`, "/etc/systemd/system/conclaved.service"],
      { encoding: "utf8" },
    );
    return { code: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  }

  it.skipIf(!hasSystemdAnalyze)(`passes systemd-analyze verify without a warning${SKIP_NOTE}`, () => {
    expect(verify(unitText)).toEqual({ code: 0, output: "" });
  });

  it.skipIf(!hasSystemdAnalyze)(`the same check rejects a misspelt value and a missing binary${SKIP_NOTE}`, () => {
    const misspelt = verify(unitText.replace("Type=notify", "Type=notifyy"));
    expect(misspelt.output).toMatch(/Failed to parse service type.*notifyy/);
    const missing = verify(unitText, ["/usr/bin/conclaved"]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toMatch(/\/usr\/bin\/conclave is not executable/);
  });

  it("is a notify service with a watchdog that cleans up the VIP after any stop", () => {
    expect(values("Type")).toEqual(["notify"]);
    // The daemon's sd_notify messages come from a systemd-notify child process.
    expect(values("NotifyAccess")).toEqual(["all"]);
    expect(seconds(values("WatchdogSec")[0] as string)).toBeGreaterThan(0);
    expect(values("Restart")).toEqual(["always"]);
    expect(values("ExecStopPost")[0]).toMatch(/^\/usr\/bin\/conclave vip release\b/);
    // A PoC hands over for up to SHUTDOWN_TRANSFER_WAIT_MS before it exits: systemd must wait longer.
    expect(seconds(values("TimeoutStopSec")[0] as string) * 1000).toBeGreaterThan(SHUTDOWN_TRANSFER_WAIT_MS);
    expect(values("KillSignal")).toEqual(["SIGTERM"]);
  });

  it("starts after the network and the local Redfish server without requiring it", () => {
    expect(values("After").join(" ")).toMatch(/network-online\.target/);
    expect(values("After").join(" ")).toMatch(/bmcweb\.service/);
    expect(values("Wants").join(" ")).toMatch(/bmcweb\.service/);
    expect(values("Requires")).toEqual([]);
  });

  it("runs unprivileged with only the network capabilities", () => {
    const capabilities = "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_SYS_NICE";
    expect(values("CapabilityBoundingSet")).toEqual([capabilities]);
    expect(values("AmbientCapabilities")).toEqual([capabilities]);
    expect(values("NoNewPrivileges")).toEqual(["yes"]);
    expect(values("User")).toEqual(["conclave"]);
    expect(values("ProtectSystem")).toEqual(["strict"]);
    expect(values("StateDirectory")).toEqual(["conclave"]);
    expect(values("ConfigurationDirectory")).toEqual(["conclave"]);
    const families = (values("RestrictAddressFamilies")[0] ?? "").split(/\s+/);
    expect(families).toEqual(expect.arrayContaining(["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"]));
  });

  it("sets memory settings that this Node accepts", () => {
    const memory = readUnitMemoryEnvironment();
    expect(memory.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
    expect(memory.MALLOC_ARENA_MAX).toMatch(/^\d+$/);
    // Node refuses to start on an option it does not allow in NODE_OPTIONS.
    const output = execFileSync(process.execPath, ["-e", "process.stdout.write(process.env.NODE_OPTIONS)"], {
      encoding: "utf8",
      env: { ...process.env, ...memory },
    });
    expect(output).toBe(memory.NODE_OPTIONS);
  });
});
