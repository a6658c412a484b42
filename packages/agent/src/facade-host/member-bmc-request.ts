// `conclave.bmc.request`: what a member's agent does when the PoC's facade forwards one Redfish
// request to it. The member sends it to its own BMC through its own BmcClient, with its own
// credentials (the console's never travel: the body carries no credentials and the client drops
// any the headers might hold), and answers with the status, headers and text. Everything is
// bounded: the request body and the answer fit one RPC frame, the deadline is capped.
import { BmcRequestError, BmcResponseTooLargeError, PeerNotAllowedError } from "../errors.ts";
import { RPC_MAX_FRAME_BYTES, RPC_SERVER_TIMEOUT_MS } from "../p2p/rpc.ts";

/**
 * Room left in an RPC frame for the envelope around a forwarded request or answer ({v, id, ok,
 * body} plus the method, status and header names): the body and the text get the rest.
 */
export const BMC_REQUEST_ENVELOPE_BYTES = 16 * 1024;
/** Largest request body a member forwards to its BMC (its JSON text, UTF-8): one RPC frame. */
export const BMC_REQUEST_BODY_BYTES_MAX = RPC_MAX_FRAME_BYTES - BMC_REQUEST_ENVELOPE_BYTES;
/**
 * Largest answer, as JSON, that comes back over the RPC. A BMC answer bigger than that is refused
 * by the member with AGENT_ERR_BMC_RESPONSE_TOO_LARGE (a clear error, not a broken frame).
 */
export const BMC_ANSWER_BYTES_MAX = RPC_MAX_FRAME_BYTES - BMC_REQUEST_ENVELOPE_BYTES;
/**
 * The longest deadline a forwarded request may ask for. The callee's RPC service gives a handler
 * RPC_SERVER_TIMEOUT_MS in all; the member must answer (even "timed out") before that.
 */
export const BMC_REQUEST_TIMEOUT_MS_MAX = RPC_SERVER_TIMEOUT_MS - 2_000;
/** The shortest deadline accepted: below it no BMC can answer anyway. */
export const BMC_REQUEST_TIMEOUT_MS_MIN = 10;
/** Extra time the caller waits beyond the forwarded deadline, so the member's own timeout answer arrives first. */
export const BMC_REQUEST_TRANSIT_MS = 1_000;
/** Headers one forwarded request may carry, and the longest name and value. */
export const BMC_REQUEST_HEADERS_MAX = 32;
export const BMC_REQUEST_HEADER_NAME_MAX_CHARS = 64;
export const BMC_REQUEST_HEADER_VALUE_MAX_CHARS = 4_096;
/** Longest path (with query) forwarded. */
export const BMC_REQUEST_PATH_MAX_CHARS = 4_096;

const METHODS = new Set(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]);
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/**
 * Headers of the BMC's answer that stay on the member: its session token and cookies are the
 * member's credentials; the hop-by-hop ones describe the member's connection, not the answer.
 */
const ANSWER_HEADERS_KEPT_LOCAL = new Set([
  "x-auth-token",
  "set-cookie",
  "www-authenticate",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
]);

/** The body of `conclave.bmc.request`: an UpstreamRequest. */
export interface BmcRequestBody {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
}

/** The answer: what the BMC said (any status). */
export interface BmcRequestAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly text: string;
}

/** The slice of BmcClient the handler uses. */
export interface LocalBmc {
  request(
    method: string,
    path: string,
    options: { body?: string; headers?: Readonly<Record<string, string>>; timeoutMs?: number },
  ): Promise<{
    readonly statusCode: number;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    readonly text: string;
  }>;
}

