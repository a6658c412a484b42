// CRC32C (Castagnoli), the checksum every WAL record, snapshot and hard-state file carries.
// Castagnoli rather than the zlib polynomial: better error detection for the short
// records we write, and it is what etcd, ext4 and iSCSI use, so test vectors abound.
// Slicing-by-8 tables make it about 4x faster than the byte-at-a-time loop, which matters
// when recovery checksums a whole 8 MiB segment on a slow BMC core.

/** Reflected form of the Castagnoli polynomial 0x1EDC6F41. */
const POLYNOMIAL_REFLECTED = 0x82f63b78;
const SLICES = 8;

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256 * SLICES);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL_REFLECTED : crc >>> 1;
    }
    table[byte] = crc >>> 0;
  }
  for (let slice = 1; slice < SLICES; slice++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = table[(slice - 1) * 256 + byte]!;
      table[slice * 256 + byte] = ((previous >>> 8) ^ table[previous & 0xff]!) >>> 0;
    }
  }
  return table;
}

/**
 * CRC32C of `data`. Pass the result of a previous call as `previous` to continue a
 * checksum over data written in pieces: `crc32c(b, crc32c(a))` equals `crc32c(a ++ b)`.
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  const t = TABLE;
  let crc = ~previous;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  while (i < end8) {
    const low = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      t[7 * 256 + (low & 0xff)]! ^
      t[6 * 256 + ((low >>> 8) & 0xff)]! ^
      t[5 * 256 + ((low >>> 16) & 0xff)]! ^
      t[4 * 256 + (low >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < data.length) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
