// Low-level binary writing and reading, shared by the message codec and the file storage.
//
// The writer grows on demand but is meant to be pre-sized, so that encoding a record is one
// allocation, and small allocations come from a shared slab (see `allocateBytes`), because a
// fresh ArrayBuffer per message would cost more than the encoding. The reader trusts nothing: every length is checked against the bytes that remain
// before anything is allocated, and every problem is reported as a CodecError naming the field
// and the offset. Integers are unsigned LEB128 varints restricted to safe integers and to their
// minimal encoding, so every value has exactly one encoding (decode then encode gives the same
// bytes back).
import { CodecError, InvariantError } from "./errors.ts";

/** LEB128 needs 8 bytes for Number.MAX_SAFE_INTEGER (53 bits at 7 bits per byte, rounded up). */
export const MAX_VARINT_BYTES = 8;

/** Capacity of a writer created without a size hint. */
export const DEFAULT_WRITER_CAPACITY_BYTES = 256;

/** A writer never grows past this: a bigger record means a caller bug, not a real workload. */
export const MAX_WRITER_BYTES = 1024 * 1024 * 1024;

/**
 * Byte arrays up to this size are carved out of shared slabs. A separately allocated
 * ArrayBuffer costs about 3 µs in Node (each is an off-heap allocation the GC must account
 * for), a slab slice about 40 ns: the difference is most of the cost of encoding a message.
 */
export const MAX_POOLED_BYTES = 4096;

/** Size of one slab. Node's Buffer pool makes the same trade (8 KiB slabs). */
export const POOL_SLAB_BYTES = 64 * 1024;

/** Slices start on 8-byte boundaries so that a caller may lay a DataView or wider typed array over one. */
const POOL_ALIGNMENT_BYTES = 8;

const UINT32_BYTES = 4;
const TWO_POW_31 = 0x8000_0000;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as a character: stripping it would make decode-then-encode
// change the bytes, and node ids are compared byte for byte.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

let poolSlab = new Uint8Array(POOL_SLAB_BYTES);
let poolOffset = 0;

/**
 * A zero-filled byte array of `length` bytes. Small ones are views into a shared slab, like
 * Node Buffers: they never overlap each other, but `.buffer` holds other arrays' bytes too, so
 * always use `byteOffset`/`byteLength` with it, and never transfer or detach it (postMessage).
 * A slab stays alive while any of its slices does.
 */
