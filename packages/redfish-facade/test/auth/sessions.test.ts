// Proves login, X-Auth-Token, logout, expiry by a fake clock, forged and deleted tokens, the session limit, SessionTimeout bounds and the bounded rate of committed touches.
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { SESSIONS_PER_ACCOUNT_MAX } from "../../src/auth/auth-limits.ts";
import { registerAuth } from "../../src/auth/register-auth.ts";
import { AS, login, messageIds, type TestService, testService, USERS } from "./helpers.ts";

let service: TestService | undefined;
afterEach(async () => {
  await service?.app.close();
  service = undefined;
});

const SESSIONS = "/redfish/v1/SessionService/Sessions";

describe("SessionService", () => {
  it("logs in with 201, X-Auth-Token, Location and the Session body, and the token then authenticates", async () => {
    service = await testService();
    const response = await service.app.inject({
      method: "POST",
      url: SESSIONS,
      payload: { UserName: USERS.Operator.userName, Password: USERS.Operator.password, Context: "console" },
    });
    expect(response.statusCode).toBe(201);
    const token = String(response.headers["x-auth-token"]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const body = response.json();
    expect(response.headers.location).toBe(body["@odata.id"]);
    expect(body).toMatchObject({ UserName: "oper", SessionType: "Redfish", Context: "console", Password: null });
    expect(response.body).not.toContain(token);
    expect(response.body).not.toContain("scrypt");

    const own = await service.app.inject({
      url: String(response.headers.location),
      headers: { "x-auth-token": token },
    });
    expect(own.statusCode).toBe(200);
    const list = await service.app.inject({ url: SESSIONS, headers: { "x-auth-token": token } });
    expect(list.json()["Members@odata.count"]).toBe(1);
    // The state holds the token's SHA-256 only.
    expect(JSON.stringify(service.store.sessions())).not.toContain(token);
  });

  it("refuses a wrong password, an unknown user and a disabled account with 401", async () => {
    service = await testService();
    for (const payload of [
      { UserName: "root", Password: "wrong-password" },
      { UserName: "nobody", Password: "whatever-password" },
    ]) {
      const response = await service.app.inject({ method: "POST", url: SESSIONS, payload });
      expect(response.statusCode).toBe(401);
      expect(messageIds(response.body)).toEqual(["AccessUnauthorized"]);
    }
    const viewer = service.store.accountByUserName("viewer")!;
    await service.store.commit({ type: "account.update", body: { id: viewer.id, enabled: false, atMs: 1 } });
    const disabled = await service.app.inject({
      method: "POST",
      url: SESSIONS,
      payload: { UserName: "viewer", Password: USERS.ReadOnly.password },
    });
    expect(disabled.statusCode).toBe(401);
  });

  it("expires a session after SessionTimeout of inactivity, and keeps a used one alive", async () => {
    service = await testService({ sessionTimeoutSeconds: 60 });
    const idle = await login(service, "oper", USERS.Operator.password);
    const busy = await login(service, "viewer", USERS.ReadOnly.password);
    for (let step = 0; step < 6; step++) {
      service.clock.nowMs += 20_000;
      const used = await service.app.inject({ url: busy.location, headers: { "x-auth-token": busy.token } });
      expect(used.statusCode).toBe(200);
    }
    const expired = await service.app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": idle.token } });
    expect(expired.statusCode).toBe(401);
    expect(expired.headers["www-authenticate"]).toBe('Basic realm="Conclave"');
    expect(messageIds(expired.body)).toEqual(["NoValidSession"]);
    // Not listed either.
    const list = await service.app.inject({ url: SESSIONS, headers: AS.Administrator });
    expect(list.json().Members.map((member: { "@odata.id": string }) => member["@odata.id"])).toEqual([busy.location]);
  });

  it("commits a session's use at most once per quarter of SessionTimeout, however often it is used", async () => {
    service = await testService({ sessionTimeoutSeconds: 60 });
    const session = await login(service, "oper", USERS.Operator.password);
    service.commits.length = 0;
    // 60 requests, one per second: 60 s of use, touch interval 15 s -> 4 touches at most.
    for (let second = 1; second <= 60; second++) {
      service.clock.nowMs += 1_000;
      const response = await service.app.inject({
        url: "/redfish/v1/Systems",
        headers: { "x-auth-token": session.token },
      });
      expect(response.statusCode).toBe(200);
    }
    const touches = service.commits.filter((type) => type === "session.touch").length;
    expect(touches).toBeGreaterThanOrEqual(3);
    expect(touches).toBeLessThanOrEqual(4);
    const stored = service.store.sessions()[0]!;
    expect(service.clock.nowMs - stored.lastUsedAtMs).toBeLessThan(15_000);
  });

  it("on a new PoC (no memory of uses) keeps a session used within its timeout, and ends an idle one", async () => {
    service = await testService({ sessionTimeoutSeconds: 60 });
    const used = await login(service, "oper", USERS.Operator.password);
    const idle = await login(service, "viewer", USERS.ReadOnly.password);
    // Used at +50 s (a touch is committed: 50 s >= the 15 s interval), then the PoC fails over.
    service.clock.nowMs += 50_000;
    expect(
      (await service.app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": used.token } })).statusCode,
    ).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    const newPoc = Fastify({ logger: false });
    registerAuth(newPoc, { store: service.store, now: () => service!.clock.nowMs });
    newPoc.get("/redfish/v1/Systems", () => ({ served: true }));
    await newPoc.ready();
    try {
      // +110 s: 60 s after its last use the session is still valid; the idle one (last use 0 s) is not.
      service.clock.nowMs += 60_000;
      const afterFailover = await newPoc.inject({
        url: "/redfish/v1/Systems",
        headers: { "x-auth-token": used.token },
      });
      expect(afterFailover.statusCode).toBe(200);
      const idleAfter = await newPoc.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": idle.token } });
      expect(idleAfter.statusCode).toBe(401);
      // Unused from +110 s, it ends within timeout + one interval (60 + 15 s) on the new PoC.
      service.clock.nowMs += 75_001;
      const later = await newPoc.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": used.token } });
      expect(later.statusCode).toBe(401);
    } finally {
      await newPoc.close();
    }
  });

  it("refuses a forged token, a malformed one and a deleted session's", async () => {
    service = await testService();
    const session = await login(service, "oper", USERS.Operator.password);
    const forged = `${session.token.slice(0, -2)}${session.token.endsWith("AA") ? "BB" : "AA"}`;
    for (const token of [forged, "short", "x".repeat(2000)]) {
      const response = await service.app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": token } });
      expect(response.statusCode).toBe(401);
    }
    const logout = await service.app.inject({
      method: "DELETE",
      url: session.location,
      headers: { "x-auth-token": session.token },
    });
    expect(logout.statusCode).toBe(204);
    const after = await service.app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": session.token } });
    expect(after.statusCode).toBe(401);
  });

  it("lets a user delete only their own session; an Administrator deletes anyone's", async () => {
    service = await testService();
    const operator = await login(service, "oper", USERS.Operator.password);
    const viewer = await login(service, "viewer", USERS.ReadOnly.password);
    const peek = await service.app.inject({ url: operator.location, headers: { "x-auth-token": viewer.token } });
    expect(peek.statusCode).toBe(403);
    const refused = await service.app.inject({ method: "DELETE", url: operator.location, headers: AS.ReadOnly });
    expect(refused.statusCode).toBe(403);
    expect(messageIds(refused.body)).toEqual(["InsufficientPrivilege"]);
    const viewerList = await service.app.inject({ url: SESSIONS, headers: { "x-auth-token": viewer.token } });
    expect(viewerList.json()["Members@odata.count"]).toBe(1);
    const removed = await service.app.inject({ method: "DELETE", url: operator.location, headers: AS.Administrator });
    expect(removed.statusCode).toBe(204);
    const gone = await service.app.inject({ url: operator.location, headers: AS.Administrator });
    expect(gone.statusCode).toBe(404);
    expect(messageIds(gone.body)).toEqual(["ResourceNotFound"]);
  });

  it("bounds an account's sessions with SessionLimitExceeded, and frees the expired ones first", async () => {
    service = await testService({ sessionTimeoutSeconds: 30 });
    for (let i = 0; i < SESSIONS_PER_ACCOUNT_MAX; i++) await login(service, "viewer", USERS.ReadOnly.password);
    const refused = await service.app.inject({
      method: "POST",
      url: SESSIONS,
      payload: { UserName: "viewer", Password: USERS.ReadOnly.password },
    });
    expect(refused.statusCode).toBe(503);
    expect(messageIds(refused.body)).toEqual(["SessionLimitExceeded"]);
    // Past timeout + touch interval every one of them is certainly idle: the next login frees them.
    service.clock.nowMs += 30_000 + 7_500 + 1;
    await login(service, "viewer", USERS.ReadOnly.password);
    expect(service.store.sessions()).toHaveLength(1);
  });

  it("PATCHes SessionTimeout within 30..86400 and refuses the rest with a Redfish error", async () => {
    service = await testService();
    const url = "/redfish/v1/SessionService";
    const ok = await service.app.inject({
      method: "PATCH",
      url,
      headers: AS.Administrator,
      payload: { SessionTimeout: 30 },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().SessionTimeout).toBe(30);
    const cases: [unknown, number, string[]][] = [
      [{ SessionTimeout: 29 }, 400, ["PropertyValueOutOfRange"]],
      [{ SessionTimeout: 86_401 }, 400, ["PropertyValueOutOfRange"]],
      [{ SessionTimeout: "600" }, 400, ["PropertyValueTypeError"]],
      [{ SessionTimeout: 1.5 }, 400, ["PropertyValueTypeError"]],
      [{ ServiceEnabled: false }, 400, ["PropertyNotWritable"]],
      [{ Timeout: 600 }, 400, ["PropertyUnknown"]],
      [{}, 400, ["EmptyJSON"]],
      [[1], 400, ["UnrecognizedRequestBody"]],
    ];
    for (const [payload, status, ids] of cases) {
      const response = await service.app.inject({
        method: "PATCH",
        url,
        headers: AS.Administrator,
        payload: payload as object,
      });
      expect({ payload, status: response.statusCode, ids: messageIds(response.body) }).toEqual({
        payload,
        status,
        ids,
      });
    }
    const operator = await service.app.inject({
      method: "PATCH",
      url,
      headers: AS.Operator,
      payload: { SessionTimeout: 60 },
    });
    expect(operator.statusCode).toBe(403);
  });

  it("answers bad login bodies with the right Redfish error and no session", async () => {
    service = await testService();
    const cases: [string, number, string[]][] = [
      ["{not json", 400, ["MalformedJSON"]],
      ['{"UserName":"root"}', 400, ["PropertyMissing"]],
      ['{"UserName":1,"Password":"x"}', 400, ["PropertyValueTypeError"]],
      ['{"UserName":"root","Password":"root-password-1","Admin":true}', 400, ["PropertyUnknown"]],
      ['{"UserName":"root","Password":"root-password-1","Id":"1"}', 400, ["PropertyNotWritable"]],
      ['{"__proto__":{"x":1},"UserName":"root","Password":"p"}', 400, ["MalformedJSON"]],
      [`{"UserName":"root","Password":"${"p".repeat(20_000)}"}`, 413, ["PayloadTooLarge"]],
      [`{"UserName":"root","Password":"root-password-1","Context":"${"c".repeat(300)}"}`, 400, ["StringValueTooLong"]],
    ];
    for (const [payload, status, ids] of cases) {
      const response = await service.app.inject({
        method: "POST",
        url: SESSIONS,
        headers: { "content-type": "application/json" },
        payload,
      });
      expect({ payload: payload.slice(0, 60), status: response.statusCode, ids: messageIds(response.body) }).toEqual({
        payload: payload.slice(0, 60),
        status,
        ids,
      });
    }
    // A wrong-typed password is never echoed.
    const typed = await service.app.inject({
      method: "POST",
      url: SESSIONS,
      payload: { UserName: "root", Password: 12345678 },
    });
    expect(typed.body).not.toContain("12345678");
    expect(service.store.sessions()).toHaveLength(0);
  });
});
