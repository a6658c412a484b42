// Proves each kind of malformed input is refused with a CodecError that names what was wrong.
import { describe, expect, it } from "vitest";
import { BinaryWriter } from "../../src/binary.ts";
import {
  DEFAULT_DECODE_LIMITS,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
  MAX_CONF_STATE_MEMBERS,
} from "../../src/codec.ts";
import { CodecError, InvalidConfigError, InvariantError } from "../../src/errors.ts";
import { EntryType, type Message } from "../../src/types.ts";

function expectCodecError(decode: () => unknown, message: RegExp | string): void {
  let thrown: unknown;
  try {
    decode();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CodecError);
  const error = thrown as CodecError;
  expect(error.code).toBe("CONSENSUS_ERR_CODEC");
  expect(error.message).toMatch(message);
}

/** Builds raw bytes field by field, to craft inputs the encoder would never produce. */
function build(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish().slice();
}

/** A voteResponse from n1 to n2 at term 1 up to (not including) its reject byte. */
function voteResponseHeader(writer: BinaryWriter): void {
  writer.writeByte(1);
  writer.writeByte(7);
  writer.writeString("n1");
  writer.writeString("n2");
  writer.writeVarint(1);
}

const append: Message = {
  type: "append",
  from: "n1",
  to: "n2",
  term: 2,
  prevIndex: 4,
  prevTerm: 1,
  entries: [
    { term: 2, index: 5, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) },
    { term: 2, index: 6, type: EntryType.ConfChange, data: encodeConfChange({ type: 0, nodeId: "n4" }) },
  ],
  commit: 4,
  leaseTick: 99,
};

describe("versions and types", () => {
  it("rejects an unknown message format version", () => {
    const bytes = encodeMessage(append);
    bytes[0] = 2;
    expectCodecError(() => decodeMessage(bytes), "unknown message format version 2 (this node reads version 1)");
    bytes[0] = 0;
    expectCodecError(() => decodeMessage(bytes), "unknown message format version 0");
  });

  it("rejects an unknown message type", () => {
    const bytes = encodeMessage(append);
    bytes[1] = 17;
    expectCodecError(() => decodeMessage(bytes), "unknown message type 17");
    bytes[1] = 0;
    expectCodecError(() => decodeMessage(bytes), "unknown message type 0");
  });

  it("rejects an unknown entry type, in a message and on its own", () => {
    const inMessage = build((writer) => {
      writer.writeByte(1);
      writer.writeByte(1);
      writer.writeString("n1");
      writer.writeString("n2");
      for (const value of [2, 4, 1, 4, 99, 1]) writer.writeVarint(value); // term .. leaseTick, count
      writer.writeVarint(2);
      writer.writeVarint(5);
      writer.writeByte(7);
      writer.writeBytes(new Uint8Array(0));
    });
    expectCodecError(() => decodeMessage(inMessage), "unknown entry type 7");
    const alone = encodeEntry({ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) });
    alone[3] = 2;
    expectCodecError(() => decodeEntry(alone), "unknown entry type 2");
  });

  it("rejects an unknown conf change type", () => {
    const bytes = encodeConfChange({ type: 1, nodeId: "n5" });
    bytes[1] = 9;
    expectCodecError(() => decodeConfChange(bytes), "unknown conf change type 9");
  });

  it("rejects unknown versions of every record", () => {
    const cases: [Uint8Array, (bytes: Uint8Array) => unknown, string][] = [
      [encodeEntry(append.type === "append" ? append.entries[0]! : never()), decodeEntry, "entry"],
      [encodeConfChange({ type: 0, nodeId: "a" }), decodeConfChange, "conf change"],
      [encodeHardState({ term: 1, vote: "a", commit: 1 }), decodeHardState, "hard state"],
      [
        encodeSnapshotMetadata({ index: 1, term: 1, confState: { voters: [], learners: [] } }),
        decodeSnapshotMetadata,
        "snapshot metadata",
      ],
    ];
    for (const [bytes, decode, what] of cases) {
      bytes[0] = 3;
      expectCodecError(() => decode(bytes), `unknown ${what} format version 3 (this node reads version 1)`);
    }
  });
});

