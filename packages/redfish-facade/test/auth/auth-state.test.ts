// Proves the auth rules on their own: password hashes (scrypt PHC, salted, tamper-evident), session expiry bounds, the limits, and a strict snapshot round trip.
import { describe, expect, it } from "vitest";
import { ACCOUNTS_MAX, SESSIONS_MAX } from "../../src/auth/auth-limits.ts";
import { AuthRuleViolation, AuthState, sessionExpiresAtMs, sessionTouchIntervalMs } from "../../src/auth/auth-state.ts";
import { hashPassword, isPasswordHash, verifyPassword } from "../../src/auth/password-hash.ts";
import { hashSessionToken, newSessionToken } from "../../src/auth/session-token.ts";

const HASH = "$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U";

function violation(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (error instanceof AuthRuleViolation) return error.code;
    throw error;
  }
  return "none";
}

function stateWithAdmin(): AuthState {
  const state = new AuthState();
  state.apply({ type: "account.bootstrap", body: { userName: "admin", passwordHash: HASH, atMs: 0 } });
  return state;
}

function sessionId(n: number): string {
  return n.toString(16).padStart(32, "0");
}

describe("password hashes", () => {
  it("are salted PHC scrypt strings that verify only the right password", async () => {
    const [first, second] = await Promise.all([hashPassword("s3cret-password"), hashPassword("s3cret-password")]);
    expect(first).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword("s3cret-password", first)).toBe(true);
    expect(await verifyPassword("s3cret-passwore", first)).toBe(false);
    // The hash's first character carries six bits of it (its last one may carry padding bits only).
    const hashStart = first.lastIndexOf("$") + 1;
    const flipped = first[hashStart] === "A" ? "B" : "A";
    const tampered = `${first.slice(0, hashStart)}${flipped}${first.slice(hashStart + 1)}`;
    expect(await verifyPassword("s3cret-password", tampered)).toBe(false);
    for (const bad of [
      "",
      "plain",
      HASH.replace("ln=14", "ln=40"),
      HASH.replace("r=8", "r=99"),
      `${HASH}x`.repeat(10),
    ]) {
      expect(isPasswordHash(bad)).toBe(false);
      expect(await verifyPassword("anything", bad)).toBe(false);
    }
  });

  it("session tokens are 256-bit base64url and stored as their SHA-256", () => {
    const token = newSessionToken();
    expect(Buffer.from(token, "base64url")).toHaveLength(32);
    expect(hashSessionToken(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashSessionToken(token)).not.toBe(hashSessionToken(newSessionToken()));
  });
});

describe("AuthState rules", () => {
  it("bounds a session's life by its committed use + timeout + one touch interval", () => {
    const state = stateWithAdmin();
    state.apply({ type: "auth.settings", body: { sessionTimeoutSeconds: 40 } });
    expect(sessionTouchIntervalMs(state.settings())).toBe(10_000);
    state.apply({
      type: "session.create",
      body: {
        id: sessionId(1),
        accountId: "1",
        tokenHash: "T".repeat(43),
        atMs: 1_000,
        clientOrigin: null,
        context: null,
      },
    });
    const session = state.session(sessionId(1))!;
    expect(sessionExpiresAtMs(session, state.settings())).toBe(1_000 + 40_000 + 10_000);
    state.apply({ type: "session.touch", body: { id: sessionId(1), lastUsedAtMs: 20_000 } });
    state.apply({ type: "session.touch", body: { id: sessionId(1), lastUsedAtMs: 5_000 } });
    expect(state.session(sessionId(1))?.lastUsedAtMs).toBe(20_000);
  });

  it("refuses beyond ACCOUNTS_MAX and SESSIONS_MAX, and a hash it cannot check", () => {
    const state = stateWithAdmin();
    for (let i = 2; i <= ACCOUNTS_MAX; i++) {
      state.apply({
        type: "account.create",
        body: { userName: `user${i}`, roleId: "ReadOnly", enabled: true, passwordHash: HASH, atMs: i },
      });
    }
    const create =
      (userName: string, passwordHash = HASH) =>
      () =>
        state.apply({
          type: "account.create",
          body: { userName, roleId: "ReadOnly", enabled: true, passwordHash, atMs: 0 },
        });
    expect(violation(create("one-too-many"))).toBe("accounts-full");
    expect(violation(create("user2"))).toBe("user-name-taken");
    expect(
      violation(() => state.apply({ type: "account.update", body: { id: "2", passwordHash: "plain", atMs: 1 } })),
    ).toBe("invalid-change");
    for (let i = 0; i < SESSIONS_MAX; i++) {
      state.apply({
        type: "session.create",
        body: {
          id: sessionId(i + 1),
          accountId: String(2 + (i % 60)),
          tokenHash: `${String(i).padStart(4, "0")}${"t".repeat(39)}`,
          atMs: 1_000,
          clientOrigin: null,
          context: null,
        },
      });
    }
    const more = () =>
      state.apply({
        type: "session.create",
        body: {
          id: sessionId(999),
          accountId: "1",
          tokenHash: "u".repeat(43),
          atMs: 2_000,
          clientOrigin: null,
          context: null,
        },
      });
    expect(violation(more)).toBe("sessions-full");
    expect(state.sessions()).toHaveLength(SESSIONS_MAX);
  });

  it("round-trips a snapshot exactly and refuses a damaged one", () => {
    const state = stateWithAdmin();
    state.apply({
      type: "session.create",
      body: { id: sessionId(5), accountId: "1", tokenHash: "T".repeat(43), atMs: 9, clientOrigin: "::1", context: "c" },
    });
    const snapshot = state.toSnapshot();
    const restored = AuthState.fromSnapshot(JSON.parse(JSON.stringify(snapshot)));
    expect(restored.toSnapshot()).toEqual(snapshot);
    expect(restored.sessionByTokenHash("T".repeat(43))?.id).toBe(sessionId(5));
    // The next account id continues where the snapshot left off.
    restored.apply({
      type: "account.create",
      body: { userName: "next", roleId: "Operator", enabled: true, passwordHash: HASH, atMs: 1 },
    });
    expect(restored.accountByUserName("next")?.id).toBe("2");

    const damaged = [
      { ...snapshot, extra: 1 },
      { ...snapshot, sessions: [{ ...snapshot.sessions[0], accountId: "7" }] },
      { ...snapshot, accounts: [...snapshot.accounts, snapshot.accounts[0]] },
      { ...snapshot, nextAccountNumber: 1 },
      { ...snapshot, settings: { ...snapshot.settings, sessionTimeoutSeconds: 5 } },
    ];
    for (const data of damaged) expect(() => AuthState.fromSnapshot(data)).toThrow(TypeError);
  });
});