/** Checks a forwarded request; throws BmcRequestError naming the bad value. The deadline is capped. */
export function parseBmcRequest(value: unknown): BmcRequestBody {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BmcRequestError("a forwarded BMC request must be an object");
  }
  const input = value as Record<string, unknown>;
  const method = input.method;
  if (typeof method !== "string" || !METHODS.has(method)) {
    throw new BmcRequestError(`method ${JSON.stringify(method)} is not one of ${[...METHODS].join(", ")}`);
  }
  const path = input.path;
  if (typeof path !== "string" || path.length > BMC_REQUEST_PATH_MAX_CHARS || !path.startsWith("/redfish")) {
    throw new BmcRequestError(
      `path ${JSON.stringify(typeof path === "string" ? path.slice(0, 128) : path)} is not a Redfish path of at most ${BMC_REQUEST_PATH_MAX_CHARS} characters`,
    );
  }
  const headers: Record<string, string> = {};
  const rawHeaders = input.headers ?? {};
  if (rawHeaders === null || typeof rawHeaders !== "object" || Array.isArray(rawHeaders)) {
    throw new BmcRequestError("headers must be an object of strings");
  }
  const entries = Object.entries(rawHeaders);
  if (entries.length > BMC_REQUEST_HEADERS_MAX) {
    throw new BmcRequestError(`${entries.length} headers is over the limit of ${BMC_REQUEST_HEADERS_MAX}`);
  }
  for (const [name, headerValue] of entries) {
    if (name.length > BMC_REQUEST_HEADER_NAME_MAX_CHARS || !HEADER_NAME.test(name)) {
      throw new BmcRequestError(`header name ${JSON.stringify(name.slice(0, 80))} is not a lower-case header name`);
    }
    if (
      typeof headerValue !== "string" ||
      headerValue.length > BMC_REQUEST_HEADER_VALUE_MAX_CHARS ||
      /[\r\n]/.test(headerValue)
    ) {
      throw new BmcRequestError(`header ${name} has no valid value`);
    }
    headers[name] = headerValue;
  }
  const body = input.body;
  if (body !== undefined && body !== null && typeof body !== "string") {
    throw new BmcRequestError("body must be a string (the request's JSON text)");
  }
  if (typeof body === "string" && Buffer.byteLength(body) > BMC_REQUEST_BODY_BYTES_MAX) {
    throw new BmcRequestError(
      `the request body is ${Buffer.byteLength(body)} bytes, over the ${BMC_REQUEST_BODY_BYTES_MAX}-byte limit`,
    );
  }
  const timeoutMs = input.timeoutMs;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < BMC_REQUEST_TIMEOUT_MS_MIN) {
    throw new BmcRequestError(
      `timeoutMs ${JSON.stringify(timeoutMs)} is not a number of milliseconds (at least ${BMC_REQUEST_TIMEOUT_MS_MIN})`,
    );
  }
  return {
    method,
    path,
    headers,
    ...(typeof body === "string" ? { body } : {}),
    timeoutMs: cappedTimeoutMs(timeoutMs),
  };
}

export function cappedTimeoutMs(timeoutMs: number): number {
  return Math.max(BMC_REQUEST_TIMEOUT_MS_MIN, Math.min(Math.floor(timeoutMs), BMC_REQUEST_TIMEOUT_MS_MAX));
}

/**
 * Runs one forwarded request against the local BMC. Resolves with any HTTP answer; rejects with
 * the BMC client's errors (AGENT_ERR_BMC_*, their codes travel back over the RPC) and with
 * BmcResponseTooLargeError when the answer would not fit one RPC frame.
 */
export async function runBmcRequest(bmc: LocalBmc, request: BmcRequestBody): Promise<BmcRequestAnswer> {
  const response = await bmc.request(request.method, request.path, {
    headers: request.headers,
    timeoutMs: request.timeoutMs,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || ANSWER_HEADERS_KEPT_LOCAL.has(name.toLowerCase())) continue;
    headers[name.toLowerCase()] = value;
  }
  const answer: BmcRequestAnswer = { statusCode: response.statusCode, headers, text: response.text };
  if (Buffer.byteLength(JSON.stringify(answer)) > BMC_ANSWER_BYTES_MAX) {
    throw new BmcResponseTooLargeError(request.path, BMC_ANSWER_BYTES_MAX);
  }
  return answer;
}

export interface BmcRequestHandlerInit {
  /** Raft members (voters and learners): the only callers served. */
  readonly isMember: (peerId: string) => boolean;
  /** This node's BMC; undefined for a node without one (a witness without bmc config). */
  readonly bmc: LocalBmc | undefined;
  /** Named in the refusal when there is no BMC. */
  readonly nodeName: string;
}

/** The `conclave.bmc.request` handler a member registers on its RPC service. */
export function bmcRequestHandler(
  init: BmcRequestHandlerInit,
): (body: unknown, context: { peerId: string }) => Promise<BmcRequestAnswer> {
  return async (body, context) => {
    // The peer gate also lets in joiners that are not members yet: forwarding is for members only.
    if (!init.isMember(context.peerId)) throw new PeerNotAllowedError(context.peerId, "conclave.bmc.request");
    if (init.bmc === undefined) throw new BmcRequestError(`${init.nodeName} has no BMC (a witness without bmc config)`);
    return runBmcRequest(init.bmc, parseBmcRequest(body));
  };
}
