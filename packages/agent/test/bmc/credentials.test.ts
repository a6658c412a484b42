// Proves the BMC credentials file is read as YAML or JSON, refused when group/world-readable or malformed, and that the password never shows in logs, JSON or errors.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBmcCredentials } from "../../src/bmc/index.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-credentials-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(text: string, mode = 0o600): string {
  const file = join(dir, "bmc-credentials");
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

describe("readBmcCredentials", () => {
  it("reads YAML and JSON", () => {
    expect(readBmcCredentials(write('username: conclave\npassword: "p@ss: word"\n'))).toMatchObject({
      username: "conclave",
      password: "p@ss: word",
    });
    const json = readBmcCredentials(write('{"username": "root", "password": "0penBmc"}'));
    expect([json.username, json.password]).toEqual(["root", "0penBmc"]);
  });

  it("hides the password from JSON, inspect and spreading", () => {
    const credentials = readBmcCredentials(write("username: root\npassword: hunter2\n"));
    expect(JSON.stringify(credentials)).not.toContain("hunter2");
    expect(inspect(credentials)).not.toContain("hunter2");
    expect(JSON.stringify({ ...credentials })).not.toContain("hunter2");
    expect(credentials.password).toBe("hunter2");
  });

  it("refuses a file others can read, naming the fix", () => {
    const file = write("username: root\npassword: x\n", 0o644);
    expect(() => readBmcCredentials(file)).toThrow(/mode 0644.*chmod 600/);
    try {
      readBmcCredentials(file);
    } catch (err) {
      expect(err).toMatchObject({ code: "AGENT_ERR_BMC_CREDENTIALS", file });
    }
  });

  it("refuses a missing file, unknown keys, missing or empty fields", () => {
    expect(() => readBmcCredentials(join(dir, "nope"))).toThrow(/does not exist/);
    expect(() => readBmcCredentials(write("username: root\npassword: x\nuser: y\n"))).toThrow(/unknown key "user"/);
    expect(() => readBmcCredentials(write("username: root\n"))).toThrow(/"password" must be a non-empty string/);
    expect(() => readBmcCredentials(write('username: root\npassword: ""\n'))).toThrow(/"password"/);
    expect(() => readBmcCredentials(write("- root\n- x\n"))).toThrow(/not a mapping/);
  });

  it("never quotes the file in a parse error (it holds the password)", () => {
    const file = write('username: root\npassword: "hunter2\n');
    expect(() => readBmcCredentials(file)).toThrow(/not valid YAML or JSON/);
    expect(() => readBmcCredentials(file)).not.toThrow(/hunter2/);
  });
});