export function allocateBytes(length: number): Uint8Array {
  if (length === 0 || length > MAX_POOLED_BYTES) return new Uint8Array(length);
  if (poolOffset + length > POOL_SLAB_BYTES) {
    poolSlab = new Uint8Array(POOL_SLAB_BYTES);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset = (start + length + POOL_ALIGNMENT_BYTES - 1) & ~(POOL_ALIGNMENT_BYTES - 1);
  return poolSlab.subarray(start, start + length);
}

/** Bytes of the LEB128 encoding of a non-negative safe integer. */
export function varintBytes(value: number): number {
  if (value < 2 ** 7) return 1;
  if (value < 2 ** 14) return 2;
  if (value < 2 ** 21) return 3;
  if (value < 2 ** 28) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  return 8;
}

/**
 * Bytes of the UTF-8 encoding of `value`, without allocating. Throws InvariantError on a lone
 * surrogate: TextEncoder would silently turn it into U+FFFD and the string would not survive.
 */
export function utf8Bytes(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) {
      bytes += 1;
    } else if (code < 0x800) {
      bytes += 2;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (code > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        throw new InvariantError(`cannot encode a string with a lone surrogate at position ${i} as UTF-8`);
      }
      bytes += 4;
      i++;
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** Bytes of a length-prefixed UTF-8 string. */
export function stringFieldBytes(value: string): number {
  const length = utf8Bytes(value);
  return varintBytes(length) + length;
}

/** Bytes of a length-prefixed byte string. */
export function bytesFieldBytes(value: Uint8Array): number {
  return varintBytes(value.length) + value.length;
}

/**
 * Appends fields to a growable buffer. Writing a value that has no encoding (a negative or
 * fractional number, a lone surrogate) is a caller bug and throws InvariantError.
 */
export class BinaryWriter {
  #buffer: Uint8Array;
  #offset = 0;

  /** `capacityBytes`: pass the exact size when known, and the writer never copies. */
  constructor(capacityBytes: number = DEFAULT_WRITER_CAPACITY_BYTES) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0 || capacityBytes > MAX_WRITER_BYTES) {
      throw new InvariantError(`writer capacity ${capacityBytes} is not an integer in [0, ${MAX_WRITER_BYTES}]`);
    }
    this.#buffer = allocateBytes(capacityBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#offset;
  }

  writeByte(value: number): void {
    if ((value & 0xff) !== value) {
      throw new InvariantError(`cannot encode ${value} as a byte`);
    }
    this.#reserve(1);
    this.#buffer[this.#offset++] = value;
  }

  writeBool(value: boolean): void {
    this.#reserve(1);
    this.#buffer[this.#offset++] = value ? 1 : 0;
  }

  /** Unsigned LEB128, minimal encoding. */
  writeVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvariantError(`cannot encode ${value} as a varint: not a non-negative safe integer`);
    }
    this.#reserve(varintBytes(value));
    const buffer = this.#buffer;
    let offset = this.#offset;
    let rest = value;
    // Bit operators work on 32 bits only: peel off the high part with arithmetic first.
    while (rest >= TWO_POW_31) {
      buffer[offset++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    while (rest >= 0x80) {
      buffer[offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[offset++] = rest;
    this.#offset = offset;
  }

  /** Fixed 4 bytes, little-endian: for headers that must have a known size (lengths, checksums). */
  writeUint32(value: number): void {
    if (value >>> 0 !== value) {
      throw new InvariantError(`cannot encode ${value} as a uint32`);
    }
    this.#reserve(UINT32_BYTES);
    const buffer = this.#buffer;
    const offset = this.#offset;
    buffer[offset] = value & 0xff;
    buffer[offset + 1] = (value >>> 8) & 0xff;
    buffer[offset + 2] = (value >>> 16) & 0xff;
    buffer[offset + 3] = value >>> 24;
    this.#offset = offset + UINT32_BYTES;
  }

  /** A varint length, then the bytes. */
  writeBytes(value: Uint8Array): void {
    this.writeVarint(value.length);
    this.writeRaw(value);
  }

  /** The bytes alone, no length prefix. */
  writeRaw(value: Uint8Array): void {
    this.#reserve(value.length);
    this.#buffer.set(value, this.#offset);
    this.#offset += value.length;
  }

  /** A varint byte length, then the UTF-8 bytes. */
  writeString(value: string): void {
    const length = utf8Bytes(value);
    this.writeVarint(length);
    this.#reserve(length);
    const buffer = this.#buffer;
    const offset = this.#offset;
    if (length === value.length) {
      // ASCII (the usual node id): copying char codes beats TextEncoder's call overhead.
      for (let i = 0; i < length; i++) buffer[offset + i] = value.charCodeAt(i);
    } else {
      utf8Encoder.encodeInto(value, buffer.subarray(offset, offset + length));
    }
    this.#offset = offset + length;
  }

  /**
   * The bytes written, without copying: the internal buffer itself when it was sized exactly.
   * The result shares memory with the writer, so call `reset()` only once it is no longer
   * needed. It may be a slab slice (see `allocateBytes`): mind `byteOffset`.
   */
  finish(): Uint8Array {
    return this.#offset === this.#buffer.length ? this.#buffer : this.#buffer.subarray(0, this.#offset);
  }

  /** Starts over in the same buffer (overwriting what an earlier `finish()` returned). */
  reset(): void {
    this.#offset = 0;
  }

  #reserve(bytes: number): void {
    const needed = this.#offset + bytes;
    if (needed <= this.#buffer.length) return;
    if (needed > MAX_WRITER_BYTES) {
      throw new InvariantError(
        `record of at least ${needed} bytes exceeds the writer limit of ${MAX_WRITER_BYTES} bytes`,
      );
    }
    const grown = allocateBytes(Math.min(MAX_WRITER_BYTES, Math.max(needed, this.#buffer.length * 2)));
    grown.set(this.#buffer.subarray(0, this.#offset));
    this.#buffer = grown;
  }
}

/**
 * Reads fields from untrusted bytes. Every method throws CodecError, and only CodecError, when
 * the bytes are malformed; `field` names what was being read, for the error message. Byte
 * strings are returned as copies (from `allocateBytes`), so the caller may reuse the input.
 */
export class BinaryReader {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  #offset: number;

  /** Reads `bytes` from `start` up to `end` (default: the end of `bytes`). */
  constructor(bytes: Uint8Array, start = 0, end?: number) {
    // Checked before touching `bytes`: a caller outside TypeScript may pass anything.
    if (!(bytes instanceof Uint8Array)) {
      throw new CodecError("input is not a Uint8Array");
    }
    const endOffset = end ?? bytes.length;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(endOffset) ||
      start < 0 ||
      start > endOffset ||
      endOffset > bytes.length
    ) {
      throw new CodecError(`range [${start}, ${endOffset}) is outside the ${bytes.length} input bytes`);
    }
    this.#bytes = bytes;
    this.#offset = start;
    this.#end = endOffset;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  readByte(field: string): number {
    if (this.#offset >= this.#end) this.#truncated(field, 1);
    return this.#bytes[this.#offset++]!;
  }

  /** Exactly 0 or 1: any other byte would be a second encoding of the same value. */
  readBool(field: string): boolean {
    const offset = this.#offset;
    const value = this.readByte(field);
    if (value > 1) {
      throw new CodecError(`boolean ${field} at offset ${offset} is ${value}, not 0 or 1`);
    }
    return value === 1;
  }

  /** Unsigned LEB128: at most 8 bytes, minimal, no more than Number.MAX_SAFE_INTEGER. */
  readVarint(field: string): number {
    const bytes = this.#bytes;
    const start = this.#offset;
    if (start < this.#end) {
      const first = bytes[start]!;
      if (first < 0x80) {
        this.#offset = start + 1;
        return first;
      }
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.#offset >= this.#end) {
        throw new CodecError(`truncated input: varint ${field} at offset ${start} is cut off after ${i} bytes`);
      }
      const byte = bytes[this.#offset++]!;
      // Exact: the partial sum stays below 2^49 and each term is a multiple of 2^(7i), so the
      // only rounding is in the last addition, and it cannot bring a value above 2^53 - 1 down.
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) {
          throw new CodecError(`varint ${field} at offset ${start} is not minimal (overlong encoding)`);
        }
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new CodecError(`varint ${field} at offset ${start} exceeds Number.MAX_SAFE_INTEGER`);
        }
        return value;
      }
      scale *= 0x80;
    }
    throw new CodecError(`varint ${field} at offset ${start} is longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** Fixed 4 bytes, little-endian. */
  readUint32(field: string): number {
    if (this.remaining < UINT32_BYTES) this.#truncated(field, UINT32_BYTES);
    const bytes = this.#bytes;
    const offset = this.#offset;
    this.#offset = offset + UINT32_BYTES;
    return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
  }

  /** A varint length (at most `maxBytes`), then that many bytes, returned as a copy. */
  readBytes(field: string, maxBytes: number = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.#readLength(field, maxBytes);
    return this.#copy(length);
  }

  /** `length` bytes with no prefix, returned as a copy. */
  readRaw(field: string, length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new CodecError(`${field} length ${length} is not a non-negative integer`);
    }
    if (length > this.remaining) this.#truncated(field, length);
    return this.#copy(length);
  }

  /** A varint byte length (at most `maxBytes`), then that much strict UTF-8. */
  readString(field: string, maxBytes: number): string {
    const length = this.#readLength(field, maxBytes);
    const offset = this.#offset;
    this.#offset = offset + length;
    if (length === 0) return "";
    try {
      return utf8Decoder.decode(this.#bytes.subarray(offset, offset + length));
    } catch {
      throw new CodecError(`${field} at offset ${offset} is not valid UTF-8`);
    }
  }

  /**
   * A varint count of items that each take at least `minBytesEach`: rejects a count above
   * `max` (named `limitName` in the error) or one the remaining bytes cannot hold, so callers
   * may loop `count` times without fear.
   */
  readCount(field: string, max: number, limitName: string, minBytesEach: number): number {
    const offset = this.#offset;
    const count = this.readVarint(field);
    if (count > max) {
      throw new CodecError(`${field} ${count} at offset ${offset} exceeds ${limitName} ${max}`);
    }
    if (count * minBytesEach > this.remaining) {
      throw new CodecError(
        `truncated input: ${field} ${count} at offset ${offset} needs at least ${count * minBytesEach} bytes, ${this.remaining} remain`,
      );
    }
    return count;
  }

  /** Rejects anything after the record: a valid record has exactly one length. */
  expectEnd(what: string): void {
    if (this.#offset !== this.#end) {
      const trailing = this.#end - this.#offset;
      throw new CodecError(`trailing ${trailing} ${trailing === 1 ? "byte" : "bytes"} after ${what}`);
    }
  }

  #readLength(field: string, maxBytes: number): number {
    const offset = this.#offset;
    const length = this.readVarint(`${field} length`);
    if (length > maxBytes) {
      throw new CodecError(`${field} longer than ${maxBytes} bytes (${length} bytes at offset ${offset})`);
    }
    if (length > this.remaining) this.#truncated(field, length);
    return length;
  }

  /** Copies the next `length` bytes (already checked against `remaining`). */
  #copy(length: number): Uint8Array {
    const offset = this.#offset;
    this.#offset = offset + length;
    const copy = allocateBytes(length);
    copy.set(this.#bytes.subarray(offset, offset + length));
    return copy;
  }

  #truncated(field: string, needed: number): never {
    throw new CodecError(
      `truncated input: ${field} at offset ${this.#offset} needs ${needed} ${needed === 1 ? "byte" : "bytes"}, ${this.remaining} remain`,
    );
  }
}
