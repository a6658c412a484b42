// crc32c matches the published CRC32C (Castagnoli) test vectors, in one piece or many.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/storage/crc32c.ts";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("crc32c", () => {
  it("matches the check value and the RFC 3720 (iSCSI) vectors", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x22620404);
  });

  it("continues a checksum across pieces: crc32c(b, crc32c(a)) === crc32c(a ++ b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (data, cut) => {
        const at = Math.min(cut, data.length);
        expect(crc32c(data.subarray(at), crc32c(data.subarray(0, at)))).toBe(crc32c(data));
      }),
    );
  });

  it("agrees with the bit-at-a-time definition at every length and alignment", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(7), (data, skip) => {
        const view = data.subarray(Math.min(skip, data.length));
        expect(crc32c(view)).toBe(bitwiseCrc32c(view));
      }),
    );
  });
});

function bitwiseCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
