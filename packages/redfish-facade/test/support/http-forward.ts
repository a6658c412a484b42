// A member forward over real HTTP (undici, one pool per BMC, the request's deadline on headers
// and body): what the agent does towards its local BMC, for tests with listening simulators and
// for the benchmark.
import { Pool } from "undici";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse } from "../../src/index.ts";

/** Connections kept open to one BMC. */
export const CONNECTIONS_PER_BMC = 16;

export interface HttpForwarder {
  send(memberId: string, request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

function isTimeout(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: string; name?: string };
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || name === "TimeoutError";
}

export function createHttpForwarder(
  baseUrl: string,
  extraHeaders: Readonly<Record<string, string>> = {},
  connections = CONNECTIONS_PER_BMC,
): HttpForwarder {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  return {
    async send(memberId, request) {
      try {
        const response = await pool.request({
          method: request.method as "GET",
          path: request.path,
          headers: { ...request.headers, ...extraHeaders },
          ...(request.body === undefined ? {} : { body: request.body }),
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
          signal: AbortSignal.timeout(request.timeoutMs),
        });
        const text = await response.body.text();
        return { statusCode: response.statusCode, headers: response.headers as UpstreamResponse["headers"], text };
      } catch (error) {
        if (isTimeout(error)) {
          throw new UpstreamError("timeout", memberId, `no answer within ${request.timeoutMs} ms`, { cause: error });
        }
        throw new UpstreamError("unreachable", memberId, `${baseUrl} did not answer`, { cause: error });
      }
    },
    async close() {
      await pool.destroy();
    },
  };
}
