// Proves every resource the SessionService and AccountService serve validates against the DMTF JSON schema its @odata.type names (skipped when ../shared/redfish is absent).
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRedfishValidator, type RedfishValidator } from "../support/redfish-schemas.ts";
import { AS, login, type TestService, testService, USERS } from "./helpers.ts";

const schemaDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../../shared/redfish/json-schema");
const hasSchemas = existsSync(schemaDir);
if (!hasSchemas) {
  // biome-ignore lint/suspicious/noConsole: says why a whole suite is skipped
  console.warn(`skipped: ${schemaDir} is absent (DMTF schemas are only for tests)`);
}

describe.skipIf(!hasSchemas)("auth resources against the DMTF schemas", () => {
  let validator: RedfishValidator;
  let service: TestService;
  beforeAll(async () => {
    validator = loadRedfishValidator(schemaDir);
    service = await testService();
  });
  afterAll(() => service.app.close());

  it("validates the SessionService, AccountService, their collections, members and roles", async () => {
    const first = await service.app.inject({
      method: "POST",
      url: "/redfish/v1/SessionService/Sessions",
      payload: { UserName: USERS.ReadOnly.userName, Password: USERS.ReadOnly.password, Context: "schema test" },
    });
    await login(service, USERS.Operator.userName, USERS.Operator.password);
    const payloads: Record<string, unknown>[] = [first.json()];
    const pending = ["/redfish/v1/SessionService", "/redfish/v1/AccountService"];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const url = pending.shift() as string;
      if (seen.has(url)) continue;
      seen.add(url);
      const response = await service.app.inject({ url, headers: AS.Administrator });
      expect(response.statusCode, url).toBe(200);
      const body = response.json() as Record<string, unknown>;
      payloads.push(body);
      for (const link of linksIn(body))
        if (link.startsWith("/redfish/v1/SessionService") || link.startsWith("/redfish/v1/AccountService"))
          pending.push(link);
    }
    // 2 services, 3 collections, 2 sessions, 3 accounts, 3 roles.
    expect(seen.size).toBe(13);
    const problems = payloads.flatMap((payload) =>
      validator.validate(payload).map((problem) => `${String(payload["@odata.id"])}: ${problem}`),
    );
    expect(problems).toEqual([]);
    // The validator does catch a wrong payload (so the check above can fail).
    expect(validator.validate({ ...payloads[0], SessionType: "Telnet" })).not.toEqual([]);
  });
});

function linksIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(linksIn);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === "@odata.id" && typeof item === "string" ? [item] : linksIn(item),
  );
}