function never(): never {
  throw new Error("unreachable");
}

describe("lengths", () => {
  it("rejects empty input", () => {
    expectCodecError(() => decodeMessage(new Uint8Array(0)), /^cannot decode: truncated input: message format version/);
    expectCodecError(() => decodeHardState(new Uint8Array(0)), /truncated input/);
  });

  it("rejects every truncation of a valid message", () => {
    const bytes = encodeMessage(append);
    for (let length = 0; length < bytes.length; length++) {
      expectCodecError(() => decodeMessage(bytes.subarray(0, length)), /truncated input/);
    }
  });

  it("rejects every truncation of each record", () => {
    const records: [Uint8Array, (bytes: Uint8Array) => unknown][] = [
      [encodeEntry({ term: 300, index: 70000, type: EntryType.Normal, data: Uint8Array.of(1, 2) }), decodeEntry],
      [encodeConfChange({ type: 2, nodeId: "n9" }), decodeConfChange],
      [encodeHardState({ term: 300, vote: "n1", commit: 200 }), decodeHardState],
      [
        encodeSnapshotMetadata({ index: 1000, term: 3, confState: { voters: ["a", "b"], learners: ["c"] } }),
        decodeSnapshotMetadata,
      ],
    ];
    for (const [bytes, decode] of records) {
      for (let length = 0; length < bytes.length; length++) {
        expectCodecError(() => decode(bytes.subarray(0, length)), /truncated input/);
      }
    }
  });

  it("rejects trailing bytes", () => {
    const bytes = encodeMessage(append);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes);
    expectCodecError(() => decodeMessage(padded), "trailing 3 bytes after message");
    const entry = encodeEntry({ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) });
    expectCodecError(() => decodeEntry(Uint8Array.of(...entry, 0)), "trailing 1 byte after entry");
    expectCodecError(
      () => decodeHardState(Uint8Array.of(...encodeHardState({ term: 1, vote: "", commit: 0 }), 1, 2)),
      "trailing 2 bytes after hard state",
    );
    expectCodecError(
      () => decodeConfChange(Uint8Array.of(...encodeConfChange({ type: 0, nodeId: "a" }), 0)),
      "trailing 1 byte after conf change",
    );
    const metadata = encodeSnapshotMetadata({ index: 1, term: 1, confState: { voters: [], learners: [] } });
    expectCodecError(
      () => decodeSnapshotMetadata(Uint8Array.of(...metadata, 0)),
      "trailing 1 byte after snapshot metadata",
    );
  });

  it("rejects a data length longer than what remains, before allocating it", () => {
    const bytes = build((writer) => {
      writer.writeByte(1);
      writer.writeVarint(1);
      writer.writeVarint(1);
      writer.writeByte(0);
      writer.writeVarint(Number.MAX_SAFE_INTEGER); // claims 8 PiB of data
    });
    expectCodecError(
      () => decodeEntry(bytes),
      /truncated input: entry data at offset \d+ needs 9007199254740991 bytes, 0 remain/,
    );
  });
});

