// Proves the local BMC client's session login, re-login on 401, Basic fallback, header pass-through, bounds and error codes against undici's MockAgent with the network disabled.
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bmcCredentials, createBmcClient } from "../../src/bmc/index.ts";

const ORIGIN = "https://127.0.0.1";
const SESSIONS = "/redfish/v1/SessionService/Sessions";
const JSON_HEADERS = { "content-type": "application/json" };

let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});

afterEach(async () => {
  await agent.close();
});

function client(overrides: Partial<Parameters<typeof createBmcClient>[0]> = {}) {
  return createBmcClient({
    redfishUrl: ORIGIN,
    credentials: bmcCredentials("conclave", "pw"),
    dispatcher: agent,
    requestTimeoutMs: 1_000,
    ...overrides,
  });
}

function expectLogin(token: string, times = 1) {
  agent
    .get(ORIGIN)
    .intercept({ path: SESSIONS, method: "POST", body: JSON.stringify({ UserName: "conclave", Password: "pw" }) })
    .reply(
      201,
      { Id: token },
      { headers: { ...JSON_HEADERS, "x-auth-token": token, location: `${SESSIONS}/${token}` } },
    )
    .times(times);
}

describe("authentication", () => {
  it("logs in once and sends the session token", async () => {
    expectLogin("t1");
    const seen: unknown[] = [];
    agent
      .get(ORIGIN)
      .intercept({ path: "/redfish/v1/Systems", method: "GET" })
      .reply(
        200,
        (options) => {
          seen.push(options.headers);
          return { Members: [] };
        },
        { headers: JSON_HEADERS },
      )
      .times(2);
    const bmc = client();
    expect((await bmc.get("/redfish/v1/Systems")).json).toEqual({ Members: [] });
    await bmc.get("/redfish/v1/Systems");
    expect(seen).toHaveLength(2);
    for (const headers of seen) expect(headers).toMatchObject({ "x-auth-token": "t1" });
    expect(bmc.authMode()).toBe("session");
  });

  it("logs in again on 401 and retries once; a second 401 is AGENT_ERR_BMC_AUTH", async () => {
    expectLogin("old");
    expectLogin("new");
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: "/redfish/v1", method: "GET", headers: { "x-auth-token": "old" } }).reply(401, {});
    pool
      .intercept({ path: "/redfish/v1", method: "GET", headers: { "x-auth-token": "new" } })
      .reply(200, { ok: 1 }, { headers: JSON_HEADERS });
    const bmc = client();
    expect((await bmc.get("/redfish/v1")).json).toEqual({ ok: 1 });

    expectLogin("newer");
    pool.intercept({ path: "/redfish/v1/Managers", method: "GET" }).reply(401, {}).times(2);
    await expect(bmc.get("/redfish/v1/Managers")).rejects.toMatchObject({
      code: "AGENT_ERR_BMC_AUTH",
      statusCode: 401,
    });
  });

  it("renews the session once for many requests that meet the same 401", async () => {
    expectLogin("old");
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: "/redfish/v1", method: "GET", headers: { "x-auth-token": "old" } }).reply(200, {});
    const bmc = client();
    await bmc.get("/redfish/v1");
    let logins = 0;
    pool
      .intercept({ path: SESSIONS, method: "POST" })
      .reply(() => {
        logins += 1;
        return { statusCode: 201, data: {}, responseOptions: { headers: { "x-auth-token": "new" } } };
      })
      .persist();
    pool
      .intercept({ path: /\/redfish\/v1\/Chassis\/\d/, method: "GET", headers: { "x-auth-token": "old" } })
      .reply(401, {})
      .times(5);
    pool
      .intercept({ path: /\/redfish\/v1\/Chassis\/\d/, method: "GET", headers: { "x-auth-token": "new" } })
      .reply(200, {})
      .times(5);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => bmc.get(`/redfish/v1/Chassis/${n}`)));
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(logins).toBe(1);
  });

  it("falls back to Basic auth when the BMC has no sessions", async () => {
    agent.get(ORIGIN).intercept({ path: SESSIONS, method: "POST" }).reply(404, {});
    const basic = `Basic ${Buffer.from("conclave:pw").toString("base64")}`;
    agent
      .get(ORIGIN)
      .intercept({ path: "/redfish/v1/Systems", method: "GET", headers: { authorization: basic } })
      .reply(200, {});
    const bmc = client();
    expect((await bmc.get("/redfish/v1/Systems")).statusCode).toBe(200);
    expect(bmc.authMode()).toBe("basic");
  });

  it("reports refused credentials at login as AGENT_ERR_BMC_AUTH, without the password", async () => {
    agent.get(ORIGIN).intercept({ path: SESSIONS, method: "POST" }).reply(401, {});
    const failure = client().get("/redfish/v1/Systems");
    await expect(failure).rejects.toMatchObject({ code: "AGENT_ERR_BMC_AUTH" });
    await expect(failure).rejects.not.toThrow(/pw/);
  });

  it("logs out of its session on close", async () => {
    expectLogin("t9");
    agent.get(ORIGIN).intercept({ path: "/redfish/v1", method: "GET" }).reply(200, {});
    let loggedOut = false;
    agent
      .get(ORIGIN)
      .intercept({ path: `${SESSIONS}/t9`, method: "DELETE", headers: { "x-auth-token": "t9" } })
      .reply(() => {
        loggedOut = true;
        return { statusCode: 204, data: "" };
      });
    const bmc = client();
    await bmc.get("/redfish/v1");
    await bmc.close();
    expect(loggedOut).toBe(true);
    await expect(bmc.get("/redfish/v1")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_REQUEST" });
  });
});

