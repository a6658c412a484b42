// The client for this node's own BMC (bmcweb on localhost): one undici Pool, explicit connect,
// headers and body timeouts, TLS verification as configured, a Redfish session (POST Sessions ->
// X-Auth-Token) renewed on 401, Basic auth when the BMC offers no sessions, and answers read up to
// a bound. Non-2xx answers are returned, not thrown: the facade passes Redfish errors through.
import { Buffer } from "node:buffer";
import { type Dispatcher, Pool } from "undici";
import type { ConclaveConfig } from "../config/schema.ts";
import {
  AgentError,
  BmcAuthError,
  BmcRequestError,
  BmcResponseTooLargeError,
  BmcTimeoutError,
  BmcUnreachableError,
} from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { type BmcCredentials, readBmcCredentials } from "./credentials.ts";

export const SERVICE_ROOT_PATH = "/redfish/v1";
export const SESSIONS_PATH = "/redfish/v1/SessionService/Sessions";
/** Connections kept to the local BMC. bmcweb serves a handful at once; more only queue there. */
export const BMC_POOL_CONNECTIONS = 4;
/** The largest answer read from the BMC; bigger ones are cut off with AGENT_ERR_BMC_RESPONSE_TOO_LARGE. */
export const BMC_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** How long the health probe waits for the service root (at most the configured request timeout). */
export const BMC_PROBE_TIMEOUT_MS = 2_000;
/** How long logging out of the session may take when the client closes. */
export const BMC_LOGOUT_TIMEOUT_MS = 1_000;
/** Idle keep-alive connections are closed after this long. */
export const BMC_KEEP_ALIVE_TIMEOUT_MS = 30_000;

const METHODS = new Set(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]);
/** Headers the client sets itself: a caller's (a console's) credentials never reach the BMC. */
const OWN_HEADERS = new Set(["authorization", "x-auth-token", "host", "connection", "content-length", "cookie"]);
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH/;

export type BmcAuthMode = "session" | "basic";

export interface BmcClientInit {
  /** Base URL of the BMC's Redfish service; only its origin is used. */
  readonly redfishUrl: string;
  /** Read at every login, so a corrected file is picked up without a restart. */
  readonly credentialsFile?: string;
  /** Given directly instead of a file (tests). */
  readonly credentials?: BmcCredentials;
  readonly verifyTls?: boolean;
  readonly connectTimeoutMs?: number;
  /** One request, headers and body; also the default whole-request deadline. */
  readonly requestTimeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** `session` (default) logs in and falls back to Basic when the BMC has no sessions. */
  readonly authMode?: BmcAuthMode;
  /** Replaces the pool (tests pass undici's MockAgent). Not closed by close(). */
  readonly dispatcher?: Dispatcher;
  readonly logger?: AgentLogger;
}

export interface BmcRequestOptions {
  readonly body?: unknown;
  /** Passed through (If-Match, If-None-Match, Content-Type, ...), except credentials. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface BmcResponse {
  readonly statusCode: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly etag: string | undefined;
  readonly text: string;
  /** The body parsed when the BMC says it is JSON; undefined when empty or not JSON. */
  readonly json: unknown;
}

export interface BmcProbeResult {
  readonly reachable: boolean;
  readonly statusCode: number | undefined;
  readonly latencyMs: number;
  /** Why it is not reachable: an AGENT_ERR_* code or `HTTP <status>`. */
  readonly problem: string | undefined;
}

export interface BmcClient {
  get(path: string, options?: Omit<BmcRequestOptions, "body">): Promise<BmcResponse>;
  request(method: string, path: string, options?: BmcRequestOptions): Promise<BmcResponse>;
  /** GET of the service root without credentials, with a short timeout. Never throws. */
  probe(): Promise<BmcProbeResult>;
  /** The authentication in use: undefined before the first login. */
  authMode(): BmcAuthMode | undefined;
  /** Logs out of the session (best effort) and closes the pool. */
  close(): Promise<void>;
}

type AuthState =
  | { readonly kind: "none" }
  | { readonly kind: "session"; readonly token: string; readonly location: string | undefined }
  | { readonly kind: "basic"; readonly header: string };

export function bmcClientFromConfig(
  bmc: ConclaveConfig["bmc"],
  options: { logger?: AgentLogger; dispatcher?: Dispatcher } = {},
): BmcClient {
  return createBmcClient({
    redfishUrl: bmc.redfishUrl,
    credentialsFile: bmc.credentialsFile,
    verifyTls: bmc.verifyTls,
    connectTimeoutMs: bmc.connectTimeoutMs,
    requestTimeoutMs: bmc.requestTimeoutMs,
    ...options,
  });
}

