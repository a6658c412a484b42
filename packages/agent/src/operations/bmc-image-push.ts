// The one request to the local BMC whose body is streamed: a multipart firmware push to the BMC's
// `MultipartHttpPushUri`, read from the staged file as the BMC takes it (never whole in memory).
// The BMC client (src/bmc/bmc-client.ts) sends buffered bodies it can resend after a session
// renewal; a stream cannot be resent, so this request authenticates with Basic auth (which
// bmcweb accepts) from the same credentials file, read at every push.
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { type Dispatcher, Pool } from "undici";
import { type BmcCredentials, readBmcCredentials } from "../bmc/credentials.ts";
import { BmcTimeoutError, BmcUnreachableError } from "../errors.ts";

/** Largest BMC answer read back from a push (a Task or a Redfish error). */
export const IMAGE_PUSH_ANSWER_MAX_BYTES = 1024 * 1024;
/** How much of the staged file is read at once while streaming it. */
export const IMAGE_PUSH_READ_BYTES = 256 * 1024;
/** Longest image file name sent in the part's filename. */
export const IMAGE_NAME_MAX_CHARS = 255;

export interface ImagePushRequest {
  /** The BMC's MultipartHttpPushUri (a local path). */
  readonly path: string;
  /** Extra headers (x-conclave-operation-id). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `UpdateParameters` part (application/json). */
  readonly updateParameters: Readonly<Record<string, unknown>>;
  /** The staged image, streamed as the `UpdateFile` part. */
  readonly imageFile: string;
  readonly imageName: string;
  readonly timeoutMs: number;
}

export interface ImagePushAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** Sends a multipart push to the local BMC. Rejects with BmcTimeoutError / BmcUnreachableError. */
export interface ImagePushTarget {
  push(request: ImagePushRequest): Promise<ImagePushAnswer>;
  close(): Promise<void>;
}

export interface BmcImagePushInit {
  readonly redfishUrl: string;
  readonly credentialsFile?: string;
  /** Given directly instead of a file (tests). */
  readonly credentials?: BmcCredentials;
  readonly verifyTls?: boolean;
  readonly connectTimeoutMs?: number;
}

export function createBmcImagePush(init: BmcImagePushInit): ImagePushTarget {
  const origin = new URL(init.redfishUrl).origin;
  const connectTimeoutMs = init.connectTimeoutMs ?? 2_000;
  // One connection: a BMC takes one firmware image at a time.
  const pool = new Pool(origin, {
    connections: 1,
    connect: { timeout: connectTimeoutMs, rejectUnauthorized: init.verifyTls ?? true },
  });
  const credentials = (): BmcCredentials => init.credentials ?? readBmcCredentials(init.credentialsFile as string);

  return {
    async push(request) {
      const { username, password } = credentials();
      const boundary = `conclave-${crypto.randomUUID()}`;
      const file = await open(request.imageFile, "r");
      try {
        const imageBytes = (await file.stat()).size;
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="UpdateParameters"\r\nContent-Type: application/json\r\n\r\n` +
            `${JSON.stringify(request.updateParameters)}\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="UpdateFile"; filename="${safeFileName(request.imageName)}"\r\n` +
            "Content-Type: application/octet-stream\r\n\r\n",
        );
        const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
        const body = async function* (): AsyncGenerator<Uint8Array> {
          yield head;
          const buffer = Buffer.alloc(IMAGE_PUSH_READ_BYTES);
          let position = 0;
          while (position < imageBytes) {
            const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, imageBytes - position), position);
            if (bytesRead === 0) throw new Error(`${request.imageFile} ended at ${position} of ${imageBytes} bytes`);
            position += bytesRead;
            // A copy: undici may hold the chunk after the next read fills the buffer.
            yield Buffer.from(buffer.subarray(0, bytesRead));
          }
          yield tail;
        };
        let response: Dispatcher.ResponseData;
        try {
          response = await pool.request({
            path: request.path,
            method: "POST",
            headers: {
              ...request.headers,
              accept: "application/json",
              authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
              "content-type": `multipart/form-data; boundary=${boundary}`,
              "content-length": String(head.length + imageBytes + tail.length),
            },
            body: Readable.from(body(), { objectMode: false }),
            signal: AbortSignal.timeout(request.timeoutMs),
            headersTimeout: request.timeoutMs,
            bodyTimeout: request.timeoutMs,
          });
        } catch (error) {
          throw describe(error, origin, request);
        }
        const chunks: Buffer[] = [];
        let total = 0;
        try {
          for await (const chunk of response.body) {
            const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
            total += buffer.length;
            // The answer is a Task or an error: anything beyond the bound is cut, not an error.
            if (total <= IMAGE_PUSH_ANSWER_MAX_BYTES) chunks.push(buffer);
          }
        } catch (error) {
          throw describe(error, origin, request);
        }
        return {
          statusCode: response.statusCode,
          headers: response.headers as Record<string, string | string[] | undefined>,
          text: Buffer.concat(chunks).toString("utf8"),
        };
      } finally {
        await file.close();
      }
    },
    async close() {
      await pool.close();
    },
  };
}

function safeFileName(name: string): string {
  return name.replace(/["\\\r\n]/g, "_").slice(0, IMAGE_NAME_MAX_CHARS) || "image.bin";
}

function describe(error: unknown, origin: string, request: ImagePushRequest): Error {
  const code = (error as { code?: unknown } | undefined)?.code;
  const name = (error as { name?: unknown } | undefined)?.name;
  const what = `POST ${request.path} (firmware push) on the local BMC ${origin}`;
  if (
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    name === "TimeoutError" ||
    name === "AbortError" ||
    code === "UND_ERR_ABORTED"
  ) {
    return new BmcTimeoutError(`${what}: no answer within ${request.timeoutMs} ms`, { cause: error });
  }
  const detail = typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
  return new BmcUnreachableError(`${what}: ${detail}`, { cause: error });
}