describe("requests", () => {
  it("passes If-Match through, returns the ETag, and never forwards a caller's credentials", async () => {
    expectLogin("t1");
    let received: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({ path: "/redfish/v1/Systems/system", method: "PATCH", body: JSON.stringify({ AssetTag: "x" }) })
      .reply(
        200,
        (options) => {
          received = options.headers as Record<string, string>;
          return { AssetTag: "x" };
        },
        { headers: { ...JSON_HEADERS, etag: 'W/"2"' } },
      );
    const answer = await client().request("PATCH", "/redfish/v1/Systems/system", {
      body: { AssetTag: "x" },
      headers: { "If-Match": 'W/"1"', Authorization: "Basic Y29uc29sZTpzZWNyZXQ=", "X-Auth-Token": "console" },
    });
    expect(answer.etag).toBe('W/"2"');
    expect(received["if-match"]).toBe('W/"1"');
    expect(received["content-type"]).toBe("application/json");
    expect(received["x-auth-token"]).toBe("t1");
    expect(received.authorization).toBeUndefined();
  });

  it("returns Redfish errors as answers, not exceptions", async () => {
    expectLogin("t1");
    agent
      .get(ORIGIN)
      .intercept({ path: "/redfish/v1/Nope", method: "GET" })
      .reply(404, { error: { code: "Base.1.0.ResourceMissingAtURI" } }, { headers: JSON_HEADERS });
    const answer = await client().get("/redfish/v1/Nope");
    expect(answer.statusCode).toBe(404);
    expect(answer.json).toMatchObject({ error: { code: "Base.1.0.ResourceMissingAtURI" } });
  });

  it("refuses paths that are not local and methods it does not know", async () => {
    const bmc = client();
    await expect(bmc.get("http://10.0.0.9/redfish/v1")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_REQUEST" });
    await expect(bmc.get("//evil/redfish")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_REQUEST" });
    await expect(bmc.request("TRACE", "/redfish/v1")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_REQUEST" });
  });

  it("cuts off an answer larger than the bound, declared or not", async () => {
    expectLogin("t1");
    const big = "x".repeat(2_000);
    agent
      .get(ORIGIN)
      .intercept({ path: "/declared", method: "GET" })
      .reply(200, big, { headers: { "content-length": "2000" } });
    agent.get(ORIGIN).intercept({ path: "/streamed", method: "GET" }).reply(200, big);
    const bmc = client({ maxResponseBytes: 1_000 });
    await expect(bmc.get("/declared")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_RESPONSE_TOO_LARGE" });
    await expect(bmc.get("/streamed")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_RESPONSE_TOO_LARGE" });
  });

  it("maps connection failures, timeouts and TLS errors to stable codes", async () => {
    const pool = agent.get(ORIGIN);
    pool
      .intercept({ path: SESSIONS, method: "POST" })
      .replyWithError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    await expect(client().get("/redfish/v1/Systems")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_UNREACHABLE" });

    pool
      .intercept({ path: SESSIONS, method: "POST" })
      .replyWithError(Object.assign(new Error("self-signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }));
    await expect(client().get("/redfish/v1/Systems")).rejects.toThrow(/verifyTls: false/);

    expectLogin("t1");
    pool.intercept({ path: "/slow", method: "GET" }).reply(200, {}).delay(500);
    await expect(client().get("/slow", { timeoutMs: 100 })).rejects.toMatchObject({ code: "AGENT_ERR_BMC_TIMEOUT" });

    // Nothing intercepts this one and the network is disabled.
    await expect(client({ authMode: "basic" }).get("/unmocked")).rejects.toMatchObject({
      code: "AGENT_ERR_BMC_UNREACHABLE",
    });
  });
});

describe("probe", () => {
  it("asks the service root without credentials and never throws", async () => {
    let headers: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({ path: "/redfish/v1", method: "GET" })
      .reply(200, (options) => {
        headers = options.headers as Record<string, string>;
        return { "@odata.id": "/redfish/v1" };
      });
    const bmc = client();
    expect(await bmc.probe()).toMatchObject({ reachable: true, statusCode: 200, problem: undefined });
    expect(headers["x-auth-token"]).toBeUndefined();
    expect(headers.authorization).toBeUndefined();

    agent.get(ORIGIN).intercept({ path: "/redfish/v1", method: "GET" }).reply(503, {});
    expect(await bmc.probe()).toMatchObject({ reachable: false, statusCode: 503, problem: "HTTP 503" });
    expect(await bmc.probe()).toMatchObject({ reachable: false, problem: "AGENT_ERR_BMC_UNREACHABLE" });
  });
});
