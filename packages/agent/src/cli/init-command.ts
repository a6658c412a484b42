// `conclave init`: a new cluster secret and a starter config (initCluster), then what to do with them.
import { ConfigSchema } from "../config/schema.ts";
import { InitExistsError } from "../errors.ts";
import { initCluster } from "../identity/init-cluster.ts";
import type { CliContext } from "./cli-context.ts";
import { CliError, EXIT_FAILED, UsageError } from "./cli-errors.ts";
import { DEFAULT_CLUSTER_NAME, DEFAULT_INIT_DIR } from "./command-specs.ts";
import { renderJson } from "./render.ts";

const CLUSTER_NAME_PATTERN = new RegExp(
  String((ConfigSchema.properties.clusterName as { readonly pattern?: unknown }).pattern),
);

export async function runInit(context: CliContext): Promise<void> {
  const { options } = context;
  const clusterName = options.clusterName ?? DEFAULT_CLUSTER_NAME;
  if (!CLUSTER_NAME_PATTERN.test(clusterName)) {
    throw new UsageError(
      `--cluster-name "${clusterName}" is not a valid cluster name: use lower-case letters, digits and inner hyphens, at most 32 characters (e.g. "rack-a")`,
    );
  }
  const dir = options.dir ?? DEFAULT_INIT_DIR;
  let result: ReturnType<typeof initCluster>;
  try {
    result = initCluster({ dir, clusterName, force: options.force });
  } catch (err) {
    throw initFailure(err, dir);
  }
  if (options.json) {
    context.stdout.write(renderJson({ ...result, clusterName }));
    return;
  }
  context.stdout.write(
    [
      `Wrote a new cluster "${clusterName}":`,
      `  ${result.secretFile}  the cluster secret (mode 0600, fingerprint ${result.fingerprint})`,
      `  ${result.configFile}  the starter config`,
      "",
      "Next steps:",
      `  1. Review ${result.configFile}: the VIP (mode, address, interface), peers and bootstrapExpect.`,
      "  2. Copy both files, unchanged, to every BMC of the group (same paths; keep cluster.key mode 0600, owned by the agent's user).",
      "  3. Start conclaved on every BMC, then run `conclave status` on any of them.",
      "",
    ].join("\n"),
  );
}

function initFailure(err: unknown, dir: string): unknown {
  if (err instanceof InitExistsError) {
    return new CliError(
      err.code,
      `refusing to overwrite ${err.files.join(" and ")}: a cluster is already initialised there (--force replaces them, and every node holding the old secret can then no longer talk to this one)`,
      EXIT_FAILED,
      { cause: err },
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new CliError(
      "AGENT_ERR_INIT_WRITE",
      `cannot write into ${dir}: ${code === "EROFS" ? "read-only file system" : "permission denied (run as root or choose another --dir)"}`,
      EXIT_FAILED,
      {
        cause: err,
      },
    );
  }
  if (code === "ENOTDIR") {
    return new CliError("AGENT_ERR_INIT_WRITE", `cannot write into ${dir}: it is not a directory`, EXIT_FAILED, {
      cause: err,
    });
  }
  return err;
}
