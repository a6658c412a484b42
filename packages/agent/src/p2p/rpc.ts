// `/conclave/rpc/1`: requests between agents (the facade forwards operations with it later).
// One stream per request: the caller sends one frame, a JSON envelope {v, id, method, body}; the
// callee answers with one frame {v, id, ok: true, body} or {v, id, ok: false, error: {code, message}}
// and closes. Frames are length-prefixed and bounded; every request has a timeout on both sides.
import { randomUUID } from "node:crypto";
import type { Connection, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import {
  FrameTooLargeError,
  NotStartedError,
  PeerNotAllowedError,
  ProtocolError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
  RpcUnknownMethodError,
} from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { encodeFrame, FrameDecoder } from "./frame.ts";
import { type Network, type PeerGate, RPC_PROTOCOL } from "./network.ts";

export const RPC_ENVELOPE_VERSION = 1;
/** Largest request or response frame. */
export const RPC_MAX_FRAME_BYTES = 1024 * 1024;
/** Default time a caller waits for the answer, dial included. */
export const RPC_DEFAULT_TIMEOUT_MS = 5_000;
/** Time a callee allows for the request to arrive and its handler to answer. */
export const RPC_SERVER_TIMEOUT_MS = 30_000;
/** Requests one connection may have in progress at once. */
export const RPC_MAX_INBOUND_STREAMS_PER_CONNECTION = 16;
export const RPC_MAX_OUTBOUND_STREAMS_PER_CONNECTION = 64;
const MAX_METHOD_LENGTH = 128;
const METHOD_PATTERN = /^[A-Za-z0-9_.:/-]+$/;
const UNKNOWN_METHOD_CODE = "AGENT_ERR_RPC_UNKNOWN_METHOD";

export interface RpcContext {
  /** The authenticated peer id of the caller. */
  readonly peerId: string;
  readonly method: string;
  readonly id: string;
  /** Aborted when the caller goes away or the server-side timeout expires. */
  readonly signal: AbortSignal;
}

/**
 * Answers one request. The returned value is sent as JSON; a thrown error is sent as
 * {code, message}, with the error's string `code` when it has one.
 */
export type RpcHandler = (body: unknown, context: RpcContext) => unknown;

export interface RpcCallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface RpcInit {
  readonly maxFrameBytes?: number;
  readonly defaultTimeoutMs?: number;
  readonly serverTimeoutMs?: number;
}

export interface RpcComponents {
  readonly network: Network;
  readonly isPeerAllowed: PeerGate;
  readonly logger?: AgentLogger;
}

export interface RpcService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Registers the handler of `method`; a method has one handler. */
  register(method: string, handler: RpcHandler): void;
  unregister(method: string): void;
  /** Calls `method` on `peerId`. Rejects with RpcTimeoutError, RpcUnavailableError, RpcUnknownMethodError or RpcRemoteError. */
  call(peerId: string, method: string, body?: unknown, options?: RpcCallOptions): Promise<unknown>;
}

export function rpcService(init: RpcInit = {}): (components: RpcComponents) => RpcService {
  return (components) => new Libp2pRpcService(init, components);
}

interface RequestEnvelope {
  readonly v: number;
  readonly id: string;
  readonly method: string;
  readonly body: unknown;
}

type ResponseEnvelope =
  | { readonly v: number; readonly id: string; readonly ok: true; readonly body: unknown }
  | { readonly v: number; readonly id: string; readonly ok: false; readonly error: { code: string; message: string } };

class Libp2pRpcService implements RpcService {
  readonly #network: Network;
  readonly #isPeerAllowed: PeerGate;
  readonly #logger: AgentLogger;
  readonly #maxFrameBytes: number;
  readonly #defaultTimeoutMs: number;
  readonly #serverTimeoutMs: number;
  readonly #handlers = new Map<string, RpcHandler>();
  readonly #streams = new Set<Stream>();
  #running = false;

