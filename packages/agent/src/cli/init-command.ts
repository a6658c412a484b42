// `conclave init`: a new cluster secret and a starter config (initCluster), the facade's
// self-signed TLS certificate and key for the VIP, then what to do with them.
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import {
  ConfigSchema,
  DEFAULT_ADMIN_CREDENTIAL_FILE,
  DEFAULT_FACADE_CERT_FILE,
  DEFAULT_FACADE_KEY_FILE,
} from "../config/schema.ts";
import { InitExistsError } from "../errors.ts";
import { generateFacadeCertificate, writeFacadeCertificate } from "../facade-host/facade-certificate.ts";
import { CLUSTER_SECRET_FILE_NAME, CONFIG_FILE_NAME, initCluster } from "../identity/init-cluster.ts";
import { FIRST_ADMIN_USER_NAME, generateAdminPassword, readAdminPasswordFile } from "./admin-password.ts";
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
  if (options.vip !== undefined && isIP(options.vip) === 0) {
    throw new UsageError(`--vip "${options.vip}" is not an IPv4 or IPv6 address (e.g. "10.0.0.100")`);
  }
  const givenPassword =
    options.adminPasswordFile === undefined ? undefined : readAdminPasswordFile(options.adminPasswordFile);
  const adminPassword = givenPassword ?? generateAdminPassword();
  const dir = options.dir ?? DEFAULT_INIT_DIR;
  const adminFile = join(resolve(dir), DEFAULT_ADMIN_CREDENTIAL_FILE);
  // The starter config leaves facadeTls at its defaults: these files, next to it.
  const tlsFiles = {
    certFile: join(resolve(dir), DEFAULT_FACADE_CERT_FILE),
    keyFile: join(resolve(dir), DEFAULT_FACADE_KEY_FILE),
  };
  let result: ReturnType<typeof initCluster>;
  try {
    if (options.force !== true) {
      // Every file is checked before any is written: a refusal leaves the directory as it was.
      const all = [CLUSTER_SECRET_FILE_NAME, CONFIG_FILE_NAME].map((name) => join(resolve(dir), name));
      const existing = [...all, tlsFiles.certFile, tlsFiles.keyFile, adminFile].filter((file) => existsSync(file));
      if (existing.length > 0) throw new InitExistsError(existing);
    }
    // Generated first (the slow part, and the one that can refuse the VIP), written last.
    const pair = await generateFacadeCertificate({
      clusterName,
      ...(options.vip === undefined ? {} : { vipAddress: options.vip }),
    });
    result = initCluster({ dir, clusterName, force: options.force });
    writeFacadeCertificate(tlsFiles, pair, options.force !== true);
    // Loaded here only: it brings the facade's password hashing, which no other command needs.
    const { writeAdminCredentialFile } = await import("../facade-state/admin-credential-file.ts");
    await writeAdminCredentialFile(adminFile, {
      userName: FIRST_ADMIN_USER_NAME,
      password: adminPassword,
      force: options.force === true,
    });
  } catch (err) {
    throw initFailure(err, dir);
  }
  const names = options.vip === undefined ? `"${clusterName}"` : `${options.vip} and "${clusterName}"`;
  if (options.json) {
    context.stdout.write(
      renderJson({
        ...result,
        clusterName,
        ...tlsFiles,
        vip: options.vip ?? null,
        adminFile,
        adminUserName: FIRST_ADMIN_USER_NAME,
        // Shown this once when generated; never stored.
        adminPassword: givenPassword === undefined ? adminPassword : null,
      }),
    );
    return;
  }
  context.stdout.write(
    [
      `Wrote a new cluster "${clusterName}":`,
      `  ${result.secretFile}  the cluster secret (mode 0600, fingerprint ${result.fingerprint})`,
      `  ${result.configFile}  the starter config`,
      `  ${tlsFiles.certFile}  the facade's self-signed TLS certificate, for ${names}`,
      `  ${tlsFiles.keyFile}  its private key (mode 0600)`,
      `  ${adminFile}  the first Redfish administrator "${FIRST_ADMIN_USER_NAME}" (password hash only, mode 0600)`,
      "",
      ...(givenPassword === undefined
        ? [
            `The administrator's password, shown this once (it is stored nowhere): ${adminPassword}`,
            "Log in to the facade with it, then change it through the AccountService.",
            "",
          ]
        : []),
      "Next steps:",
      `  1. Review ${result.configFile}: the VIP (mode, address, interface)${options.vip === undefined ? " (run init again with --vip to name it in the certificate)" : ""}, peers and bootstrapExpect.`,
      "  2. Copy these files, unchanged, to every BMC of the group (same paths; keep cluster.key, facade.key and admin.yaml mode 0600, owned by the agent's user).",
      "     What differs per BMC (nodeName, role, priority, labels, bmc) goes into conclave.local.yaml next to them.",
      "  3. Start conclaved on every BMC, then run `conclave status` on any of them.",
      "",
    ].join("\n"),
  );
}

function initFailure(err: unknown, dir: string): unknown {
  if (err instanceof InitExistsError) {
    const files =
      err.files.length <= 2 ? err.files.join(" and ") : `${err.files.slice(0, -1).join(", ")} and ${err.files.at(-1)}`;
    return new CliError(
      err.code,
      `refusing to overwrite ${files}: a cluster is already initialised there (--force replaces them, and every node holding the old secret can then no longer talk to this one)`,
      EXIT_FAILED,
      { cause: err },
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "AGENT_ERR_ADMIN_CREDENTIAL") {
    return new CliError(code, (err as Error).message, EXIT_FAILED, { cause: err });
  }
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
