// Proves the member side of `conclave.bmc.request` without a network: bad requests are refused naming the bad value, the deadline is capped, the BMC's answer comes back with its own credentials (session token, cookies) and hop-by-hop headers stripped, an answer too big for one RPC frame is a clear AGENT_ERR_BMC_RESPONSE_TOO_LARGE, and only members of a node with a BMC are served.
import { describe, expect, it } from "vitest";
import { BmcRequestError, BmcResponseTooLargeError, PeerNotAllowedError } from "../../src/errors.ts";
import {
  BMC_ANSWER_BYTES_MAX,
  BMC_REQUEST_BODY_BYTES_MAX,
  BMC_REQUEST_HEADERS_MAX,
  BMC_REQUEST_TIMEOUT_MS_MAX,
  bmcRequestHandler,
  type LocalBmc,
  parseBmcRequest,
  runBmcRequest,
} from "../../src/facade-host/member-bmc-request.ts";
import { RPC_MAX_FRAME_BYTES, RPC_SERVER_TIMEOUT_MS } from "../../src/p2p/rpc.ts";

const valid = { method: "GET", path: "/redfish/v1/Systems", headers: { "if-match": '"e1"' }, timeoutMs: 3_000 };

function fakeBmc(answer: { statusCode: number; headers: Record<string, string | string[]>; text: string }) {
  const calls: { method: string; path: string; options: unknown }[] = [];
  const bmc: LocalBmc = {
    request: async (method, path, options) => {
      calls.push({ method, path, options });
      return answer;
    },
  };
  return { bmc, calls };
}

describe("parseBmcRequest", () => {
  it("accepts an UpstreamRequest and caps its deadline below the callee's RPC timeout", () => {
    expect(parseBmcRequest(valid)).toEqual(valid);
    expect(parseBmcRequest({ ...valid, timeoutMs: 3_600_000 }).timeoutMs).toBe(BMC_REQUEST_TIMEOUT_MS_MAX);
    expect(BMC_REQUEST_TIMEOUT_MS_MAX).toBeLessThan(RPC_SERVER_TIMEOUT_MS);
    expect(parseBmcRequest({ ...valid, method: "PATCH", body: '{"A":1}' }).body).toBe('{"A":1}');
  });

  it("refuses bad values, naming them", () => {
    const refused = (value: unknown) => {
      try {
        parseBmcRequest(value);
      } catch (error) {
        expect(error).toBeInstanceOf(BmcRequestError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refused(null)).toMatch(/must be an object/);
    expect(refused({ ...valid, method: "TRACE" })).toMatch(/method "TRACE" is not one of/);
    expect(refused({ ...valid, path: "/etc/passwd" })).toMatch(/path "\/etc\/passwd" is not a Redfish path/);
    expect(refused({ ...valid, headers: { "X-Upper": "a" } })).toMatch(/"X-Upper" is not a lower-case header name/);
    expect(refused({ ...valid, headers: { "x-a": "a\r\nx-b: b" } })).toMatch(/header x-a has no valid value/);
    const many = Object.fromEntries(Array.from({ length: BMC_REQUEST_HEADERS_MAX + 1 }, (_, i) => [`x-${i}`, "v"]));
    expect(refused({ ...valid, headers: many })).toMatch(/over the limit/);
    expect(refused({ ...valid, body: { A: 1 } })).toMatch(/body must be a string/);
    expect(refused({ ...valid, body: "x".repeat(BMC_REQUEST_BODY_BYTES_MAX + 1) })).toMatch(
      new RegExp(`over the ${BMC_REQUEST_BODY_BYTES_MAX}-byte limit`),
    );
    expect(refused({ ...valid, timeoutMs: "soon" })).toMatch(/timeoutMs "soon" is not a number/);
    expect(BMC_REQUEST_BODY_BYTES_MAX).toBeLessThan(RPC_MAX_FRAME_BYTES);
  });
});

describe("runBmcRequest", () => {
  it("returns any status with the answer's headers, keeping the member's credentials and hop-by-hop headers home", async () => {
    const { bmc, calls } = fakeBmc({
      statusCode: 412,
      headers: {
        "content-type": "application/json",
        etag: '"e2"',
        "x-auth-token": "member-session",
        "set-cookie": ["SESSION=1"],
        connection: "keep-alive",
        "transfer-encoding": "chunked",
        link: ["</redfish/v1/schemas/A.json>; rel=describedby"],
      },
      text: '{"error":{}}',
    });
    const answer = await runBmcRequest(bmc, parseBmcRequest({ ...valid, method: "PATCH", body: "{}" }));
    expect(answer).toEqual({
      statusCode: 412,
      headers: {
        "content-type": "application/json",
        etag: '"e2"',
        link: ["</redfish/v1/schemas/A.json>; rel=describedby"],
      },
      text: '{"error":{}}',
    });
    expect(calls).toEqual([
      {
        method: "PATCH",
        path: "/redfish/v1/Systems",
        options: { headers: { "if-match": '"e1"' }, timeoutMs: 3_000, body: "{}" },
      },
    ]);
  });

  it("refuses an answer too big for one RPC frame with AGENT_ERR_BMC_RESPONSE_TOO_LARGE", async () => {
    const { bmc } = fakeBmc({ statusCode: 200, headers: {}, text: "x".repeat(BMC_ANSWER_BYTES_MAX) });
    const failure = runBmcRequest(bmc, parseBmcRequest(valid));
    await expect(failure).rejects.toBeInstanceOf(BmcResponseTooLargeError);
    await expect(failure).rejects.toMatchObject({
      code: "AGENT_ERR_BMC_RESPONSE_TOO_LARGE",
      message: `the local BMC's answer to /redfish/v1/Systems exceeds ${BMC_ANSWER_BYTES_MAX} bytes`,
    });
  });
});

describe("bmcRequestHandler", () => {
  it("serves members only, and says so when the node has no BMC", async () => {
    const { bmc } = fakeBmc({ statusCode: 200, headers: {}, text: "{}" });
    const handler = bmcRequestHandler({ isMember: (peer) => peer === "member", bmc, nodeName: "bmc1" });
    await expect(handler(valid, { peerId: "member" })).resolves.toMatchObject({ statusCode: 200 });
    await expect(handler(valid, { peerId: "joiner" })).rejects.toBeInstanceOf(PeerNotAllowedError);
    const witness = bmcRequestHandler({ isMember: () => true, bmc: undefined, nodeName: "witness1" });
    await expect(witness(valid, { peerId: "member" })).rejects.toThrow("witness1 has no BMC");
  });
});