  constructor(init: RpcInit, components: RpcComponents) {
    this.#network = components.network;
    this.#isPeerAllowed = components.isPeerAllowed;
    this.#logger = components.logger ?? silentLogger;
    this.#maxFrameBytes = init.maxFrameBytes ?? RPC_MAX_FRAME_BYTES;
    this.#defaultTimeoutMs = init.defaultTimeoutMs ?? RPC_DEFAULT_TIMEOUT_MS;
    this.#serverTimeoutMs = init.serverTimeoutMs ?? RPC_SERVER_TIMEOUT_MS;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#network.handle(RPC_PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: RPC_MAX_INBOUND_STREAMS_PER_CONNECTION,
      maxOutboundStreams: RPC_MAX_OUTBOUND_STREAMS_PER_CONNECTION,
    });
    this.#running = true;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#network.unhandle(RPC_PROTOCOL);
    for (const stream of this.#streams) stream.abort(new Error("rpc service stopped"));
    this.#streams.clear();
  }

  register(method: string, handler: RpcHandler): void {
    if (method.length > MAX_METHOD_LENGTH || !METHOD_PATTERN.test(method)) {
      throw new RangeError(`rpc method name ${JSON.stringify(method)} is not valid`);
    }
    if (this.#handlers.has(method)) throw new RangeError(`rpc method ${method} already has a handler`);
    this.#handlers.set(method, handler);
  }

  unregister(method: string): void {
    this.#handlers.delete(method);
  }

  async call(peerId: string, method: string, body?: unknown, options: RpcCallOptions = {}): Promise<unknown> {
    if (!this.#running) throw new NotStartedError("rpc service");
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    const id = randomUUID();
    const request: RequestEnvelope = { v: RPC_ENVELOPE_VERSION, id, method, body: body ?? null };
    const frame = encodeFrame(new TextEncoder().encode(JSON.stringify(request)));
    if (frame.byteLength > this.#maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, this.#maxFrameBytes);

    const failure = (err: unknown): Error => {
      if (timeout.aborted) return new RpcTimeoutError(method, peerId, timeoutMs);
      if (options.signal?.aborted)
        return options.signal.reason instanceof Error ? options.signal.reason : new Error("aborted");
      if (err instanceof PeerNotAllowedError || err instanceof FrameTooLargeError) return err;
      const reason = err instanceof Error ? err.message : String(err);
      return new RpcUnavailableError(method, peerId, reason, { cause: err });
    };

    let stream: Stream;
    try {
      stream = await this.#network.dialProtocol(peerIdFromString(peerId), RPC_PROTOCOL, { signal });
    } catch (err) {
      throw failure(err);
    }
    this.#streams.add(stream);
    try {
      let response: ResponseEnvelope;
      try {
        const answer = readOneFrame(stream, this.#maxFrameBytes, signal);
        // A callee that refuses us resets the stream, possibly before we write to it: then send
        // throws, and the read, never awaited, would reject later (at the timeout) unhandled and
        // end the process. It is handled here and awaited below when the send went out.
        answer.catch(() => {});
        stream.send(frame);
        response = parseResponse(await answer, id);
      } catch (err) {
        throw failure(err);
      }
      if (response.ok) return response.body;
      if (response.error.code === UNKNOWN_METHOD_CODE) throw new RpcUnknownMethodError(method, peerId);
      throw new RpcRemoteError(method, peerId, response.error.message, response.error.code);
    } finally {
      this.#streams.delete(stream);
      if (stream.status === "open") stream.close().catch(() => stream.abort(new Error("rpc stream close failed")));
    }
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString();
    if (!this.#running || !this.#isPeerAllowed(remote, RPC_PROTOCOL)) {
      this.#logger.warn({ peer: remote, protocol: RPC_PROTOCOL }, "refused a stream from a peer that is not allowed");
      stream.abort(new PeerNotAllowedError(remote, RPC_PROTOCOL));
      return;
    }
    this.#streams.add(stream);
    const timeout = AbortSignal.timeout(this.#serverTimeoutMs);
    const gone = new AbortController();
    stream.addEventListener("close", () => gone.abort(), { once: true });
    const signal = AbortSignal.any([timeout, gone.signal]);
    let request: RequestEnvelope;
    try {
      request = parseRequest(await readOneFrame(stream, this.#maxFrameBytes, signal));
    } catch (err) {
      if (gone.signal.aborted) {
        // The caller gave up (its timeout) before its request arrived: nothing was wrong with it.
        this.#logger.debug({ peer: remote }, "an rpc caller closed its stream before sending a request");
        this.#streams.delete(stream);
        return;
      }
      this.#logger.warn({ peer: remote, err }, "reset an rpc stream carrying a bad request");
      stream.abort(err instanceof Error ? err : new ProtocolError(String(err)));
      this.#streams.delete(stream);
      return;
    }

    let response: ResponseEnvelope;
    const handler = this.#handlers.get(request.method);
    if (handler === undefined) {
      response = errorResponse(request.id, UNKNOWN_METHOD_CODE, `no rpc method ${request.method}`);
    } else {
      try {
        const body = await handler(request.body, { peerId: remote, method: request.method, id: request.id, signal });
        response = { v: RPC_ENVELOPE_VERSION, id: request.id, ok: true, body: body ?? null };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        response = errorResponse(
          request.id,
          typeof code === "string" ? code : "AGENT_ERR_RPC_HANDLER",
          err instanceof Error ? err.message : String(err),
        );
      }
    }

    try {
      let frame = encodeFrame(new TextEncoder().encode(JSON.stringify(response)));
      if (frame.byteLength > this.#maxFrameBytes) {
        const tooLarge = errorResponse(
          request.id,
          "AGENT_ERR_FRAME_TOO_LARGE",
          `the response of ${request.method} is ${frame.byteLength} bytes, over the ${this.#maxFrameBytes}-byte limit`,
        );
        frame = encodeFrame(new TextEncoder().encode(JSON.stringify(tooLarge)));
      }
      if (!signal.aborted) {
        stream.send(frame);
        await stream.close({ signal });
      }
    } catch (err) {
      this.#logger.debug({ peer: remote, err, method: request.method }, "could not answer an rpc request");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#streams.delete(stream);
    }
  }
}

function errorResponse(id: string, code: string, message: string): ResponseEnvelope {
  return { v: RPC_ENVELOPE_VERSION, id, ok: false, error: { code, message } };
}

/**
 * Resolves with the first frame on `stream`. Rejects when the frame is too large (the stream is
 * reset), when the stream ends first, or when `signal` aborts (the stream is reset).
 */
function readOneFrame(stream: Stream, maxFrameBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(maxFrameBytes);
    let settled = false;
    const finish = (err: Error | undefined, frame?: Uint8Array) => {
      if (settled) return;
      settled = true;
      stream.removeEventListener("message", onMessage);
      stream.removeEventListener("close", onClose);
      stream.removeEventListener("remoteCloseWrite", onClose);
      signal.removeEventListener("abort", onAbort);
      if (err !== undefined) reject(err);
      else resolve(frame!);
    };
    const onMessage = (event: { data: Parameters<FrameDecoder["push"]>[0] }) => {
      try {
        const [frame] = decoder.push(event.data);
        if (frame !== undefined) finish(undefined, frame);
      } catch (err) {
        finish(err as Error);
        stream.abort(err as Error);
      }
    };
    const onClose = (event: Event) => {
      const error = (event as { error?: Error }).error;
      finish(
        new ProtocolError(
          error === undefined ? "stream ended before a frame arrived" : `stream reset: ${error.message}`,
        ),
      );
    };
    const onAbort = () => {
      const reason = signal.reason instanceof Error ? signal.reason : new Error("aborted");
      // Settle first: aborting the stream emits its close event synchronously.
      finish(reason);
      stream.abort(reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    stream.addEventListener("message", onMessage);
    stream.addEventListener("close", onClose);
    stream.addEventListener("remoteCloseWrite", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function parseJson(frame: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(frame));
  } catch (err) {
    throw new ProtocolError(`rpc envelope is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProtocolError("rpc envelope is not a JSON object");
  }
  const envelope = value as Record<string, unknown>;
  if (envelope.v !== RPC_ENVELOPE_VERSION) {
    throw new ProtocolError(`rpc envelope version ${JSON.stringify(envelope.v)} is not supported`);
  }
  if (typeof envelope.id !== "string" || envelope.id.length === 0 || envelope.id.length > 64) {
    throw new ProtocolError("rpc envelope has no valid id");
  }
  return envelope;
}

function parseRequest(frame: Uint8Array): RequestEnvelope {
  const envelope = parseJson(frame);
  const method = envelope.method;
  if (typeof method !== "string" || method.length > MAX_METHOD_LENGTH || !METHOD_PATTERN.test(method)) {
    throw new ProtocolError("rpc request has no valid method");
  }
  return { v: RPC_ENVELOPE_VERSION, id: envelope.id as string, method, body: envelope.body ?? null };
}

function parseResponse(frame: Uint8Array, expectedId: string): ResponseEnvelope {
  const envelope = parseJson(frame);
  if (envelope.id !== expectedId) throw new ProtocolError("rpc response answers another request");
  if (envelope.ok === true) return { v: RPC_ENVELOPE_VERSION, id: expectedId, ok: true, body: envelope.body ?? null };
  const error = envelope.error as { code?: unknown; message?: unknown } | undefined;
  if (envelope.ok !== false || error === undefined || error === null || typeof error !== "object") {
    throw new ProtocolError("rpc response is neither a result nor an error");
  }
  return errorResponse(
    expectedId,
    typeof error.code === "string" ? error.code : "AGENT_ERR_RPC_REMOTE",
    typeof error.message === "string" ? error.message : "remote error",
  );
}
