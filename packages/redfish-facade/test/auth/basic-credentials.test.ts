// Proves password checks are bounded (at most PASSWORD_CHECKS_CONCURRENT_MAX run, PASSWORD_CHECKS_QUEUED_MAX wait, the next is refused) and Basic headers are parsed strictly.
import { describe, expect, it } from "vitest";
import { AuthState } from "../../src/auth/auth-state.ts";
import {
  PASSWORD_CHECKS_CONCURRENT_MAX,
  PASSWORD_CHECKS_QUEUED_MAX,
  PasswordChecker,
  PasswordChecksBusyError,
  parseBasic,
} from "../../src/auth/basic-credentials.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";

describe("PasswordChecker", () => {
  it("runs a bounded number of scrypt checks and refuses one more than the queue holds", async () => {
    const state = new AuthState();
    state.apply({
      type: "account.bootstrap",
      body: { userName: "admin", passwordHash: await hashPassword("admin-password"), atMs: 0 },
    });
    const checker = new PasswordChecker(() => 0);
    const accepted = Array.from({ length: PASSWORD_CHECKS_CONCURRENT_MAX + PASSWORD_CHECKS_QUEUED_MAX }, (_, i) =>
      checker.check(state, "admin", i === 0 ? "admin-password" : "wrong-password"),
    );
    await expect(checker.check(state, "admin", "admin-password")).rejects.toBeInstanceOf(PasswordChecksBusyError);
    const results = await Promise.all(accepted);
    expect(results[0]?.userName).toBe("admin");
    expect(results.slice(1).every((result) => result === undefined)).toBe(true);
    // Once the queue drained, checks are accepted again.
    expect((await checker.check(state, "admin", "admin-password"))?.id).toBe("1");
  });
});

describe("parseBasic", () => {
  const encode = (text: string) => Buffer.from(text).toString("base64");
  it.each([
    [`Basic ${encode("admin:pass:word")}`, { userName: "admin", password: "pass:word" }],
    [`basic ${encode("admin:")}`, { userName: "admin", password: "" }],
    [`Basic ${encode(":password")}`, undefined],
    [`Basic ${encode("no-colon")}`, undefined],
    ["Basic", undefined],
    ["Basic !!!", undefined],
    [`Bearer ${encode("admin:password")}`, undefined],
    [`Basic ${"QUFB".repeat(400)}`, undefined],
  ])("%s", (header, expected) => {
    expect(parseBasic(header)).toEqual(expected);
  });
});
