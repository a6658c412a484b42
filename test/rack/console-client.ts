// One Redfish request from the console namespace through the VIP, as a management console would
// send it: a fresh node process inside the namespace (the test runner itself lives outside every
// namespace), the session token, a JSON body or a multipart upload of a file, a deadline.
import { execFile } from "node:child_process";
import type { Rack } from "./rack.ts";

/** Deadline of one console request (a multipart upload of a large image needs the longest). */
export const CONSOLE_REQUEST_TIMEOUT_MS = 120_000;
/** Largest answer the child prints back (JSON of status, headers, body). */
const CONSOLE_ANSWER_MAX_BYTES = 8 * 1024 * 1024;

export interface ConsoleAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly json: Record<string, unknown> | undefined;
}

export interface ConsoleRequest {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** A multipart push: the UpdateParameters part and the image file (streamed from disk by the child). */
  readonly multipart?: { readonly updateParameters: unknown; readonly file: string; readonly fileName: string };
  readonly timeoutMs?: number;
}

const CHILD = `
const request = JSON.parse(process.argv[1]);
const headers = { ...request.headers };
if (request.token) headers["x-auth-token"] = request.token;
let body;
if (request.multipart) {
  const { openAsBlob } = await import("node:fs");
  body = new FormData();
  body.append("UpdateParameters", new Blob([JSON.stringify(request.multipart.updateParameters)], { type: "application/json" }));
  body.append("UpdateFile", await openAsBlob(request.multipart.file), request.multipart.fileName);
} else if (request.body !== undefined) {
  headers["content-type"] = "application/json";
  body = JSON.stringify(request.body);
}
try {
  const response = await fetch(request.url, { method: request.method, headers, body, signal: AbortSignal.timeout(request.timeoutMs) });
  const text = await response.text();
  process.stdout.write(JSON.stringify({ status: response.status, headers: Object.fromEntries(response.headers), text }));
} catch (error) {
  process.stdout.write(JSON.stringify({ status: 0, headers: {}, text: String(error?.cause?.message ?? error?.message ?? error) }));
}
`;

export function consoleRequest(rack: Rack, request: ConsoleRequest): Promise<ConsoleAnswer> {
  const timeoutMs = request.timeoutMs ?? 10_000;
  if (timeoutMs > CONSOLE_REQUEST_TIMEOUT_MS) throw new RangeError(`timeoutMs above ${CONSOLE_REQUEST_TIMEOUT_MS}`);
  const argument = JSON.stringify({ ...request, url: `${rack.facadeUrl}${request.path}`, timeoutMs });
  return new Promise((resolveAnswer, reject) => {
    execFile(
      "ip",
      ["netns", "exec", rack.console.namespace, process.execPath, "--input-type=module", "-e", CHILD, argument],
      { encoding: "utf8", timeout: timeoutMs + 5_000, maxBuffer: CONSOLE_ANSWER_MAX_BYTES },
      (error, stdout) => {
        if (error !== null && stdout === "") return reject(error);
        try {
          const answer = JSON.parse(stdout) as Omit<ConsoleAnswer, "json">;
          let json: Record<string, unknown> | undefined;
          try {
            json = answer.text === "" ? undefined : (JSON.parse(answer.text) as Record<string, unknown>);
          } catch {
            json = undefined;
          }
          resolveAnswer({ ...answer, json });
        } catch (parseError) {
          reject(parseError);
        }
      },
    );
  });
}