export function createBmcClient(init: BmcClientInit): BmcClient {
  if (init.credentials === undefined && init.credentialsFile === undefined) {
    throw new BmcRequestError("the BMC client needs credentials or a credentials file");
  }
  const origin = new URL(init.redfishUrl).origin;
  const connectTimeoutMs = init.connectTimeoutMs ?? 2_000;
  const requestTimeoutMs = init.requestTimeoutMs ?? 10_000;
  const maxResponseBytes = init.maxResponseBytes ?? BMC_MAX_RESPONSE_BYTES;
  const verifyTls = init.verifyTls ?? true;
  const logger = init.logger ?? silentLogger;
  const preferredMode = init.authMode ?? "session";
  const ownPool =
    init.dispatcher === undefined
      ? new Pool(origin, {
          connections: BMC_POOL_CONNECTIONS,
          connect: { timeout: connectTimeoutMs, rejectUnauthorized: verifyTls },
          headersTimeout: requestTimeoutMs,
          bodyTimeout: requestTimeoutMs,
          keepAliveTimeout: BMC_KEEP_ALIVE_TIMEOUT_MS,
          maxResponseSize: maxResponseBytes,
        })
      : undefined;
  const dispatcher: Dispatcher = init.dispatcher ?? (ownPool as Dispatcher);

  let auth: AuthState = { kind: "none" };
  let loggingIn: Promise<AuthState> | undefined;
  let closed = false;

  const credentials = (): BmcCredentials => init.credentials ?? readBmcCredentials(init.credentialsFile!);

  const basicState = (): AuthState => {
    const { username, password } = credentials();
    return { kind: "basic", header: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
  };

  const describeFailure = (err: unknown, method: string, path: string, timeoutMs: number): AgentError => {
    if (err instanceof AgentError) return err;
    const code = (err as { code?: unknown } | undefined)?.code;
    const name = (err as { name?: unknown } | undefined)?.name;
    const what = `${method} ${path} on the local BMC ${origin}`;
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
      return new BmcTimeoutError(`${what}: no answer within ${requestTimeoutMs} ms`, { cause: err });
    }
    if (name === "TimeoutError" || name === "AbortError" || code === "UND_ERR_ABORTED") {
      return new BmcTimeoutError(`${what}: no answer within ${timeoutMs} ms`, { cause: err });
    }
    if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") return new BmcResponseTooLargeError(path, maxResponseBytes);
    if (code === "UND_ERR_CONNECT_TIMEOUT") {
      return new BmcUnreachableError(`${what}: cannot connect within ${connectTimeoutMs} ms`, { cause: err });
    }
    const detail = typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
    if (typeof code === "string" && TLS_ERROR.test(code)) {
      return new BmcUnreachableError(
        `${what}: TLS verification failed (${detail}); bmcweb's self-signed certificate needs bmc.verifyTls: false`,
        { cause: err },
      );
    }
    return new BmcUnreachableError(`${what}: ${detail}`, { cause: err });
  };

  /** One HTTP exchange, body read up to the bound. */
  const exchange = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    timeoutMs: number,
  ): Promise<BmcResponse> => {
    if (closed) throw new BmcRequestError("the BMC client is closed");
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin,
        path,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: Math.min(timeoutMs, requestTimeoutMs),
        bodyTimeout: Math.min(timeoutMs, requestTimeoutMs),
      });
    } catch (err) {
      throw describeFailure(err, method, path, timeoutMs);
    }
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxResponseBytes) {
      response.body.destroy();
      throw new BmcResponseTooLargeError(path, maxResponseBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        total += buffer.byteLength;
        if (total > maxResponseBytes) {
          response.body.destroy();
          throw new BmcResponseTooLargeError(path, maxResponseBytes);
        }
        chunks.push(buffer);
      }
    } catch (err) {
      throw describeFailure(err, method, path, timeoutMs);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const contentType = String(response.headers["content-type"] ?? "");
    let json: unknown;
    if (text.length > 0 && /json/i.test(contentType)) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const etag = response.headers.etag;
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      etag: typeof etag === "string" ? etag : undefined,
      text,
      json,
    };
  };

  const login = async (): Promise<AuthState> => {
    if (preferredMode === "basic") return basicState();
    const { username, password } = credentials();
    const response = await exchange(
      "POST",
      SESSIONS_PATH,
      { "content-type": "application/json", accept: "application/json" },
      JSON.stringify({ UserName: username, Password: password }),
      requestTimeoutMs,
    );
    const token = response.headers["x-auth-token"];
    if (response.statusCode >= 200 && response.statusCode < 300 && typeof token === "string" && token !== "") {
      const location = response.headers.location;
      logger.info({ bmc: origin, user: username }, "logged in to the local BMC (Redfish session)");
      return { kind: "session", token, location: typeof location === "string" ? location : undefined };
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new BmcAuthError(
        `the local BMC ${origin} refused the login of "${username}" (HTTP ${response.statusCode}); check ${init.credentialsFile ?? "the credentials"}`,
        response.statusCode,
      );
    }
    logger.warn(
      { bmc: origin, statusCode: response.statusCode },
      "the local BMC gave no Redfish session; using Basic auth",
    );
    return basicState();
  };

  /** Logs in once for every caller waiting; `stale` is the state a caller saw fail. */
  const renewAuth = (stale: AuthState): Promise<AuthState> => {
    if (auth !== stale) return Promise.resolve(auth);
    if (loggingIn === undefined) {
      loggingIn = login()
        .then((state) => {
          auth = state;
          return state;
        })
        .finally(() => {
          loggingIn = undefined;
        });
    }
    return loggingIn;
  };

  const authHeaders = (state: AuthState): Record<string, string> => {
    if (state.kind === "session") return { "x-auth-token": state.token };
    if (state.kind === "basic") return { authorization: state.header };
    return {};
  };

  const checkPath = (path: string): void => {
    if (!path.startsWith("/") || path.startsWith("//") || /[\r\n\s]/.test(path)) {
      throw new BmcRequestError(`refusing to send ${JSON.stringify(path)} to the local BMC: not a local path`);
    }
  };

  const request = async (method: string, path: string, options: BmcRequestOptions = {}): Promise<BmcResponse> => {
    const upperMethod = method.toUpperCase();
    if (!METHODS.has(upperMethod)) throw new BmcRequestError(`unsupported method ${method}`);
    checkPath(path);
    const timeoutMs = options.timeoutMs ?? requestTimeoutMs;
    const headers: Record<string, string> = { accept: "application/json" };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
    let body: string | Uint8Array | undefined;
    if (typeof options.body === "string" || options.body instanceof Uint8Array) body = options.body;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }

    let state = auth.kind === "none" ? await renewAuth(auth) : auth;
    let response = await exchange(upperMethod, path, { ...headers, ...authHeaders(state) }, body, timeoutMs);
    if (response.statusCode !== 401) return response;
    // The session expired or the BMC restarted: log in again once, then retry (the body is a buffer, safe to resend).
    logger.info({ bmc: origin, path, auth: state.kind }, "the local BMC answered 401; logging in again");
    state = await renewAuth(state);
    response = await exchange(upperMethod, path, { ...headers, ...authHeaders(state) }, body, timeoutMs);
    if (response.statusCode === 401) {
      auth = { kind: "none" };
      throw new BmcAuthError(`the local BMC ${origin} refused our credentials for ${upperMethod} ${path}`, 401);
    }
    return response;
  };

  const probe = async (): Promise<BmcProbeResult> => {
    const startedMs = performance.now();
    const timeoutMs = Math.min(BMC_PROBE_TIMEOUT_MS, requestTimeoutMs);
    try {
      const response = await exchange("GET", SERVICE_ROOT_PATH, { accept: "application/json" }, undefined, timeoutMs);
      const latencyMs = Math.round(performance.now() - startedMs);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return {
        reachable: ok,
        statusCode: response.statusCode,
        latencyMs,
        problem: ok ? undefined : `HTTP ${response.statusCode}`,
      };
    } catch (err) {
      return {
        reachable: false,
        statusCode: undefined,
        latencyMs: Math.round(performance.now() - startedMs),
        problem: err instanceof AgentError ? err.code : String(err),
      };
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    const state = auth;
    if (state.kind === "session" && state.location !== undefined) {
      const location = state.location.startsWith("http") ? new URL(state.location).pathname : state.location;
      await exchange("DELETE", location, authHeaders(state), undefined, BMC_LOGOUT_TIMEOUT_MS).catch((err: unknown) =>
        logger.debug({ err, bmc: origin }, "logout from the local BMC failed"),
      );
    }
    closed = true;
    auth = { kind: "none" };
    await ownPool?.close();
  };

  return {
    get: (path, options) => request("GET", path, options),
    request,
    probe,
    authMode: () => (auth.kind === "none" ? undefined : auth.kind),
    close,
  };
}
