// Proves AccountService: accounts created, changed and deleted with the password policy enforced, one's own password changed with ConfigureSelf only, the last enabled Administrator protected, every bad body answered with its Redfish error, and the predefined roles.
import { afterEach, describe, expect, it } from "vitest";
import { AS, basic, login, messageIds, type TestService, testService, USERS } from "./helpers.ts";

let service: TestService | undefined;
afterEach(async () => {
  await service?.app.close();
  service = undefined;
});

const ACCOUNTS = "/redfish/v1/AccountService/Accounts";
const ROOT = `${ACCOUNTS}/1`;

async function patch(url: string, headers: Record<string, string>, payload: unknown) {
  return (service as TestService).app.inject({ method: "PATCH", url, headers, payload: payload as object });
}

describe("AccountService accounts", () => {
  it("creates an account (201, Location, no secret in the body) that can log in, and deletes it with its sessions", async () => {
    service = await testService();
    const created = await service.app.inject({
      method: "POST",
      url: ACCOUNTS,
      headers: AS.Administrator,
      payload: { UserName: "console", Password: "console-password", RoleId: "Operator" },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(created.headers.location).toBe(body["@odata.id"]);
    expect(body).toMatchObject({
      UserName: "console",
      RoleId: "Operator",
      Enabled: true,
      Locked: false,
      Password: null,
    });
    expect(body.Links.Role["@odata.id"]).toBe("/redfish/v1/AccountService/Roles/Operator");
    expect(created.body).not.toContain("console-password");
    expect(created.body).not.toContain("scrypt");

    const session = await login(service, "console", "console-password");
    const duplicate = await service.app.inject({
      method: "POST",
      url: ACCOUNTS,
      headers: AS.Administrator,
      payload: { UserName: "console", Password: "another-password", RoleId: "ReadOnly" },
    });
    expect(duplicate.statusCode).toBe(409);
    expect(messageIds(duplicate.body)).toEqual(["ResourceAlreadyExists"]);

    const removed = await service.app.inject({
      method: "DELETE",
      url: String(created.headers.location),
      headers: AS.Administrator,
    });
    expect(removed.statusCode).toBe(204);
    const after = await service.app.inject({ url: "/redfish/v1/Systems", headers: { "x-auth-token": session.token } });
    expect(after.statusCode).toBe(401);
    expect(service.store.sessions()).toHaveLength(0);
  });

  it("lets a user change only their own password (ConfigureSelf), not their role or anyone else's password", async () => {
    service = await testService();
    const viewer = service.store.accountByUserName("viewer")!;
    const own = `${ACCOUNTS}/${viewer.id}`;
    expect((await service.app.inject({ url: own, headers: AS.ReadOnly })).statusCode).toBe(200);
    const list = await service.app.inject({ url: ACCOUNTS, headers: AS.ReadOnly });
    expect(list.json().Members).toEqual([{ "@odata.id": own }]);

    const promote = await patch(own, AS.ReadOnly, { RoleId: "Administrator" });
    expect(promote.statusCode).toBe(403);
    const both = await patch(own, AS.ReadOnly, { Password: "viewer-password-2", Enabled: true });
    expect(both.statusCode).toBe(403);
    const other = await patch(ROOT, AS.ReadOnly, { Password: "taken-over-root" });
    expect(other.statusCode).toBe(403);

    const changed = await patch(own, AS.ReadOnly, { Password: "viewer-password-2" });
    expect(changed.statusCode).toBe(200);
    expect((await service.app.inject({ url: own, headers: AS.ReadOnly })).statusCode).toBe(401);
    expect((await service.app.inject({ url: own, headers: basic("viewer", "viewer-password-2") })).statusCode).toBe(
      200,
    );
  });

  it("never deletes, disables or demotes the last enabled Administrator", async () => {
    service = await testService();
    const deleted = await service.app.inject({ method: "DELETE", url: ROOT, headers: AS.Administrator });
    expect(deleted.statusCode).toBe(409);
    expect(messageIds(deleted.body)).toEqual(["ResourceCannotBeDeleted"]);
    for (const [payload, property] of [
      [{ Enabled: false }, "Enabled"],
      [{ RoleId: "Operator" }, "RoleId"],
    ] as const) {
      const refused = await patch(ROOT, AS.Administrator, payload);
      expect(refused.statusCode).toBe(409);
      expect(messageIds(refused.body)).toEqual(["PropertyValueResourceConflict"]);
      expect(refused.json().error["@Message.ExtendedInfo"][0].MessageArgs[0]).toBe(property);
    }
    expect(service.store.account("1")).toMatchObject({ roleId: "Administrator", enabled: true });

    // With a second Administrator, the first may go.
    const operator = service.store.accountByUserName("oper")!;
    expect((await patch(`${ACCOUNTS}/${operator.id}`, AS.Administrator, { RoleId: "Administrator" })).statusCode).toBe(
      200,
    );
    expect((await service.app.inject({ method: "DELETE", url: ROOT, headers: AS.Operator })).statusCode).toBe(204);
    // ...and now the second is the last one.
    const demote = await patch(`${ACCOUNTS}/${operator.id}`, AS.Operator, { RoleId: "ReadOnly" });
    expect(demote.statusCode).toBe(409);
  });

  it("accepts Locked: false and refuses Locked: true (Conclave never locks, a client may only unlock)", async () => {
    service = await testService();
    expect((await patch(`${ACCOUNTS}/2`, AS.Administrator, { Locked: false })).statusCode).toBe(200);
    const locked = await patch(`${ACCOUNTS}/2`, AS.Administrator, { Locked: true });
    expect(locked.statusCode).toBe(400);
    expect(messageIds(locked.body)).toEqual(["PropertyValueNotInList"]);
  });

  it("enforces MinPasswordLength and MaxPasswordLength, which an Administrator may PATCH within bounds", async () => {
    service = await testService();
    const url = "/redfish/v1/AccountService";
    const create = (password: string) =>
      service!.app.inject({
        method: "POST",
        url: ACCOUNTS,
        headers: AS.Administrator,
        payload: { UserName: `u${password.length}`, Password: password, RoleId: "ReadOnly" },
      });
    const short = await create("short");
    expect(short.statusCode).toBe(400);
    expect(messageIds(short.body)).toEqual(["PasswordIncorrectLength"]);
    expect(short.body).not.toContain('short"');
    expect((await create("p".repeat(65))).statusCode).toBe(400);
    expect((await patch(url, AS.Administrator, { MinPasswordLength: 12, MaxPasswordLength: 100 })).statusCode).toBe(
      200,
    );
    expect((await create("p".repeat(10))).statusCode).toBe(400);
    expect((await create("p".repeat(100))).statusCode).toBe(201);
    const service2 = (await service.app.inject({ url, headers: AS.ReadOnly })).json();
    expect(service2).toMatchObject({ MinPasswordLength: 12, MaxPasswordLength: 100 });

    const cases: [unknown, number, string[]][] = [
      [{ MinPasswordLength: 7 }, 400, ["PropertyValueOutOfRange"]],
      [{ MaxPasswordLength: 129 }, 400, ["PropertyValueOutOfRange"]],
      [{ MinPasswordLength: 120 }, 400, ["PropertyValueConflict"]],
      [{ MinPasswordLength: "12" }, 400, ["PropertyValueTypeError"]],
      [{ AccountLockoutThreshold: 3 }, 400, ["PropertyUnknown"]],
      [{ HTTPBasicAuth: "Disabled" }, 400, ["PropertyNotWritable"]],
    ];
    for (const [payload, status, ids] of cases) {
      const response = await patch(url, AS.Administrator, payload);
      expect({ payload, status: response.statusCode, ids: messageIds(response.body) }).toEqual({
        payload,
        status,
        ids,
      });
    }
  });

  it("answers bad account bodies with the right Redfish errors, all at once, and creates nothing", async () => {
    service = await testService();
    const before = service.store.accounts().length;
    const cases: [unknown, number, string[]][] = [
      [{ UserName: "new" }, 400, ["PropertyMissing", "PropertyMissing"]],
      [
        { UserName: 7, Password: true, RoleId: null },
        400,
        ["PropertyValueTypeError", "PropertyValueTypeError", "PropertyValueTypeError"],
      ],
      [{ UserName: "new", Password: "new-password", RoleId: "Superuser" }, 400, ["PropertyValueNotInList"]],
      [{ UserName: "new user", Password: "new-password", RoleId: "ReadOnly" }, 400, ["PropertyValueFormatError"]],
      [{ UserName: "u".repeat(5000), Password: "new-password", RoleId: "ReadOnly" }, 400, ["PropertyValueFormatError"]],
      [{ UserName: "ünïcode", Password: "new-password", RoleId: "ReadOnly" }, 400, ["PropertyValueFormatError"]],
      [{ UserName: "new", Password: "new-password", RoleId: "ReadOnly", Shell: "/bin/sh" }, 400, ["PropertyUnknown"]],
      [{ UserName: "new", Password: "new-password", RoleId: "ReadOnly", Id: "7" }, 400, ["PropertyNotWritable"]],
      [{ UserName: "new", Password: "new-password", RoleId: "ReadOnly", Locked: true }, 400, ["PropertyNotWritable"]],
      ["a string", 400, ["UnrecognizedRequestBody"]],
      [null, 400, ["UnrecognizedRequestBody"]],
    ];
    for (const [payload, status, ids] of cases) {
      const response = await service.app.inject({
        method: "POST",
        url: ACCOUNTS,
        headers: { ...AS.Administrator, "content-type": "application/json" },
        payload: JSON.stringify(payload),
      });
      expect({ payload, status: response.statusCode, ids: messageIds(response.body) }).toEqual({
        payload,
        status,
        ids,
      });
    }
    const secretTyped = await service.app.inject({
      method: "POST",
      url: ACCOUNTS,
      headers: AS.Administrator,
      payload: { UserName: "new", Password: 98765432, RoleId: "ReadOnly" },
    });
    expect(secretTyped.body).not.toContain("98765432");
    const patchCases: [unknown, number, string[]][] = [
      [{}, 400, ["EmptyJSON"]],
      [{ Enabled: "yes" }, 400, ["PropertyValueTypeError"]],
      [{ UserName: "oper" }, 409, ["ResourceAlreadyExists"]],
      [{ AccountTypes: ["Redfish"] }, 400, ["PropertyNotWritable"]],
    ];
    for (const [payload, status, ids] of patchCases) {
      const response = await patch(`${ACCOUNTS}/3`, AS.Administrator, payload);
      expect({ payload, status: response.statusCode, ids: messageIds(response.body) }).toEqual({
        payload,
        status,
        ids,
      });
    }
    expect(service.store.accounts()).toHaveLength(before);
    const missing = await service.app.inject({ url: `${ACCOUNTS}/42`, headers: AS.Administrator });
    expect(missing.statusCode).toBe(404);
    const wrongMethod = await service.app.inject({
      method: "PUT",
      url: ACCOUNTS,
      headers: AS.Administrator,
      payload: {},
    });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe("GET, HEAD, POST");
  });

  it("tags resources with an ETag, answers a matching If-None-Match 304 and a stale If-Match 412", async () => {
    service = await testService();
    const url = `${ACCOUNTS}/2`;
    const first = await service.app.inject({ url, headers: AS.Administrator });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{20}"$/);
    const unchanged = await service.app.inject({ url, headers: { ...AS.Administrator, "if-none-match": etag } });
    expect(unchanged.statusCode).toBe(304);
    const changed = await patch(url, { ...AS.Administrator, "if-match": etag }, { RoleId: "ReadOnly" });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    const stale = await patch(url, { ...AS.Administrator, "if-match": etag }, { RoleId: "Operator" });
    expect(stale.statusCode).toBe(412);
    expect(messageIds(stale.body)).toEqual(["PreconditionFailed"]);
    expect(service.store.account("2")?.roleId).toBe("ReadOnly");
    const service1 = await service.app.inject({ url: "/redfish/v1/SessionService", headers: AS.Administrator });
    const staleTimeout = await patch(
      "/redfish/v1/SessionService",
      { ...AS.Administrator, "if-match": '"not-the-tag"' },
      { SessionTimeout: 60 },
    );
    expect(staleTimeout.statusCode).toBe(412);
    const timeout = await patch(
      "/redfish/v1/SessionService",
      { ...AS.Administrator, "if-match": String(service1.headers.etag) },
      { SessionTimeout: 60 },
    );
    expect(timeout.statusCode).toBe(200);
  });

  it("renames an account, after which the new name logs in", async () => {
    service = await testService();
    expect((await patch(`${ACCOUNTS}/2`, AS.Administrator, { UserName: "operator2" })).statusCode).toBe(200);
    await login(service, "operator2", USERS.Operator.password);
  });
});

describe("AccountService roles", () => {
  it("serves the three predefined roles with the standard privileges and refuses changes", async () => {
    service = await testService();
    const list = (await service.app.inject({ url: "/redfish/v1/AccountService/Roles", headers: AS.ReadOnly })).json();
    expect(list["Members@odata.count"]).toBe(3);
    const privileges = async (role: string) =>
      (await service!.app.inject({ url: `/redfish/v1/AccountService/Roles/${role}`, headers: AS.ReadOnly })).json()
        .AssignedPrivileges;
    expect(await privileges("Administrator")).toEqual([
      "Login",
      "ConfigureManager",
      "ConfigureUsers",
      "ConfigureSelf",
      "ConfigureComponents",
    ]);
    expect(await privileges("Operator")).toEqual(["Login", "ConfigureSelf", "ConfigureComponents"]);
    expect(await privileges("ReadOnly")).toEqual(["Login", "ConfigureSelf"]);
    const unknown = await service.app.inject({ url: "/redfish/v1/AccountService/Roles/Root", headers: AS.ReadOnly });
    expect(unknown.statusCode).toBe(404);
    const change = await service.app.inject({
      method: "PATCH",
      url: "/redfish/v1/AccountService/Roles/ReadOnly",
      headers: AS.Administrator,
      payload: { AssignedPrivileges: ["Login", "ConfigureUsers"] },
    });
    expect(change.statusCode).toBe(405);
  });
});
