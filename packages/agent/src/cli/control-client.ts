// The CLI's side of the control API: one HTTP/1.1 request per call over the daemon's unix socket,
// JSON both ways, a bounded answer and a deadline for the whole exchange. A ControlErrorBody becomes
// a ControlRequestError carrying the daemon's `code`.
import { request } from "node:http";
import {
  type ChangeResult,
  CONTROL_API_VERSION,
  CONTROL_BODY_BYTES_MAX,
  CONTROL_ROUTES,
  type ControlRouteName,
  type HistoryDocument,
  type MembersDocument,
  type RemoveRequest,
  type StatusDocument,
  type TransferLeadershipRequest,
  type TransferLeadershipResult,
} from "../control/control-protocol.ts";
import {
  ControlProtocolError,
  ControlRequestError,
  ControlTimeoutError,
  DaemonUnreachableError,
} from "./cli-errors.ts";

export interface ControlClientOptions {
  readonly socketPath: string;
  /** Deadline for one request, from connecting to the last byte of the answer. */
  readonly timeoutMs: number;
}

export interface ControlClient {
  readonly socketPath: string;
  status(): Promise<StatusDocument>;
  members(): Promise<MembersDocument>;
  history(): Promise<HistoryDocument>;
  transferLeadership(body: TransferLeadershipRequest): Promise<TransferLeadershipResult>;
  stepDown(): Promise<ChangeResult>;
  drain(node: string): Promise<ChangeResult>;
  undrain(node: string): Promise<ChangeResult>;
  remove(body: RemoveRequest): Promise<ChangeResult>;
}

export function createControlClient(options: ControlClientOptions): ControlClient {
  const call = <T>(route: ControlRouteName, body?: object) => controlRequest<T>(options, route, body);
  return {
    socketPath: options.socketPath,
    status: async () => {
      const document = await call<StatusDocument>("status");
      if (document.apiVersion !== CONTROL_API_VERSION) {
        throw new ControlProtocolError(
          `the daemon speaks control API version ${String(document.apiVersion)} and this conclave speaks version ${CONTROL_API_VERSION}: use the conclave installed with the daemon`,
        );
      }
      return document;
    },
    members: () => call<MembersDocument>("members"),
    history: () => call<HistoryDocument>("history"),
    transferLeadership: (body) => call<TransferLeadershipResult>("transferLeadership", body),
    stepDown: () => call<ChangeResult>("stepDown", {}),
    drain: (node) => call<ChangeResult>("drain", { node }),
    undrain: (node) => call<ChangeResult>("undrain", { node }),
    remove: (body) => call<ChangeResult>("remove", body),
  };
}

/** Sends one request on `route` and resolves with the parsed 2xx answer. */
export function controlRequest<T>(options: ControlClientOptions, route: ControlRouteName, body?: object): Promise<T> {
  const { socketPath, timeoutMs } = options;
  const { method, path } = CONTROL_ROUTES[route];
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
  if (payload !== undefined && payload.length > CONTROL_BODY_BYTES_MAX) {
    return Promise.reject(
      new ControlProtocolError(`the request to ${path} exceeds ${CONTROL_BODY_BYTES_MAX} bytes and was not sent`),
    );
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err !== undefined) {
        req.destroy();
        reject(err);
      } else {
        resolve(value as T);
      }
    };
    const headers: Record<string, string | number> = { accept: "application/json" };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    }
    const req = request({ socketPath, method, path, headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > CONTROL_BODY_BYTES_MAX) {
          finish(new ControlProtocolError(`the daemon's answer to ${path} exceeds ${CONTROL_BODY_BYTES_MAX} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (err) => finish(new ControlProtocolError(`the answer to ${path} broke off: ${err.message}`)));
      res.on("end", () => {
        try {
          finish(undefined, decodeAnswer<T>(path, status, Buffer.concat(chunks).toString("utf8")));
        } catch (err) {
          finish(err as Error);
        }
      });
    });
    req.on("error", (err) => finish(connectionError(socketPath, path, err as NodeJS.ErrnoException)));
    const deadline = setTimeout(() => finish(new ControlTimeoutError(socketPath, timeoutMs)), timeoutMs);
    req.end(payload);
  });
}

function decodeAnswer<T>(path: string, status: number, text: string): T {
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new ControlProtocolError(`the daemon answered ${path} with HTTP ${status} and a body that is not JSON`);
  }
  if (status >= 200 && status < 300) {
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ControlProtocolError(`the daemon answered ${path} with HTTP ${status} but no JSON object`);
    }
    return parsed as T;
  }
  const error = isErrorBody(parsed) ? parsed.error : undefined;
  if (error === undefined) {
    throw new ControlProtocolError(`the daemon answered ${path} with HTTP ${status} and no error body`);
  }
  throw new ControlRequestError(error.code, error.message, status);
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string } } {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

function connectionError(socketPath: string, path: string, err: NodeJS.ErrnoException): Error {
  switch (err.code) {
    case "ENOENT":
    case "ECONNREFUSED":
    case "ENOTSOCK":
      return new DaemonUnreachableError(socketPath, `cannot reach the daemon at ${socketPath}: is conclaved running?`, {
        cause: err,
      });
    case "EACCES":
    case "EPERM":
      return new DaemonUnreachableError(
        socketPath,
        `permission denied on ${socketPath}: run conclave as root or as the agent's user`,
        { cause: err },
      );
    case "ECONNRESET":
    case "EPIPE":
      return new ControlProtocolError(`the daemon at ${socketPath} closed the connection during ${path}`, {
        cause: err,
      });
    default:
      return new DaemonUnreachableError(socketPath, `cannot reach the daemon at ${socketPath}: ${err.message}`, {
        cause: err,
      });
  }
}
