// Proves the protocol basics bmcweb gets right: headers, service root forms, OData documents and Redfish error bodies.
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type ErrorBody, testSimulator } from "./helpers.ts";

let app: FastifyInstance;
beforeEach(() => {
  app = testSimulator({ limits: { maxRequestBodyBytes: 2048 } });
});
afterEach(async () => {
  await app.close();
});

function expectRedfishError(body: ErrorBody, messageKey: string): void {
  expect(body.error.code).toBe(`Base.1.19.0.${messageKey}`);
  expect(typeof body.error.message).toBe("string");
  expect(body.error["@Message.ExtendedInfo"][0]?.MessageId).toBe(`Base.1.19.0.${messageKey}`);
}

describe("protocol basics", () => {
  it("serves the version document at /redfish without credentials", async () => {
    const response = await app.inject({ url: "/redfish" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ v1: "/redfish/v1/" });
    expect(response.headers["odata-version"]).toBe("4.0");
  });

  it("serves the service root at /redfish/v1 and /redfish/v1/ alike, with ETag, Allow and Link", async () => {
    const a = await app.inject({ url: "/redfish/v1" });
    const b = await app.inject({ url: "/redfish/v1/" });
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(a.json()).toEqual(b.json());
    expect(a.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect(a.headers.allow).toBe("GET, HEAD");
    expect(a.headers.link).toBe("<http://redfish.dmtf.org/schemas/v1/ServiceRoot.v1_20_0.json>; rel=describedby");
    expect(a.json().ProtocolFeaturesSupported.OnlyMemberQuery).toBe(true);
  });

  it("puts ETag and Allow on every GET and answers If-None-Match with 304", async () => {
    const system = await app.inject({ url: "/redfish/v1/Systems/system", headers: ADMIN });
    expect(system.headers.allow).toBe("GET, HEAD, PATCH");
    const etag = String(system.headers.etag);
    const again = await app.inject({ url: "/redfish/v1/Systems/system", headers: { ...ADMIN, "if-none-match": etag } });
    expect(again.statusCode).toBe(304);
    const head = await app.inject({ method: "HEAD", url: "/redfish/v1/Chassis/chassis", headers: ADMIN });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBeDefined();
  });

  it("serves $metadata as CSDL and the OData service document", async () => {
    const metadata = await app.inject({ url: "/redfish/v1/$metadata" });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers["content-type"]).toMatch(/application\/xml/);
    expect(metadata.body).toContain('<edmx:Include Namespace="ComputerSystem.v1_27_0"/>');
    const odata = await app.inject({ url: "/redfish/v1/odata" });
    expect(odata.json()["@odata.context"]).toBe("/redfish/v1/$metadata");
    expect(odata.json().value.map((v: { name: string }) => v.name)).toContain("Systems");
  });

  it("answers an unknown resource with 404 ResourceNotFound", async () => {
    const response = await app.inject({ url: "/redfish/v1/Systems/nope", headers: ADMIN });
    expect(response.statusCode).toBe(404);
    expectRedfishError(response.json(), "ResourceNotFound");
    expect(response.json().error["@Message.ExtendedInfo"][0].MessageArgs).toEqual(["ComputerSystem", "nope"]);
  });

  it("answers a method a resource does not allow with 405 and its Allow header", async () => {
    const response = await app.inject({ method: "DELETE", url: "/redfish/v1/Systems/system", headers: ADMIN });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe("GET, HEAD, PATCH");
    expectRedfishError(response.json(), "OperationNotAllowed");
    const get = await app.inject({ url: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset", headers: ADMIN });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe("POST");
  });

  it("answers a request without credentials with 401 NoValidSession", async () => {
    const response = await app.inject({ url: "/redfish/v1/Systems" });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toMatch(/^Basic/);
    expectRedfishError(response.json(), "NoValidSession");
  });

  it("rejects a body over maxRequestBodyBytes with 413 and malformed JSON with 400", async () => {
    const big = await app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/system",
      headers: { ...ADMIN, "content-type": "application/json" },
      payload: JSON.stringify({ AssetTag: "x".repeat(4096) }),
    });
    expect(big.statusCode).toBe(413);
    expectRedfishError(big.json(), "PayloadTooLarge");
    const malformed = await app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/system",
      headers: { ...ADMIN, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(malformed.statusCode).toBe(400);
    expectRedfishError(malformed.json(), "MalformedJSON");
  });

  it("answers query options it does not support with 501 and supports only", async () => {
    const expand = await app.inject({ url: "/redfish/v1/Systems?$expand=.", headers: ADMIN });
    expect(expand.statusCode).toBe(501);
    expectRedfishError(expand.json(), "QueryNotSupported");
    const only = await app.inject({ url: "/redfish/v1/Systems?only", headers: ADMIN });
    expect(only.json()["@odata.id"]).toBe("/redfish/v1/Systems/system");
  });
});
