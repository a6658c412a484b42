// Proves bad input — paths (traversal, encoded, huge, unicode, bad prefixes), query strings,
// bodies and headers — gets a clean Redfish error, never a crash and never a forward as-is; and
// that a facade without quorum answers 503 with Retry-After.
import type { AddressInfo } from "node:net";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PATH_BYTES, MAX_REQUEST_BODY_BYTES } from "../src/index.ts";
import {
  CONSOLE,
  type ErrorBody,
  type Facade,
  messageIds,
  startFacade,
  threeMembers,
} from "./support/facade-fixture.ts";

let facade: Facade;
/** Paths go over real HTTP: inject() would normalise `%2e%2e` and drop `#` before the facade sees them. */
let client: Client;
beforeAll(async () => {
  facade = await startFacade(threeMembers());
  // Discovery first, so the table below counts only forwards its own requests cause.
  await facade.json("/redfish/v1");
  await facade.app.listen({ port: 0, host: "127.0.0.1" });
  client = new Client(`http://127.0.0.1:${(facade.app.server.address() as AddressInfo).port}`);
});
afterAll(async () => {
  await client.close();
  await facade.close();
});

async function rawGet(path: string): Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }> {
  const response = await client.request({ method: "GET", path, headers: CONSOLE });
  return { statusCode: response.statusCode, headers: response.headers, body: await response.body.text() };
}

function rawMessageIds(body: string): string[] {
  return (JSON.parse(body) as ErrorBody).error["@Message.ExtendedInfo"].map((m) =>
    m.MessageId.replace(/^Base\.(\d+\.)+/, ""),
  );
}

const PATHS: [string, number, string][] = [
  ["/redfish/v1/Systems/%2e%2e/Managers", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system/%2E%2E/%2e%2e/AccountService", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system/.%2e", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system/%2f..%2fManagers", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system%2F..%2F..%2Fbmc", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system%5c..", 400, "InvalidURI"],
  ["/redfish/v1//Systems", 400, "InvalidURI"],
  ["/redfish/v1/Systems//bmc1_system", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_%00system", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_%0asystem", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_%ZZ", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_%E2%82", 400, "InvalidURI"],
  ["/redfish/v1/Systems/bmc1_system#frag", 400, "InvalidURI"],
  [`/redfish/v1/Systems/${"a".repeat(MAX_PATH_BYTES)}`, 400, "StringValueTooLong"],
  [`/redfish/v1${"/a".repeat(40)}`, 400, "StringValueTooLong"],
  [`/redfish/v1/Systems?x=${"q".repeat(3_000)}`, 400, "StringValueTooLong"],
  ["/redfish/v1/Systems?$select=%ZZ", 400, "QueryParameterValueFormatError"],
  ["/redfish/v1/Systems/bmc1_syst%C3%A9m", 404, "ResourceMissingAtURI"],
  ["/redfish/v1/Systems/bmc1_%F0%9F%96%A5", 404, "ResourceMissingAtURI"],
  ["/redfish/v1/Systems/BMC1_system", 404, "ResourceMissingAtURI"],
  ["/redfish/v1/Systems/bmc1-system", 404, "ResourceMissingAtURI"],
  ["/redfish/v1/Systems/conclave_system", 404, "ResourceMissingAtURI"],
  ["/redfish/v1/Managers/conclave_x", 404, "ResourceMissingAtURI"],
  ["/redfish/v2", 404, "ResourceMissingAtURI"],
  ["/redfish/v1x", 404, "ResourceMissingAtURI"],
  ["/redfishx", 404, "ResourceMissingAtURI"],
  ["/elsewhere", 404, "ResourceMissingAtURI"],
];

describe("bad paths", () => {
  for (const [path, status, message] of PATHS) {
    it(`${path.slice(0, 70)} -> ${status} ${message}`, async () => {
      const before = facade.cluster.forwards.length;
      const response = await rawGet(path);
      expect(response.statusCode).toBe(status);
      expect(rawMessageIds(response.body)).toEqual([message]);
      expect(response.headers["odata-version"]).toBe("4.0");
      const forwarded = facade.cluster.forwards.slice(before).map((f) => f.request.path);
      for (const sent of forwarded) {
        expect(sent).not.toMatch(/\.\.|%2e|%2f|%5c|\/\/|#/i);
      }
      if (status === 400) expect(forwarded).toEqual([]);
    });
  }

  it("a literal ../ is refused, never forwarded", async () => {
    const before = facade.cluster.forwards.length;
    const response = await rawGet("/redfish/v1/Systems/bmc1_system/../../Managers");
    expect(response.statusCode).toBe(400);
    for (const { request } of facade.cluster.forwards.slice(before)) expect(request.path).not.toContain("..");
  });
});

describe("bad bodies and headers", () => {
  const write = (payload: string, headers: Record<string, string> = {}) =>
    facade.app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/bmc1_system",
      headers: { ...CONSOLE, "content-type": "application/json", ...headers },
      payload,
    });

  it.each([
    ["{", "MalformedJSON"],
    ['{"AssetTag": }', "MalformedJSON"],
    ["{'AssetTag': 'x'}", "MalformedJSON"],
    ["\u0000", "MalformedJSON"],
  ])("answers the body %j with 400 %s", async (payload, message) => {
    const response = await write(payload);
    expect(response.statusCode).toBe(400);
    expect(messageIds(response)).toEqual([message]);
  });

  it("answers a body over MAX_REQUEST_BODY_BYTES with 413 PayloadTooLarge", async () => {
    const response = await write(JSON.stringify({ AssetTag: "x".repeat(MAX_REQUEST_BODY_BYTES) }));
    expect(response.statusCode).toBe(413);
    expect(messageIds(response)).toEqual(["PayloadTooLarge"]);
  });

  it("answers a body that is not JSON with 415 naming Content-Type", async () => {
    const response = await write("AssetTag=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(response.statusCode).toBe(415);
    expect(messageIds(response)).toEqual(["HeaderInvalid"]);
  });

  it("passes a body the member refuses through as the member's Redfish error", async () => {
    const response = await write(JSON.stringify([1, 2]));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBeDefined();
  });

  it("answers query options on a write with 400", async () => {
    const response = await facade.app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/bmc1_system?$select=Id",
      headers: CONSOLE,
      payload: { AssetTag: "x" },
    });
    expect(response.statusCode).toBe(400);
    expect(messageIds(response)).toEqual(["QueryNotSupportedOnOperation"]);
  });

  it("treats a garbage If-None-Match as not matching", async () => {
    expect((await facade.get("/redfish/v1/Systems", { "if-none-match": "\u00ff\u00fe garbage" })).statusCode).toBe(200);
  });
});

describe("quorum", () => {
  it("answers 503 ServiceTemporarilyUnavailable with Retry-After without quorum, and serves again with it", async () => {
    facade.cluster.setQuorum(false);
    try {
      for (const uri of ["/redfish/v1", "/redfish/v1/Systems", "/redfish/v1/Systems/bmc1_system"]) {
        const response = await facade.get(uri);
        expect(response.statusCode).toBe(503);
        expect(response.headers["retry-after"]).toBe("5");
        expect(messageIds(response)).toEqual(["ServiceTemporarilyUnavailable"]);
      }
    } finally {
      facade.cluster.setQuorum(true);
    }
    expect((await facade.get("/redfish/v1/Systems")).statusCode).toBe(200);
  });
});
