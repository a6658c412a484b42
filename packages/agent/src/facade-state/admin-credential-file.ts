// The first administrator's credential, as `conclave init` leaves it next to the config:
//
//   # Conclave: the first Redfish administrator, committed when the cluster has no account.
//   userName: admin
//   passwordHash: $scrypt$ln=14,r=8,p=1$<salt>$<key>
//
// Only the scrypt hash is written (mode 0600, atomically): the password itself is never on
// disk. The PoC commits it as account 1 (account.bootstrap) when the cluster has no account at
// all; afterwards the file is not read again, and changing the password through Redfish does
// not touch it.
import { readFileSync } from "node:fs";
import { hashPassword, isPasswordHash, USER_NAME_MAX_CHARS, USER_NAME_PATTERN } from "@conclave/redfish-facade";
import { parse, stringify } from "yaml";
import { checkSecretFile, describeSecretFileProblem, writeFileAtomic } from "../identity/secure-file.ts";

export const ADMIN_CREDENTIAL_FILE_NAME = "admin.yaml";
const FILE_MODE = 0o600;
/** Anything bigger than a user name, a hash and the header comment is not this file. */
const ADMIN_CREDENTIAL_FILE_MAX_BYTES = 4096;
const HEADER = "# Conclave: the first Redfish administrator, committed when the cluster has no account.\n";

export interface AdminCredential {
  readonly userName: string;
  /** scrypt PHC string (the facade's hashPassword). */
  readonly passwordHash: string;
}

/** The admin credential file is missing, too open, malformed, or already exists when writing. */
export class AdminCredentialError extends Error {
  readonly code = "AGENT_ERR_ADMIN_CREDENTIAL";
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AdminCredentialError";
    this.file = file;
  }
}

export interface WriteAdminCredentialOptions {
  readonly userName: string;
  readonly password: string;
  /** Replace an existing file (default: refuse). */
  readonly force?: boolean;
}

/** Hashes the password (scrypt) and writes the file, 0600. Throws AdminCredentialError. */
export async function writeAdminCredentialFile(file: string, options: WriteAdminCredentialOptions): Promise<void> {
  checkUserName(file, options.userName);
  if (options.password.length === 0) throw new AdminCredentialError(file, "the administrator's password is empty");
  const passwordHash = await hashPassword(options.password);
  const text = HEADER + stringify({ userName: options.userName, passwordHash });
  try {
    writeFileAtomic(file, text, FILE_MODE, options.force !== true);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new AdminCredentialError(file, `${file} exists; pass force to replace it`, { cause: error });
    }
    throw new AdminCredentialError(file, `cannot write ${file}: ${String(error)}`, { cause: error });
  }
}

/**
 * Reads the credential. Refuses a file group or others can read (the hash is offline-attackable),
 * unknown keys, a user name the accounts would refuse and a hash the facade cannot check.
 */
export function readAdminCredentialFile(file: string): AdminCredential {
  const problem = checkSecretFile(file);
  if (problem !== undefined) {
    if (problem.kind === "missing") {
      throw new AdminCredentialError(
        file,
        `${file} does not exist; conclave init writes it with the first administrator`,
      );
    }
    const { message, cause } = describeSecretFileProblem("administrator credential", file, problem);
    throw new AdminCredentialError(file, message, cause === undefined ? undefined : { cause });
  }
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > ADMIN_CREDENTIAL_FILE_MAX_BYTES) {
      throw new AdminCredentialError(
        file,
        `${file} is ${bytes.length} bytes; an admin credential is under ${ADMIN_CREDENTIAL_FILE_MAX_BYTES}`,
      );
    }
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof AdminCredentialError) throw error;
    throw new AdminCredentialError(file, `cannot read ${file}: ${String(error)}`, { cause: error });
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new AdminCredentialError(file, `${file} is not YAML: ${(error as Error).message}`, { cause: error });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new AdminCredentialError(file, `${file} must hold the keys userName and passwordHash`);
  }
  const unknown = Object.keys(data).filter((key) => key !== "userName" && key !== "passwordHash");
  if (unknown.length > 0)
    throw new AdminCredentialError(file, `${file}: unknown key ${unknown.map((key) => `"${key}"`).join(", ")}`);
  const { userName, passwordHash } = data as Record<string, unknown>;
  if (typeof userName !== "string") throw new AdminCredentialError(file, `${file}: userName must be a string`);
  checkUserName(file, userName);
  if (!isPasswordHash(passwordHash)) {
    throw new AdminCredentialError(
      file,
      `${file}: passwordHash must be a scrypt hash ($scrypt$ln=…,r=…,p=…$salt$key) written by conclave init`,
    );
  }
  return Object.freeze({ userName, passwordHash });
}

function checkUserName(file: string, userName: string): void {
  if (!new RegExp(USER_NAME_PATTERN).test(userName)) {
    throw new AdminCredentialError(
      file,
      `${file}: userName "${userName.slice(0, USER_NAME_MAX_CHARS + 8)}" must be 1 to ${USER_NAME_MAX_CHARS} letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}