describe("named limits", () => {
  it("maxMessageBytes: checked before anything else is read", () => {
    const bytes = encodeMessage(append);
    expectCodecError(
      () => decodeMessage(bytes, { maxMessageBytes: bytes.length - 1 }),
      `message of ${bytes.length} bytes exceeds maxMessageBytes ${bytes.length - 1}`,
    );
    expect(decodeMessage(bytes, { maxMessageBytes: bytes.length })).toEqual(append);
    const tooBig = new Uint8Array(DEFAULT_DECODE_LIMITS.maxMessageBytes + 1);
    expectCodecError(() => decodeMessage(tooBig), "exceeds maxMessageBytes 16777216");
  });

  it("maxEntriesPerMessage", () => {
    const bytes = encodeMessage(append);
    expectCodecError(
      () => decodeMessage(bytes, { maxEntriesPerMessage: 1 }),
      /entry count 2 at offset \d+ exceeds maxEntriesPerMessage 1/,
    );
    expect(decodeMessage(bytes, { maxEntriesPerMessage: 2 })).toEqual(append);
  });

  it("default maxEntriesPerMessage is 65536, and a count the bytes cannot hold is refused up front", () => {
    const header = (count: number) =>
      build((writer) => {
        writer.writeByte(1);
        writer.writeByte(1);
        writer.writeString("n1");
        writer.writeString("n2");
        for (const value of [2, 4, 1, 4, 99]) writer.writeVarint(value);
        writer.writeVarint(count);
      });
    expectCodecError(
      () => decodeMessage(header(65537)),
      /entry count 65537 at offset \d+ exceeds maxEntriesPerMessage 65536/,
    );
    expectCodecError(
      () => decodeMessage(header(65536)),
      /truncated input: entry count 65536 .* needs at least 262144 bytes, 0 remain/,
    );
  });

  it("maxNodeIdBytes (default 256) in messages and records", () => {
    const long = "x".repeat(257);
    const message: Message = { type: "timeoutNow", from: long, to: "n2", term: 1 };
    expectCodecError(
      () => decodeMessage(encodeMessage(message)),
      /node id longer than 256 bytes \(257 bytes at offset 2\)/,
    );
    expect(decodeMessage(encodeMessage(message), { maxNodeIdBytes: 257 })).toEqual(message);
    expectCodecError(
      () =>
        decodeMessage(encodeMessage({ type: "timeoutNow", from: "n1", to: "abcd", term: 1 }), { maxNodeIdBytes: 3 }),
      "node id longer than 3 bytes",
    );
    expectCodecError(
      () => decodeHardState(encodeHardState({ term: 1, vote: long, commit: 1 })),
      "node id longer than 256 bytes",
    );
    expectCodecError(
      () => decodeConfChange(encodeConfChange({ type: 0, nodeId: long })),
      "node id longer than 256 bytes",
    );
    expectCodecError(
      () =>
        decodeSnapshotMetadata(
          encodeSnapshotMetadata({ index: 1, term: 1, confState: { voters: [long], learners: [] } }),
        ),
      "node id longer than 256 bytes",
    );
  });

  it("MAX_CONF_STATE_MEMBERS bounds voters and learners", () => {
    const forged = (voters: number, learners: number) =>
      build((writer) => {
        writer.writeByte(1);
        writer.writeVarint(1);
        writer.writeVarint(1);
        writer.writeVarint(voters);
        for (let i = 0; i < Math.min(voters, MAX_CONF_STATE_MEMBERS); i++) writer.writeString("");
        writer.writeVarint(learners);
      });
    expectCodecError(
      () => decodeSnapshotMetadata(forged(MAX_CONF_STATE_MEMBERS + 1, 0)),
      /voter count 1025 at offset 3 exceeds MAX_CONF_STATE_MEMBERS 1024/,
    );
    expectCodecError(
      () => decodeSnapshotMetadata(forged(0, 5000)),
      /learner count 5000 .* exceeds MAX_CONF_STATE_MEMBERS 1024/,
    );
    expect(decodeSnapshotMetadata(forged(MAX_CONF_STATE_MEMBERS, 0)).confState.voters).toHaveLength(
      MAX_CONF_STATE_MEMBERS,
    );
  });

  it("limits themselves must be positive integers", () => {
    const bytes = encodeMessage(append);
    expect(() => decodeMessage(bytes, { maxMessageBytes: Number.NaN })).toThrow(InvalidConfigError);
    expect(() => decodeMessage(bytes, { maxEntriesPerMessage: 0 })).toThrow(
      "maxEntriesPerMessage must be a positive integer, got 0",
    );
    expect(() => decodeMessage(bytes, { maxNodeIdBytes: 1.5 })).toThrow(InvalidConfigError);
  });
});

