// Proves every role against every method on representative routes gets what the Redfish privilege registry says (401 without credentials, 403 InsufficientPrivilege without the privilege), by Basic auth and by session.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoleId } from "../../src/auth/roles.ts";
import { AS, login, messageIds, type TestService, testService, USERS } from "./helpers.ts";

let service: TestService;
beforeAll(async () => {
  service = await testService();
});
afterAll(() => service.app.close());

const ALL: readonly RoleId[] = ["Administrator", "Operator", "ReadOnly"];
const ADMIN_ONLY: readonly RoleId[] = ["Administrator"];
const COMPONENTS: readonly RoleId[] = ["Administrator", "Operator"];

/** [method, path, roles allowed, body]. Account 1 is root (the Administrator). */
const TABLE: readonly (readonly [string, string, readonly RoleId[], object?])[] = [
  ["GET", "/redfish/v1/Systems", ALL],
  ["HEAD", "/redfish/v1/Systems/node1_system", ALL],
  ["PATCH", "/redfish/v1/Systems/node1_system", COMPONENTS, {}],
  ["POST", "/redfish/v1/Systems/node1_system/Actions/ComputerSystem.Reset", COMPONENTS, {}],
  ["DELETE", "/redfish/v1/Systems/node1_system", COMPONENTS],
  ["PUT", "/redfish/v1/Systems/node1_system", COMPONENTS, {}],
  ["PATCH", "/redfish/v1/Chassis/node1_chassis", COMPONENTS, {}],
  ["PATCH", "/redfish/v1/Chassis/node1_chassis/Power", ADMIN_ONLY, {}],
  ["GET", "/redfish/v1/Managers/node1_bmc", ALL],
  ["PATCH", "/redfish/v1/Managers/node1_bmc", ADMIN_ONLY, {}],
  ["GET", "/redfish/v1/Managers/node1_bmc/Certificates", ADMIN_ONLY],
  ["POST", "/redfish/v1/UpdateService", COMPONENTS, {}],
  ["POST", "/redfish/v1/EventService/Subscriptions", COMPONENTS, {}],
  ["POST", "/redfish/v1/AggregationService/Aggregates/all", COMPONENTS, {}],
  ["DELETE", "/redfish/v1/TaskService/Tasks/1", ADMIN_ONLY],
  ["GET", "/redfish/v1/SomethingNew", ALL],
  ["POST", "/redfish/v1/SomethingNew", ADMIN_ONLY, {}],
  ["GET", "/redfish/v1/SessionService", ALL],
  ["PATCH", "/redfish/v1/SessionService", ADMIN_ONLY, { SessionTimeout: 1800 }],
  ["GET", "/redfish/v1/SessionService/Sessions", ALL],
  ["GET", "/redfish/v1/AccountService", ALL],
  ["PATCH", "/redfish/v1/AccountService", ADMIN_ONLY, { MinPasswordLength: 8 }],
  ["GET", "/redfish/v1/AccountService/Accounts", ALL],
  [
    "POST",
    "/redfish/v1/AccountService/Accounts",
    ADMIN_ONLY,
    { UserName: "x", Password: "x-password", RoleId: "ReadOnly" },
  ],
  ["GET", "/redfish/v1/AccountService/Accounts/1", ADMIN_ONLY],
  ["PATCH", "/redfish/v1/AccountService/Accounts/1", ADMIN_ONLY, { Enabled: true }],
  ["PATCH", "/redfish/v1/AccountService/Accounts/1", ADMIN_ONLY, { Password: USERS.Administrator.password }],
  ["DELETE", "/redfish/v1/AccountService/Accounts/99", ADMIN_ONLY],
  ["GET", "/redfish/v1/AccountService/Roles", ALL],
  ["GET", "/redfish/v1/AccountService/Roles/Operator", ALL],
];

describe("privileges per role, method and route", () => {
  it.each(
    TABLE.flatMap(([method, url, allowed, body]) => ALL.map((role) => [role, method, url, allowed, body] as const)),
  )("%s %s %s", async (role, method, url, allowed, body) => {
    const response = await service.app.inject({
      method: method as "GET",
      url,
      headers: AS[role],
      ...(body === undefined ? {} : { payload: body }),
    });
    if (allowed.includes(role)) {
      expect([401, 403]).not.toContain(response.statusCode);
    } else {
      expect(response.statusCode).toBe(403);
      expect(messageIds(response.body)).toEqual(["InsufficientPrivilege"]);
    }
  });

  it.each(TABLE.map(([method, url]) => [method, url] as const))(
    "%s %s without credentials is 401",
    async (method, url) => {
      const response = await service.app.inject({ method: method as "GET", url });
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toBe('Basic realm="Conclave"');
      if (method !== "HEAD") expect(messageIds(response.body)).toEqual(["NoValidSession"]);
    },
  );

  it.each([
    ["GET", "/redfish"],
    ["GET", "/redfish/v1"],
    ["HEAD", "/redfish/v1"],
    ["GET", "/redfish/v1/$metadata"],
    ["GET", "/redfish/v1/odata"],
  ])("%s %s needs no credentials (DSP0266)", async (method, url) => {
    const response = await service.app.inject({ method: method as "GET", url });
    expect(response.statusCode).toBe(200);
  });

  it("treats a trailing slash on the service root as the service root", async () => {
    const response = await service.app.inject({ url: "/redfish/v1/" });
    expect(response.statusCode).not.toBe(401);
  });

  it("refuses a write to the service root without credentials, and with Operator's", async () => {
    expect((await service.app.inject({ method: "PATCH", url: "/redfish/v1", payload: {} })).statusCode).toBe(401);
    const operator = await service.app.inject({
      method: "PATCH",
      url: "/redfish/v1",
      headers: AS.Operator,
      payload: {},
    });
    expect(operator.statusCode).toBe(403);
  });

  it("judges a percent-encoded path as the resource it routes to", async () => {
    const response = await service.app.inject({
      url: "/redfish/v1/Managers/node1_bmc/%43ertificates",
      headers: AS.Operator,
    });
    expect(response.statusCode).toBe(403);
  });

  it("gives a session the privileges of its account's current role", async () => {
    const session = await login(service, USERS.Operator.userName, USERS.Operator.password);
    const headers = { "x-auth-token": session.token };
    const allowed = await service.app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/node1_system",
      headers,
      payload: {},
    });
    expect(allowed.statusCode).toBe(200);
    const operator = service.store.accountByUserName("oper")!;
    await service.store.commit({ type: "account.update", body: { id: operator.id, roleId: "ReadOnly", atMs: 1 } });
    const demoted = await service.app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/node1_system",
      headers,
      payload: {},
    });
    expect(demoted.statusCode).toBe(403);
    await service.store.commit({ type: "account.update", body: { id: operator.id, roleId: "Operator", atMs: 2 } });
  });

  it("refuses wrong Basic credentials and malformed Authorization headers with 401", async () => {
    for (const authorization of [
      `Basic ${Buffer.from("root:wrong").toString("base64")}`,
      `Basic ${Buffer.from("nobody:root-password-1").toString("base64")}`,
      "Basic not-base64!",
      `Basic ${Buffer.from("no-colon").toString("base64")}`,
      "Bearer abc",
      `Basic ${"A".repeat(5000)}`,
    ]) {
      const response = await service.app.inject({ url: "/redfish/v1/Systems", headers: { authorization } });
      expect(response.statusCode).toBe(401);
    }
  });
});
