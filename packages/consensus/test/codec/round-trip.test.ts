// Proves every Message variant and every codec record decodes back to what was encoded, byte-exact and unaliased.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodedEntryBytes,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
} from "../../src/codec.ts";
import { EntryType, MESSAGE_TYPES, type Message } from "../../src/types.ts";
import { confChangeArb, entryArb, hardStateArb, messageArb, messageArbs, snapshotMetadataArb } from "./arbitraries.ts";

const RUNS_PER_VARIANT = 300;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("message round trip", () => {
  for (const [variant, arbitrary] of Object.entries(messageArbs)) {
    it(`decode(encode(m)) equals m for ${variant}`, () => {
      fc.assert(
        fc.property(arbitrary, (message: Message) => {
          const bytes = encodeMessage(message);
          expect(decodeMessage(bytes)).toEqual(message);
          // Encodings come from a shared slab: check that two of them never overlap.
          const other = encodeMessage(message);
          other.fill(0xee);
          expect(decodeMessage(bytes)).toEqual(message);
        }),
        { numRuns: RUNS_PER_VARIANT },
      );
    });
  }

  it("the arbitraries cover every message type", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(messageArb, (message) => {
        seen.add(message.type);
      }),
      { numRuns: 2000, seed: 1 },
    );
    expect([...seen].sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  it("encoding is canonical: encode(decode(bytes)) gives the same bytes", () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const bytes = encodeMessage(message);
        expect(hex(encodeMessage(decodeMessage(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 500 },
    );
  });
});

describe("record round trips", () => {
  it("Entry", () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const bytes = encodeEntry(entry);
        expect(bytes.length).toBe(encodedEntryBytes(entry));
        expect(decodeEntry(bytes)).toEqual(entry);
      }),
      { numRuns: 500 },
    );
  });

  it("ConfChange", () => {
    fc.assert(
      fc.property(confChangeArb, (change) => {
        expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
      }),
      { numRuns: 500 },
    );
  });

  it("HardState", () => {
    fc.assert(
      fc.property(hardStateArb, (state) => {
        expect(decodeHardState(encodeHardState(state))).toEqual(state);
      }),
      { numRuns: 500 },
    );
  });

  it("SnapshotMetadata", () => {
    fc.assert(
      fc.property(snapshotMetadataArb, (metadata) => {
        expect(decodeSnapshotMetadata(encodeSnapshotMetadata(metadata))).toEqual(metadata);
      }),
      { numRuns: 500 },
    );
  });

  it("a ConfChange travels inside a ConfChange entry inside an append", () => {
    const change = { type: 0 as const, nodeId: "n4" };
    const message: Message = {
      type: "append",
      from: "n1",
      to: "n2",
      term: 3,
      prevIndex: 9,
      prevTerm: 3,
      entries: [{ term: 3, index: 10, type: EntryType.ConfChange, data: encodeConfChange(change) }],
      commit: 9,
      leaseTick: 120,
    };
    const decoded = decodeMessage(encodeMessage(message));
    if (decoded.type !== "append") throw new Error("expected an append");
    expect(decodeConfChange(decoded.entries[0]!.data)).toEqual(change);
  });
});

describe("pinned format", () => {
  // If one of these changes, the wire format changed: bump the version instead.
  it("heartbeat", () => {
    const bytes = encodeMessage({
      type: "heartbeat",
      from: "n1",
      to: "n2",
      term: 5,
      commit: 300,
      leaseTick: 7,
      readRound: 0,
    });
    expect(hex(bytes)).toBe("0103026e31026e3205ac020700");
  });

  it("entry, conf change, hard state, snapshot metadata", () => {
    expect(hex(encodeEntry({ term: 2, index: 3, type: EntryType.ConfChange, data: Uint8Array.of(0xaa) }))).toBe(
      "0102030101aa",
    );
    expect(hex(encodeConfChange({ type: 2, nodeId: "n3" }))).toBe("0102026e33");
    expect(hex(encodeHardState({ term: 128, vote: "", commit: 1 }))).toBe("0180010001");
    expect(hex(encodeSnapshotMetadata({ index: 10, term: 2, confState: { voters: ["a"], learners: [] } }))).toBe(
      "010a02010161" + "00",
    );
  });

  it("varint extremes", () => {
    expect(hex(encodeHardState({ term: Number.MAX_SAFE_INTEGER, vote: "", commit: 2 ** 32 }))).toBe(
      "01ffffffffffffff0f" + "00" + "8080808010",
    );
  });
});

describe("decoded values do not alias the input", () => {
  const message: Message = {
    type: "append",
    from: "n1",
    to: "n2",
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    entries: [{ term: 1, index: 1, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) }],
    commit: 0,
    leaseTick: 0,
  };

  it("overwriting the input leaves decoded entry data intact", () => {
    const bytes = encodeMessage(message);
    const decoded = decodeMessage(bytes);
    bytes.fill(0xee);
    expect(decoded).toEqual(message);
  });

  it("a Node Buffer input (whose slice() aliases) still yields copies, as plain Uint8Arrays", () => {
    const pool = Buffer.alloc(64);
    const encoded = encodeMessage(message);
    pool.set(encoded, 7);
    const decoded = decodeMessage(pool.subarray(7, 7 + encoded.length));
    if (decoded.type !== "append") throw new Error("expected an append");
    pool.fill(0xee);
    expect(decoded).toEqual(message);
    expect(Object.getPrototypeOf(decoded.entries[0]!.data)).toBe(Uint8Array.prototype);
  });

  it("snapshot chunk data is a copy too", () => {
    const bytes = encodeMessage({
      type: "snapshot",
      from: "n1",
      to: "n2",
      term: 1,
      chunk: {
        metadata: { index: 5, term: 1, confState: { voters: ["n1"], learners: [] } },
        offset: 0,
        totalBytes: 2,
        data: Uint8Array.of(9, 9),
        done: true,
      },
      leaseTick: 0,
    });
    const decoded = decodeMessage(bytes);
    bytes.fill(0);
    if (decoded.type !== "snapshot") throw new Error("expected a snapshot");
    expect([...decoded.chunk.data]).toEqual([9, 9]);
  });
});

describe("node ids", () => {
  it("keep a leading byte order mark", () => {
    const state = { term: 1, vote: "\uFEFFn1", commit: 0 };
    expect(decodeHardState(encodeHardState(state))).toEqual(state);
  });

  it("accept exactly maxNodeIdBytes bytes of multi-byte UTF-8", () => {
    const vote = "\u{1F600}".repeat(64); // 4 bytes each: 256 bytes
    expect(decodeHardState(encodeHardState({ term: 1, vote, commit: 0 })).vote).toBe(vote);
  });
});
