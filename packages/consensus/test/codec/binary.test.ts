// Proves BinaryWriter and BinaryReader agree on every field encoding and that the reader refuses what it must.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  allocateBytes,
  BinaryReader,
  BinaryWriter,
  MAX_POOLED_BYTES,
  MAX_VARINT_BYTES,
  POOL_SLAB_BYTES,
  utf8Bytes,
  varintBytes,
} from "../../src/binary.ts";
import { CodecError, InvariantError } from "../../src/errors.ts";
import { nodeIdArb, uintArb } from "./arbitraries.ts";

describe("varints", () => {
  it("round-trip, with varintBytes matching the bytes written", () => {
    fc.assert(
      fc.property(uintArb, (value) => {
        const writer = new BinaryWriter(0);
        writer.writeVarint(value);
        expect(writer.length).toBe(varintBytes(value));
        expect(writer.length).toBeLessThanOrEqual(MAX_VARINT_BYTES);
        const reader = new BinaryReader(writer.finish());
        expect(reader.readVarint("value")).toBe(value);
        reader.expectEnd("value");
      }),
      { numRuns: 2000 },
    );
  });

  it("each length boundary", () => {
    for (let bytes = 1; bytes < MAX_VARINT_BYTES; bytes++) {
      expect(varintBytes(2 ** (7 * bytes) - 1)).toBe(bytes);
      expect(varintBytes(2 ** (7 * bytes))).toBe(bytes + 1);
    }
    expect(varintBytes(Number.MAX_SAFE_INTEGER)).toBe(MAX_VARINT_BYTES);
  });
});

describe("BinaryWriter", () => {
  it("grows past its initial capacity and keeps what it wrote", () => {
    const writer = new BinaryWriter(1);
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    writer.writeByte(7);
    writer.writeBytes(payload);
    writer.writeString("héllo");
    const reader = new BinaryReader(writer.finish());
    expect(reader.readByte("byte")).toBe(7);
    expect(reader.readBytes("payload")).toEqual(payload);
    expect(reader.readString("text", 100)).toBe("héllo");
    reader.expectEnd("test record");
  });

  it("finish() returns the written bytes without copying", () => {
    const exact = new BinaryWriter(3);
    exact.writeRaw(Uint8Array.of(1, 2, 3));
    expect(exact.finish()).toBe(exact.finish());
    const roomy = new BinaryWriter();
    roomy.writeByte(1);
    expect(roomy.finish()).toEqual(Uint8Array.of(1));
  });

  it("reset() starts over in the same buffer", () => {
    const writer = new BinaryWriter();
    writer.writeVarint(300);
    writer.reset();
    writer.writeByte(9);
    expect(writer.finish()).toEqual(Uint8Array.of(9));
  });

  it("writes uint32 little-endian", () => {
    const writer = new BinaryWriter();
    writer.writeUint32(0x01020304);
    writer.writeUint32(0xffffffff);
    expect([...writer.finish()]).toEqual([4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff]);
    const reader = new BinaryReader(writer.finish());
    expect(reader.readUint32("a")).toBe(0x01020304);
    expect(reader.readUint32("b")).toBe(0xffffffff);
  });

  it("strings: utf8Bytes agrees with TextEncoder and the reader gets the string back", () => {
    fc.assert(
      fc.property(nodeIdArb, (value) => {
        expect(utf8Bytes(value)).toBe(new TextEncoder().encode(value).length);
        const writer = new BinaryWriter(0);
        writer.writeString(value);
        expect(new BinaryReader(writer.finish()).readString("id", 1024)).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses values with no encoding", () => {
    const writer = new BinaryWriter();
    expect(() => writer.writeByte(256)).toThrow(InvariantError);
    expect(() => writer.writeByte(-1)).toThrow(InvariantError);
    expect(() => writer.writeUint32(2 ** 32)).toThrow(InvariantError);
    expect(() => writer.writeVarint(-1)).toThrow("cannot encode -1 as a varint: not a non-negative safe integer");
    expect(() => writer.writeString("\uD83D")).toThrow(InvariantError);
    expect(() => new BinaryWriter(-1)).toThrow(InvariantError);
    expect(writer.length).toBe(0);
  });
});

describe("allocateBytes", () => {
  it("hands out zero-filled, 8-byte-aligned, non-overlapping slab slices", () => {
    const arrays = Array.from({ length: 2000 }, (_, i) => allocateBytes(1 + (i % 200)));
    for (const array of arrays) {
      expect(array.every((byte) => byte === 0)).toBe(true);
      expect(array.byteOffset % 8).toBe(0);
      array.fill(0xff);
    }
    const byBuffer = new Map<ArrayBufferLike, Uint8Array[]>();
    for (const array of arrays) byBuffer.set(array.buffer, [...(byBuffer.get(array.buffer) ?? []), array]);
    expect(byBuffer.size).toBeGreaterThan(1); // 2000 arrays of ~100 bytes span several slabs
    for (const [buffer, inSlab] of byBuffer) {
      expect(buffer.byteLength).toBe(POOL_SLAB_BYTES);
      const sorted = inSlab.sort((a, b) => a.byteOffset - b.byteOffset);
      for (let i = 1; i < sorted.length; i++) {
        expect(sorted[i]!.byteOffset).toBeGreaterThanOrEqual(sorted[i - 1]!.byteOffset + sorted[i - 1]!.length);
      }
    }
  });

  it("allocates big and empty arrays on their own", () => {
    expect(allocateBytes(MAX_POOLED_BYTES + 1).buffer.byteLength).toBe(MAX_POOLED_BYTES + 1);
    expect(allocateBytes(0).buffer.byteLength).toBe(0);
  });
});

describe("BinaryReader", () => {
  it("reads only within [start, end)", () => {
    const bytes = Uint8Array.of(9, 1, 2, 9);
    const reader = new BinaryReader(bytes, 1, 3);
    expect(reader.readRaw("pair", 2)).toEqual(Uint8Array.of(1, 2));
    expect(() => reader.readByte("more")).toThrow(CodecError);
    expect(() => new BinaryReader(bytes, 2, 5)).toThrow("range [2, 5) is outside the 4 input bytes");
  });

  it("readRaw and readBytes copy", () => {
    const bytes = Uint8Array.of(2, 5, 6);
    const reader = new BinaryReader(bytes);
    const copy = reader.readBytes("data");
    bytes.fill(0);
    expect(copy).toEqual(Uint8Array.of(5, 6));
  });

  it("readCount refuses counts above the limit or beyond the remaining bytes", () => {
    expect(() => new BinaryReader(Uint8Array.of(5)).readCount("item count", 4, "maxItems", 1)).toThrow(
      "cannot decode: item count 5 at offset 0 exceeds maxItems 4",
    );
    expect(() => new BinaryReader(Uint8Array.of(3, 0, 0)).readCount("item count", 10, "maxItems", 1)).toThrow(
      "cannot decode: truncated input: item count 3 at offset 0 needs at least 3 bytes, 2 remain",
    );
    expect(new BinaryReader(Uint8Array.of(2, 0, 0)).readCount("item count", 10, "maxItems", 1)).toBe(2);
  });

  it("truncated fixed-size and raw reads", () => {
    expect(() => new BinaryReader(Uint8Array.of(1, 2, 3)).readUint32("checksum")).toThrow(
      "cannot decode: truncated input: checksum at offset 0 needs 4 bytes, 3 remain",
    );
    expect(() => new BinaryReader(Uint8Array.of(1)).readRaw("payload", 2)).toThrow(
      "cannot decode: truncated input: payload at offset 0 needs 2 bytes, 1 remain",
    );
  });
});
