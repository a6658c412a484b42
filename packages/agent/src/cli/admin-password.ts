// The first administrator's password for `conclave init`: read from --admin-password-file, or
// generated (printed once, never stored: only its scrypt hash goes into admin.yaml).
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { UsageError } from "./cli-errors.ts";

/** The user name of the first administrator (Redfish's conventional one; more are added through AccountService). */
export const FIRST_ADMIN_USER_NAME = "admin";
/** Random bytes in a generated password: 18 bytes are 24 base64url characters, 144 bits. */
export const GENERATED_PASSWORD_BYTES = 18;
/** The facade's default password policy (AccountService MinPasswordLength / MaxPasswordLength). */
export const ADMIN_PASSWORD_MIN_CHARS = 8;
export const ADMIN_PASSWORD_MAX_CHARS = 64;
/** A password file is one line; anything longer is not one. */
export const ADMIN_PASSWORD_FILE_MAX_BYTES = 1024;

export function generateAdminPassword(): string {
  return randomBytes(GENERATED_PASSWORD_BYTES).toString("base64url");
}

/** The password in `file`: its first line, without the line ending. Throws UsageError naming the file. */
export function readAdminPasswordFile(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--admin-password-file ${file}: ${code === "ENOENT" ? "no such file" : String(error)}`);
  }
  if (size > ADMIN_PASSWORD_FILE_MAX_BYTES) {
    throw new UsageError(
      `--admin-password-file ${file} is ${size} bytes: a password file holds one line of at most ${ADMIN_PASSWORD_MAX_CHARS} characters`,
    );
  }
  const password = (readFileSync(file, "utf8").split(/\r?\n/)[0] ?? "").trimEnd();
  if (password.length < ADMIN_PASSWORD_MIN_CHARS || password.length > ADMIN_PASSWORD_MAX_CHARS) {
    throw new UsageError(
      `--admin-password-file ${file}: the password must be ${ADMIN_PASSWORD_MIN_CHARS} to ${ADMIN_PASSWORD_MAX_CHARS} characters on the first line (got ${password.length})`,
    );
  }
  return password;
}
