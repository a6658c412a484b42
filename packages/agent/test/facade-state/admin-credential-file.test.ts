// Proves the first administrator's file holds only a scrypt hash, is written 0600 and never over an existing one, and is read strictly (mode, keys, user name, hash).
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyPassword } from "@conclave/redfish-facade";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN_CREDENTIAL_FILE_NAME,
  AdminCredentialError,
  readAdminCredentialFile,
  writeAdminCredentialFile,
} from "../../src/facade-state/admin-credential-file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-admin-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HASH = "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U";

function writeRaw(text: string, mode = 0o600): string {
  const file = join(dir, ADMIN_CREDENTIAL_FILE_NAME);
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

describe("admin.yaml", () => {
  it("is written 0600 with the user name and a scrypt hash only, and reads back", async () => {
    const file = join(dir, ADMIN_CREDENTIAL_FILE_NAME);
    await writeAdminCredentialFile(file, { userName: "admin", password: "the-first-password" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("the-first-password");
    const credential = readAdminCredentialFile(file);
    expect(credential.userName).toBe("admin");
    expect(await verifyPassword("the-first-password", credential.passwordHash)).toBe(true);
    expect(await verifyPassword("another-password", credential.passwordHash)).toBe(false);
  });

  it("is not written over an existing file unless forced", async () => {
    const file = join(dir, ADMIN_CREDENTIAL_FILE_NAME);
    await writeAdminCredentialFile(file, { userName: "admin", password: "first-password" });
    await expect(writeAdminCredentialFile(file, { userName: "root", password: "second-password" })).rejects.toThrow(
      /exists; pass force/,
    );
    await writeAdminCredentialFile(file, { userName: "root", password: "second-password", force: true });
    expect(readAdminCredentialFile(file).userName).toBe("root");
  });

  it("refuses a bad user name or an empty password when writing", async () => {
    const file = join(dir, ADMIN_CREDENTIAL_FILE_NAME);
    await expect(writeAdminCredentialFile(file, { userName: "a b", password: "password-1" })).rejects.toBeInstanceOf(
      AdminCredentialError,
    );
    await expect(writeAdminCredentialFile(file, { userName: "admin", password: "" })).rejects.toThrow(/empty/);
  });

  it.each([
    ["a group-readable file", `userName: admin\npasswordHash: "${HASH}"\n`, 0o640, /chmod 600/],
    [
      "an unknown key",
      `userName: admin\npasswordHash: "${HASH}"\npassword: hunter2\n`,
      0o600,
      /unknown key "password"/,
    ],
    ["a plain password instead of a hash", "userName: admin\npasswordHash: hunter2\n", 0o600, /scrypt hash/],
    [
      "a hash asking for 2^30 work",
      `userName: admin\npasswordHash: "${HASH.replace("ln=14", "ln=30")}"\n`,
      0o600,
      /scrypt hash/,
    ],
    ["a bad user name", `userName: "../root"\npasswordHash: "${HASH}"\n`, 0o600, /userName/],
    ["not a mapping", "- admin\n", 0o600, /must hold the keys/],
    ["not YAML", "userName: [admin\n", 0o600, /not YAML/],
  ])("refuses %s, naming the file", (_what, text, mode, message) => {
    const file = writeRaw(text, mode);
    expect(() => readAdminCredentialFile(file)).toThrow(message);
    expect(() => readAdminCredentialFile(file)).toThrow(file);
  });

  it("says a missing file is written by conclave init", () => {
    expect(() => readAdminCredentialFile(join(dir, "admin.yaml"))).toThrow(/conclave init writes it/);
  });
});