describe("field encodings", () => {
  it("rejects a boolean other than 0 or 1", () => {
    const bytes = build((writer) => {
      voteResponseHeader(writer);
      writer.writeByte(2);
    });
    expectCodecError(() => decodeMessage(bytes), "boolean reject at offset 9 is 2, not 0 or 1");
  });

  it("rejects invalid UTF-8 in node ids", () => {
    const invalid = [
      Uint8Array.of(0xff),
      Uint8Array.of(0xc0, 0x80), // overlong NUL
      Uint8Array.of(0xed, 0xa0, 0x80), // a UTF-16 surrogate
      Uint8Array.of(0xe2, 0x82), // cut-off sequence
      Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
    ];
    for (const id of invalid) {
      const bytes = build((writer) => {
        writer.writeByte(1);
        writer.writeVarint(1);
        writer.writeBytes(id);
        writer.writeVarint(0);
      });
      expectCodecError(() => decodeHardState(bytes), "node id at offset 3 is not valid UTF-8");
    }
  });

  it("rejects non-minimal (overlong) varints", () => {
    // term 1 written as 0x81 0x00 instead of 0x01
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x81, 0x00, 0, 0)),
      "varint term at offset 1 is not minimal",
    );
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x80, 0x00, 0, 0)),
      "varint term at offset 1 is not minimal",
    );
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x80, 0x80, 0x80, 0x00, 0, 0)),
      "varint term at offset 1 is not minimal",
    );
  });

  it("rejects varints above Number.MAX_SAFE_INTEGER or longer than 8 bytes", () => {
    // 2^53: seven 0x80 bytes then 0x10.
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0)),
      "varint term at offset 1 exceeds Number.MAX_SAFE_INTEGER",
    );
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0)),
      "exceeds Number.MAX_SAFE_INTEGER",
    );
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0)),
      "varint term at offset 1 is longer than 8 bytes",
    );
    // The largest safe integer itself is fine.
    expect(decodeHardState(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0)).term).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it("rejects a varint cut off mid-way", () => {
    expectCodecError(
      () => decodeHardState(Uint8Array.of(1, 0x80)),
      "truncated input: varint term at offset 1 is cut off after 1 bytes",
    );
  });

  it("rejects input that is not a Uint8Array", () => {
    for (const input of [new ArrayBuffer(4), "0103", null, undefined, [1, 7], new Uint16Array(4)]) {
      expectCodecError(() => decodeMessage(input as unknown as Uint8Array), "input is not a Uint8Array");
      expectCodecError(() => decodeEntry(input as unknown as Uint8Array), "input is not a Uint8Array");
    }
  });
});

describe("the encoder refuses values that have no encoding", () => {
  it("negative, fractional or unsafe integers", () => {
    for (const term of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => encodeHardState({ term, vote: "", commit: 0 })).toThrow(InvariantError);
    }
  });

  it("node ids with a lone surrogate (they would not survive UTF-8)", () => {
    expect(() => encodeConfChange({ type: 0, nodeId: "n\uD800" })).toThrow(InvariantError);
    expect(() => encodeConfChange({ type: 0, nodeId: "\uDC00n" })).toThrow(InvariantError);
  });

  it("unknown entry, conf change and message types", () => {
    expect(() => encodeEntry({ term: 1, index: 1, type: 5 as never, data: new Uint8Array(0) })).toThrow(
      "cannot encode unknown entry type 5",
    );
    expect(() => encodeConfChange({ type: 3 as never, nodeId: "a" })).toThrow(
      "cannot encode unknown conf change type 3",
    );
    expect(() => encodeMessage({ type: "gossip", from: "a", to: "b", term: 1 } as unknown as Message)).toThrow(
      "cannot encode unknown message type gossip",
    );
  });

  it("more conf state members than any decoder accepts", () => {
    const voters = Array.from({ length: MAX_CONF_STATE_MEMBERS + 1 }, (_, i) => `n${i}`);
    expect(() => encodeSnapshotMetadata({ index: 1, term: 1, confState: { voters, learners: [] } })).toThrow(
      InvariantError,
    );
  });
});
