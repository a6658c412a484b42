// Small file helpers for secrets: an owner-only mode check, and a write that never leaves a torn
// or group-readable file behind, even when the process dies half-way.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Mode bits that let anyone but the owner read, write or run the file. */
const GROUP_OR_OTHER_BITS = 0o077;

export type SecretFileProblem =
  | { readonly kind: "missing" }
  | { readonly kind: "not-a-file" }
  | { readonly kind: "too-open"; readonly mode: number }
  | { readonly kind: "unreadable"; readonly error: unknown };

/** Checks that `file` is a regular file only its owner can read. Returns what is wrong, or undefined. */
export function checkSecretFile(file: string): SecretFileProblem | undefined {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "unreadable", error: err };
  }
  if (!stats.isFile()) return { kind: "not-a-file" };
  const mode = stats.mode & 0o777;
  if ((mode & GROUP_OR_OTHER_BITS) !== 0) return { kind: "too-open", mode };
  return undefined;
}

/**
 * The operator-facing sentence for a problem other than "missing" (callers word that one
 * themselves: a missing node key is created, a missing secret is copied from another node).
 * `what` names the file's role, e.g. "node key" or "cluster secret".
 */
export function describeSecretFileProblem(
  what: string,
  file: string,
  problem: Exclude<SecretFileProblem, { kind: "missing" }>,
): { message: string; cause?: unknown } {
  switch (problem.kind) {
    case "not-a-file":
      return { message: `${what} ${file} is not a regular file` };
    case "too-open":
      return {
        message: `${what} ${file} is readable by group or others (mode ${formatMode(problem.mode)}); run: chmod 600 ${file}`,
      };
    case "unreadable":
      return { message: `cannot read ${what} ${file}: ${String(problem.error)}`, cause: problem.error };
  }
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * Writes `data` to `file` with `mode`: to a temporary file in the same directory first (created
 * with that mode, so the secret is never readable by others, not even for an instant), synced,
 * then renamed over the target and the directory synced. With `exclusive`, fails with EEXIST when
 * the target exists.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number, exclusive = false): void {
  const directory = dirname(file);
  const temporary = join(directory, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const descriptor = openSync(temporary, "wx", mode);
  try {
    writeFileSync(descriptor, data);
    fsyncSync(descriptor);
  } catch (err) {
    closeSync(descriptor);
    unlinkSync(temporary);
    throw err;
  }
  closeSync(descriptor);
  if (!exclusive) {
    try {
      renameSync(temporary, file);
    } catch (err) {
      unlinkSync(temporary);
      throw err;
    }
    syncDirectory(directory);
    return;
  }
  try {
    // link() fails atomically with EEXIST where rename() would replace the target.
    linkSync(temporary, file);
  } finally {
    unlinkSync(temporary);
  }
  syncDirectory(directory);
}

function syncDirectory(directory: string): void {
  const descriptor = openSync(directory, "r");
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
