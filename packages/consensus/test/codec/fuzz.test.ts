// Proves the decoders, fed random and mutated bytes, only ever return a canonically encoded value or throw CodecError.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
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
} from "../../src/codec.ts";
import { CodecError } from "../../src/errors.ts";
import { confChangeArb, entryArb, hardStateArb, messageArb, messageArbs, snapshotMetadataArb } from "./arbitraries.ts";

// About 21,000 decodes in all, in a second or two.
const RANDOM_RUNS = 4000;
const PREFIXED_RANDOM_RUNS = 4000;
const MUTATED_MESSAGE_RUNS = 8000;
const MUTATED_RECORD_RUNS_EACH = 1000;

interface Codec<T> {
  readonly decode: (bytes: Uint8Array) => T;
  readonly encode: (value: T) => Uint8Array;
}

/**
 * The property: the decoder either throws a CodecError, or returns a value whose encoding is
 * exactly the input (so it accepted nothing malformed, and nothing with a second encoding).
 */
function checkDecodes<T>(codec: Codec<T>, bytes: Uint8Array): void {
  let value: T;
  try {
    value = codec.decode(bytes);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    expect(error.code).toBe("CONSENSUS_ERR_CODEC");
    return;
  }
  expect(Buffer.from(codec.encode(value)).equals(bytes)).toBe(true);
}

const messageCodec: Codec<ReturnType<typeof decodeMessage>> = {
  decode: (b) => decodeMessage(b),
  encode: encodeMessage,
};

type Mutation =
  | { kind: "flip"; position: number; bit: number }
  | { kind: "set"; position: number; value: number }
  | { kind: "truncate"; position: number }
  | { kind: "insert"; position: number; bytes: Uint8Array }
  | { kind: "delete"; position: number; count: number }
  | { kind: "splice"; position: number; donor: Uint8Array; donorPosition: number };

const positionArb = fc.nat(10_000);

function mutationArb(donorArb: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), position: positionArb, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant("set" as const),
      position: positionArb,
      value: fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xff),
    }),
    fc.record({ kind: fc.constant("truncate" as const), position: positionArb }),
    fc.record({
      kind: fc.constant("insert" as const),
      position: positionArb,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({ kind: fc.constant("delete" as const), position: positionArb, count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      kind: fc.constant("splice" as const),
      position: positionArb,
      donor: donorArb,
      donorPosition: positionArb,
    }),
  );
}

function mutate(original: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = original.slice();
  for (const mutation of mutations) {
    const at = bytes.length === 0 ? 0 : mutation.position % (bytes.length + 1);
    switch (mutation.kind) {
      case "flip":
        if (at < bytes.length) bytes[at]! ^= 1 << mutation.bit;
        break;
      case "set":
        if (at < bytes.length) bytes[at] = mutation.value;
        break;
      case "truncate":
        bytes = bytes.slice(0, at);
        break;
      case "insert":
        bytes = Uint8Array.of(...bytes.subarray(0, at), ...mutation.bytes, ...bytes.subarray(at));
        break;
      case "delete":
        bytes = Uint8Array.of(...bytes.subarray(0, at), ...bytes.subarray(at + mutation.count));
        break;
      case "splice": {
        const from = mutation.donorPosition % (mutation.donor.length + 1);
        bytes = Uint8Array.of(...bytes.subarray(0, at), ...mutation.donor.subarray(from));
        break;
      }
    }
  }
  return bytes;
}

function mutatedArb(validArb: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(validArb, fc.array(mutationArb(validArb), { minLength: 1, maxLength: 4 }))
    .map(([valid, mutations]) => mutate(valid, mutations));
}

describe("decodeMessage fuzz", () => {
  it("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => checkDecodes(messageCodec, bytes)),
      { numRuns: RANDOM_RUNS },
    );
  });

  it("random bytes behind a valid version and message type (to get past the first two checks)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 11 }), fc.uint8Array({ maxLength: 120 }), (type, body) =>
        checkDecodes(messageCodec, Uint8Array.of(1, type, ...body)),
      ),
      { numRuns: PREFIXED_RANDOM_RUNS },
    );
  });

  it("bit flips, truncations, insertions, deletions and splices of valid messages", () => {
    fc.assert(
      fc.property(mutatedArb(messageArb.map(encodeMessage)), (bytes) => checkDecodes(messageCodec, bytes)),
      { numRuns: MUTATED_MESSAGE_RUNS },
    );
  });

  it("mutated appends stay inside the entry loop often enough to matter", () => {
    fc.assert(
      fc.property(mutatedArb(messageArbs.append.map(encodeMessage)), (bytes) => checkDecodes(messageCodec, bytes)),
      { numRuns: MUTATED_RECORD_RUNS_EACH },
    );
  });
});

describe("record decoder fuzz", () => {
  function fuzzRecord<T>(name: string, codec: Codec<T>, validArb: fc.Arbitrary<T>): void {
    it(`${name}: random and mutated bytes`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedArb(validArb.map(codec.encode))), (bytes) =>
          checkDecodes(codec, bytes),
        ),
        { numRuns: MUTATED_RECORD_RUNS_EACH },
      );
    });
  }
  fuzzRecord("entry", { decode: decodeEntry, encode: encodeEntry }, entryArb);
  fuzzRecord("conf change", { decode: decodeConfChange, encode: encodeConfChange }, confChangeArb);
  fuzzRecord("hard state", { decode: decodeHardState, encode: encodeHardState }, hardStateArb);
  fuzzRecord(
    "snapshot metadata",
    { decode: decodeSnapshotMetadata, encode: encodeSnapshotMetadata },
    snapshotMetadataArb,
  );
});
