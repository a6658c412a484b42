// Proves sessions (201 + X-Auth-Token + Location, DELETE logs out), Basic auth, roles and 401/403 answers.
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, testSimulator } from "./helpers.ts";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function login(instance: FastifyInstance, UserName: unknown, Password: unknown) {
  return instance.inject({
    method: "POST",
    url: "/redfish/v1/SessionService/Sessions",
    payload: { UserName, Password } as object,
  });
}

describe("sessions and authentication", () => {
  it("logs in with POST Sessions, uses the token, and logs out with DELETE", async () => {
    app = testSimulator();
    const response = await login(app, "admin", "admin");
    expect(response.statusCode).toBe(201);
    const token = String(response.headers["x-auth-token"]);
    const location = String(response.headers.location);
    expect(token.length).toBeGreaterThan(20);
    expect(location).toMatch(/^\/redfish\/v1\/SessionService\/Sessions\/[0-9a-f]+$/);
    expect(response.json()).toMatchObject({ UserName: "admin", "@odata.id": location, Password: null });
    expect(response.body).not.toContain(token);

    const systems = await app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": token } });
    expect(systems.statusCode).toBe(200);
    const sessions = await app.inject({
      url: "/redfish/v1/SessionService/Sessions",
      headers: { "x-auth-token": token },
    });
    expect(sessions.json().Members).toEqual([{ "@odata.id": location }]);

    const logout = await app.inject({ method: "DELETE", url: location, headers: { "x-auth-token": token } });
    expect(logout.statusCode).toBe(204);
    const after = await app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": token } });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe("Base.1.19.0.NoValidSession");
  });

  it("accepts Basic auth and rejects wrong passwords, unknown users and garbage tokens with 401", async () => {
    app = testSimulator();
    expect((await app.inject({ url: "/redfish/v1/Managers/bmc", headers: ADMIN })).statusCode).toBe(200);
    const wrong = { authorization: `Basic ${Buffer.from("admin:nope").toString("base64")}` };
    expect((await app.inject({ url: "/redfish/v1/Managers/bmc", headers: wrong })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: "/redfish/v1/Managers/bmc", headers: { "x-auth-token": "garbage" } })).statusCode,
    ).toBe(401);
    const bad = await login(app, "admin", "nope");
    expect(bad.statusCode).toBe(401);
    expect(bad.headers["x-auth-token"]).toBeUndefined();
    const missing = await app.inject({
      method: "POST",
      url: "/redfish/v1/SessionService/Sessions",
      payload: { UserName: "admin" },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.19.0.PropertyMissing");
  });

  it("serves the admin account in AccountService and lets an administrator change its password", async () => {
    app = testSimulator();
    const accounts = await app.inject({ url: "/redfish/v1/AccountService/Accounts", headers: ADMIN });
    const [first] = accounts.json().Members as Array<{ "@odata.id": string }>;
    const account = await app.inject({ url: String(first?.["@odata.id"]), headers: ADMIN });
    expect(account.json()).toMatchObject({ UserName: "admin", RoleId: "Administrator", Password: null, Enabled: true });
    const change = await app.inject({
      method: "PATCH",
      url: String(first?.["@odata.id"]),
      headers: ADMIN,
      payload: { Password: "n3w-secret" },
    });
    expect(change.statusCode).toBe(200);
    expect(change.json().Password).toBeNull();
    expect((await app.inject({ url: "/redfish/v1/Systems", headers: ADMIN })).statusCode).toBe(401);
    expect((await login(app, "admin", "n3w-secret")).statusCode).toBe(201);
  });

  it("lets a ReadOnly account read but not act (403 InsufficientPrivilege)", async () => {
    app = testSimulator({
      accounts: [
        { userName: "admin", password: "admin", roleId: "Administrator" },
        { userName: "viewer", password: "viewer", roleId: "ReadOnly" },
      ],
    });
    const viewer = { authorization: `Basic ${Buffer.from("viewer:viewer").toString("base64")}` };
    expect((await app.inject({ url: "/redfish/v1/Systems/system", headers: viewer })).statusCode).toBe(200);
    const reset = await app.inject({
      method: "POST",
      url: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
      headers: viewer,
      payload: { ResetType: "ForceOff" },
    });
    expect(reset.statusCode).toBe(403);
    expect(reset.json().error.code).toBe("Base.1.19.0.InsufficientPrivilege");
  });

  it("bounds sessions by maxSessions with 503 SessionLimitExceeded", async () => {
    app = testSimulator({ limits: { maxSessions: 2 } });
    expect((await login(app, "admin", "admin")).statusCode).toBe(201);
    expect((await login(app, "admin", "admin")).statusCode).toBe(201);
    const third = await login(app, "admin", "admin");
    expect(third.statusCode).toBe(503);
    expect(third.json().error.code).toBe("Base.1.19.0.SessionLimitExceeded");
  });
});
