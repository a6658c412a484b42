// Length-prefixed frames on a byte stream: an unsigned LEB128 varint length, then that many bytes
// (the framing libp2p protocols use). The decoder refuses a frame as soon as its length prefix is
// read, before buffering its body, so an oversize frame costs nothing.
import { Uint8ArrayList } from "uint8arraylist";
import { FrameTooLargeError, ProtocolError } from "../errors.ts";

/** A varint for any length up to 2^53 fits in 8 bytes; a longer prefix is garbage. */
const MAX_LENGTH_PREFIX_BYTES = 8;

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.byteLength);
  const frame = new Uint8Array(prefix.byteLength + payload.byteLength);
  frame.set(prefix, 0);
  frame.set(payload, prefix.byteLength);
  return frame;
}

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

/**
 * Reassembles frames from stream chunks. Holds at most one frame plus one chunk. Throws
 * FrameTooLargeError for a frame over `maxFrameBytes` and ProtocolError for a malformed prefix;
 * after either, the stream must be reset: its framing is lost.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #buffer = new Uint8ArrayList();
  /** Length of the frame being read, once its prefix is complete. */
  #pendingLength: number | undefined;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffer.byteLength;
  }

  /** Adds a chunk and returns the frames it completes, in order. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#pendingLength === undefined) {
        const prefix = this.#readPrefix();
        if (prefix === undefined) break;
        this.#buffer.consume(prefix.prefixBytes);
        this.#pendingLength = prefix.length;
      }
      if (this.#buffer.byteLength < this.#pendingLength) break;
      frames.push(this.#buffer.subarray(0, this.#pendingLength));
      this.#buffer.consume(this.#pendingLength);
      this.#pendingLength = undefined;
    }
    return frames;
  }

  #readPrefix(): { length: number; prefixBytes: number } | undefined {
    let length = 0;
    let scale = 1;
    const available = Math.min(this.#buffer.byteLength, MAX_LENGTH_PREFIX_BYTES);
    for (let index = 0; index < available; index++) {
      const byte = this.#buffer.get(index);
      length += (byte & 0x7f) * scale;
      if (length > this.#maxFrameBytes) throw new FrameTooLargeError(length, this.#maxFrameBytes);
      if ((byte & 0x80) === 0) {
        if (index > 0 && byte === 0) throw new ProtocolError("frame length prefix is not minimally encoded");
        return { length, prefixBytes: index + 1 };
      }
      scale *= 0x80;
      // A minimal varint that goes on has a non-zero byte to come: the length is at least `scale`.
      if (scale > this.#maxFrameBytes) throw new FrameTooLargeError(Math.max(length, scale), this.#maxFrameBytes);
    }
    if (this.#buffer.byteLength >= MAX_LENGTH_PREFIX_BYTES) {
      throw new ProtocolError(`frame length prefix longer than ${MAX_LENGTH_PREFIX_BYTES} bytes`);
    }
    return undefined;
  }
}
