// This BMC's own Redfish credentials (`bmc.credentialsFile`): a small YAML or JSON file
//
//   username: conclave
//   password: "s3cret"
//
// (or `{"username": "conclave", "password": "s3cret"}`), mode 0600, owned by the agent's user,
// different on every BMC and never shared: no node holds another BMC's credentials.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { BmcCredentialsError } from "../errors.ts";
import { checkSecretFile, formatMode } from "../identity/secure-file.ts";

/** A credentials file is two short strings; anything bigger is a mistake (a key, an image). */
export const MAX_CREDENTIALS_FILE_BYTES = 4 * 1024;
const MAX_FIELD_LENGTH = 256;

export interface BmcCredentials {
  readonly username: string;
  readonly password: string;
}

/** Credentials that print, log and serialise with the password hidden. */
export function bmcCredentials(username: string, password: string): BmcCredentials {
  const credentials = { username } as { username: string; password: string };
  Object.defineProperty(credentials, "password", { value: password, enumerable: false });
  Object.defineProperty(credentials, "toJSON", {
    value: () => ({ username, password: "[redacted]" }),
    enumerable: false,
  });
  Object.defineProperty(credentials, Symbol.for("nodejs.util.inspect.custom"), {
    value: () => `BmcCredentials { username: ${JSON.stringify(username)}, password: [redacted] }`,
    enumerable: false,
  });
  return Object.freeze(credentials);
}

/** Reads and checks the credentials file. Refuses one that group or others can read. */
export function readBmcCredentials(file: string): BmcCredentials {
  const problem = checkSecretFile(file);
  if (problem !== undefined) {
    switch (problem.kind) {
      case "missing":
        throw new BmcCredentialsError(
          file,
          `BMC credentials file ${file} does not exist; write one with "username:" and "password:" lines and chmod 600 it`,
        );
      case "not-a-file":
        throw new BmcCredentialsError(file, `BMC credentials file ${file} is not a regular file`);
      case "too-open":
        throw new BmcCredentialsError(
          file,
          `BMC credentials file ${file} is readable by group or others (mode ${formatMode(problem.mode)}); run: chmod 600 ${file}`,
        );
      case "unreadable":
        throw new BmcCredentialsError(file, `cannot read BMC credentials file ${file}: ${String(problem.error)}`, {
          cause: problem.error,
        });
    }
  }
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.byteLength > MAX_CREDENTIALS_FILE_BYTES) {
      throw new BmcCredentialsError(file, `BMC credentials file ${file} is too large to be one (over 4 KiB)`);
    }
    text = bytes.toString("utf8");
  } catch (err) {
    if (err instanceof BmcCredentialsError) throw err;
    throw new BmcCredentialsError(file, `cannot read BMC credentials file ${file}: ${String(err)}`, { cause: err });
  }
  return parseBmcCredentials(text, file);
}

/** Parses the file's text: exactly `username` and `password`, both non-empty strings. */
export function parseBmcCredentials(text: string, file: string): BmcCredentials {
  const expected = 'expected "username" and "password", e.g. username: conclave / password: "..."';
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch {
    // The parser's message may quote the file's text, the password included: never pass it on.
    throw new BmcCredentialsError(file, `BMC credentials file ${file} is not valid YAML or JSON (${expected})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BmcCredentialsError(file, `BMC credentials file ${file} is not a mapping (${expected})`);
  }
  const record = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((key) => key !== "username" && key !== "password");
  if (unknownKeys.length > 0) {
    throw new BmcCredentialsError(
      file,
      `BMC credentials file ${file} has unknown key ${unknownKeys.map((key) => `"${key}"`).join(", ")} (${expected})`,
    );
  }
  for (const key of ["username", "password"] as const) {
    const value = record[key];
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_FIELD_LENGTH) {
      throw new BmcCredentialsError(
        file,
        `BMC credentials file ${file}: "${key}" must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters`,
      );
    }
  }
  return bmcCredentials(record.username as string, record.password as string);
}
