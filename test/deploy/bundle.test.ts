// Proves the one-file bundles are self-contained and work: built into a temp dir, copied alone to
// another one, they boot a 3-node cluster on loopback (simulated BMCs) whose VIP serves the
// ServiceRoot with the cluster UUID, and the bundled CLI reads the status; nothing is left behind.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_ENTRIES, type BundleFile, buildBundle } from "../../deploy/bundle/build.mjs";
import {
  eventually,
  isRunning,
  type LoopbackGroup,
  startLoopbackGroup,
  waitForVip,
} from "../../scripts/demo/loopback-group.ts";

/**
 * The Node binaries the cluster boots on: this one, and CONCLAVE_TEST_EXTRA_NODE when set (e.g. a
 * Node 22 next to the toolchain's Node 24: the bundles target node22).
 */
const NODE_BINARIES = [
  process.execPath,
  ...(process.env.CONCLAVE_TEST_EXTRA_NODE ? [process.env.CONCLAVE_TEST_EXTRA_NODE] : []),
];

/** Bound on the cluster forming and the VIP answering (timing `fast`, 3 agents on a busy 2-core host). */
const VIP_TIMEOUT_MS = 40_000;

describe("the one-file bundle", () => {
  const buildDir = mkdtempSync(join(tmpdir(), "conclave-bundle-build-"));
  const installDir = mkdtempSync(join(tmpdir(), "conclave-bundle-install-"));
  let files: BundleFile[] = [];
  const groups: LoopbackGroup[] = [];

  beforeAll(async () => {
    ({ files } = await buildBundle({ outdir: buildDir }));
    // Only the two files, away from the repository's node_modules: nothing may resolve from there.
    for (const { name } of files) copyFileSync(join(buildDir, `${name}.mjs`), join(installDir, `${name}.mjs`));
  });

  afterAll(async () => {
    await Promise.all(groups.map((group) => group.stop()));
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(installDir, { recursive: true, force: true });
  });

  it("builds one file per entry point, reporting its size and gzip size", () => {
    expect(files.map((f) => f.name).sort()).toEqual(Object.keys(BUNDLE_ENTRIES).sort());
    for (const file of files) {
      expect(file.bytes).toBeGreaterThan(0);
      expect(file.gzipBytes).toBeGreaterThan(0);
      expect(file.gzipBytes).toBeLessThan(file.bytes);
      const text = readFileSync(file.file, "utf8");
      expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
      // Everything bundled: the only imports left are Node built-ins (undici probes `node:sqlite`
      // lazily, inside a try, for its optional cache store).
      expect(file.externalImports.length).toBeGreaterThan(0);
      expect(file.externalImports.filter((specifier) => !isBuiltin(specifier))).toEqual([]);
    }
  });

  it("inlines JSON imported with { type: 'json' } (the facade's message registry)", async () => {
    const entryDir = mkdtempSync(join(buildDir, "json-entry-"));
    const entry = join(entryDir, "entry.ts");
    const registry = join(import.meta.dirname, "../../packages/redfish-facade/registries/Base.1.22.1.json");
    writeFileSync(
      entry,
      `import registry from ${JSON.stringify(registry)} with { type: "json" };\nprocess.stdout.write(registry.RegistryVersion);\n`,
    );
    const built = await buildBundle({ outdir: entryDir, entries: { "json-entry": entry } });
    const expected = (JSON.parse(readFileSync(registry, "utf8")) as { RegistryVersion: string }).RegistryVersion;
    const { execFileSync } = await import("node:child_process");
    expect(execFileSync(process.execPath, [built.files[0]?.file as string], { encoding: "utf8" })).toBe(expected);
  });

  it.each(NODE_BINARIES)(
    "boots a 3-node cluster on %s whose VIP serves the cluster's ServiceRoot, then leaves nothing behind",
    async (node) => {
      const group = await startLoopbackGroup({
        size: 3,
        clusterName: "bundle-test",
        timing: "fast",
        daemonCommand: [node, join(installDir, "conclaved.mjs")],
        cliCommand: [node, join(installDir, "conclave.mjs")],
        tempPrefix: "conclave-bundle-cluster-",
      });
      groups.push(group);
      const pids = group.pids();
      expect(pids).toHaveLength(6);
      const root = await waitForVip(group, VIP_TIMEOUT_MS).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${agentLogs(group)}`);
      });
      expect(root.uuid).toMatch(/^[0-9a-f-]{36}$/);
      // A follower knows the UUID once it has applied the PoC's `cluster.init`, and each member once
      // it has applied the membership change that added it: separate entries, in either order.
      const status = await eventually(
        "a follower to report the cluster UUID and three members",
        async () => {
          const followerStatus = await group.status(1);
          return followerStatus.cluster.uuid === null || followerStatus.members.length < 3 ? undefined : followerStatus;
        },
        VIP_TIMEOUT_MS,
      );
      expect(status.cluster.uuid).toBe(root.uuid);
      expect(status.members).toHaveLength(3);
      expect(status.pocId).not.toBeNull();

      const dir = group.dir;
      await group.stop();
      for (const pid of pids) expect(isRunning(pid), `pid ${pid} still running`).toBe(false);
      expect(existsSync(dir)).toBe(false);
    },
  );
});

function agentLogs(group: LoopbackGroup): string {
  return group.agents
    .map((agent) => {
      const text = existsSync(agent.logFile) ? readFileSync(agent.logFile, "utf8") : "";
      return `--- ${agent.name} ---\n${text.split("\n").slice(-30).join("\n")}`;
    })
    .join("\n");
}
