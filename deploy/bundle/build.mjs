#!/usr/bin/env node
// Builds the one-file bundles a BMC image installs: dist/conclaved.mjs (the daemon) and
// dist/conclave.mjs (the CLI), each self-contained (Node built-ins only), ESM, minified, for
// Node 22 and later. `pnpm bundle` runs it; `node deploy/bundle/build.mjs --outdir DIR` builds elsewhere.
//
// Two files rather than one dispatching on argv[1]: the CLI runs on every `conclave status` and at
// every ExecStopPost, and loading only its own 0.4 MB starts faster and uses less memory on a BMC
// than parsing the daemon's 2 MB. The code they share is duplicated on disk (~0.3 MB), which is
// cheaper on a BMC than a shared chunk that must be installed and kept in step with both.
//
// Plain JavaScript so that any Node can run it without type stripping.
import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The entry points, by output name. */
export const BUNDLE_ENTRIES = Object.freeze({
  conclaved: join(ROOT, "packages/agent/src/bin/conclaved.ts"),
  conclave: join(ROOT, "packages/agent/src/bin/conclave.ts"),
});

/** The oldest Node the bundles run on (libp2p 3 needs 22). */
export const BUNDLE_TARGET = "node22";

/**
 * Some dependencies are CommonJS and call `require` (for Node built-ins, e.g. pino, fastify's
 * helpers); an ES module has no `require`, so the bundle makes one. Named so it cannot clash with
 * the minifier's names.
 */
const CREATE_REQUIRE_BANNER =
  "import{createRequire as __conclaveCreateRequire}from'node:module';const require=__conclaveCreateRequire(import.meta.url);";

/** Native addons cannot be bundled: any `.node` file reaching the bundle fails the build. */
const NATIVE_ADDON_FILTER = /\.node$/;

const refuseNativeAddons = {
  name: "refuse-native-addons",
  setup(build) {
    build.onResolve({ filter: NATIVE_ADDON_FILTER }, (args) => ({
      errors: [
        { text: `native addon ${args.path} imported by ${args.importer}: the bundle must stay pure JavaScript` },
      ],
    }));
  },
};

/**
 * Builds the bundles into `outdir` and returns each file with its size and gzip size (bytes) and
 * the modules it still imports at run time.
 * `entries` defaults to BUNDLE_ENTRIES (tests may add their own).
 */
export async function buildBundle({ outdir, entries = BUNDLE_ENTRIES, minify = true }) {
  const result = await esbuild.build({
    entryPoints: entries,
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: BUNDLE_TARGET,
    format: "esm",
    minify,
    // Keeps class and function names, so logged errors still say `ConfigError`, not `e`.
    keepNames: true,
    legalComments: "none",
    // The entry files' `#!/usr/bin/env node` line is kept by esbuild, above the banner.
    banner: { js: CREATE_REQUIRE_BANNER },
    metafile: true,
    logLevel: "silent",
    absWorkingDir: ROOT,
    plugins: [refuseNativeAddons],
  });
  const files = [];
  for (const name of Object.keys(entries)) {
    const file = join(outdir, `${name}.mjs`);
    const bytes = readFileSync(file);
    const output = result.metafile.outputs[relative(ROOT, file).split(sep).join("/")];
    // What the file still imports at run time: only Node built-ins when everything was bundled.
    const externalImports = [...new Set((output?.imports ?? []).filter((i) => i.external).map((i) => i.path))];
    files.push({
      name,
      file,
      bytes: statSync(file).size,
      gzipBytes: gzipSync(bytes, { level: 9 }).length,
      externalImports,
    });
  }
  return { files, warnings: result.warnings };
}

function formatBytes(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main() {
  const { values } = parseArgs({ options: { outdir: { type: "string", default: join(ROOT, "dist") } } });
  const outdir = resolve(values.outdir);
  const { files, warnings } = await buildBundle({ outdir });
  for (const warning of warnings) process.stderr.write(`bundle: warning: ${warning.text}\n`);
  for (const { file, bytes, gzipBytes } of files) {
    process.stdout.write(`${relative(process.cwd(), file)}  ${formatBytes(bytes)}  (gzip ${formatBytes(gzipBytes)})\n`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
