// fast-check arbitraries for every Message variant and every standalone codec record.
import fc from "fast-check";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type NodeId,
  type SnapshotChunk,
  type SnapshotMetadata,
} from "../../src/types.ts";

/** Values on each side of every varint length boundary, plus the extremes. */
const VARINT_BOUNDARIES: readonly number[] = [
  0,
  1,
  0x7f,
  0x80,
  0x3fff,
  0x4000,
  2 ** 21 - 1,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 35 - 1,
  2 ** 35,
  2 ** 42 - 1,
  2 ** 42,
  2 ** 49 - 1,
  2 ** 49,
  Number.MAX_SAFE_INTEGER,
];

export const uintArb: fc.Arbitrary<number> = fc.oneof(
  fc.nat(1000),
  fc.constantFrom(...VARINT_BOUNDARIES),
  fc.maxSafeNat(),
);

/** Short ASCII ids (the usual case), any Unicode (up to 64 code points = 256 bytes), and the empty id. */
export const nodeIdArb: fc.Arbitrary<NodeId> = fc.oneof(
  fc.constantFrom("", "n1", "n2", "n3", "12D3KooWGzh8dmUeFhs6Z3bQmJoL9aZ9cK4U3ZzVxFh4yM5rN7Qp"),
  fc.string({ unit: "grapheme-ascii", maxLength: 64 }),
  fc.string({ unit: "binary", maxLength: 64 }),
);

export const dataArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ maxLength: 300 }),
);

export const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: uintArb,
  index: uintArb,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: dataArb,
});

export const confChangeArb: fc.Arbitrary<ConfChange> = fc.record({
  type: fc.constantFrom(ConfChangeType.AddVoter, ConfChangeType.AddLearner, ConfChangeType.RemoveNode),
  nodeId: nodeIdArb,
});

export const hardStateArb: fc.Arbitrary<HardState> = fc.record({ term: uintArb, vote: nodeIdArb, commit: uintArb });

export const confStateArb: fc.Arbitrary<ConfState> = fc.record({
  voters: fc.array(nodeIdArb, { maxLength: 7 }),
  learners: fc.array(nodeIdArb, { maxLength: 3 }),
});

export const snapshotMetadataArb: fc.Arbitrary<SnapshotMetadata> = fc.record({
  index: uintArb,
  term: uintArb,
  confState: confStateArb,
});

const chunkArb: fc.Arbitrary<SnapshotChunk> = fc.record({
  metadata: snapshotMetadataArb,
  offset: uintArb,
  totalBytes: uintArb,
  data: dataArb,
  done: fc.boolean(),
});

const header = { from: nodeIdArb, to: nodeIdArb, term: uintArb };

export const messageArbs = {
  append: fc.record({
    type: fc.constant("append" as const),
    ...header,
    prevIndex: uintArb,
    prevTerm: uintArb,
    entries: fc.array(entryArb, { maxLength: 8 }),
    commit: uintArb,
    leaseTick: uintArb,
  }),
  appendResponse: fc.record({
    type: fc.constant("appendResponse" as const),
    ...header,
    reject: fc.boolean(),
    index: uintArb,
    rejectHint: uintArb,
    hintTerm: uintArb,
    leaseTick: uintArb,
  }),
  heartbeat: fc.record({
    type: fc.constant("heartbeat" as const),
    ...header,
    commit: uintArb,
    leaseTick: uintArb,
    readRound: uintArb,
  }),
  heartbeatResponse: fc.record({
    type: fc.constant("heartbeatResponse" as const),
    ...header,
    leaseTick: uintArb,
    readRound: uintArb,
  }),
  vote: fc.record({
    type: fc.constantFrom("vote" as const, "preVote" as const),
    ...header,
    lastIndex: uintArb,
    lastTerm: uintArb,
    force: fc.boolean(),
  }),
  voteResponse: fc.record({
    type: fc.constantFrom("voteResponse" as const, "preVoteResponse" as const),
    ...header,
    reject: fc.boolean(),
  }),
  snapshot: fc.record({
    type: fc.constant("snapshot" as const),
    ...header,
    chunk: chunkArb,
    leaseTick: uintArb,
  }),
  snapshotResponse: fc.record({
    type: fc.constant("snapshotResponse" as const),
    ...header,
    snapshotIndex: uintArb,
    nextOffset: uintArb,
    reject: fc.boolean(),
    leaseTick: uintArb,
  }),
  timeoutNow: fc.record({ type: fc.constant("timeoutNow" as const), ...header }),
} satisfies Record<string, fc.Arbitrary<Message>>;

export const messageArb: fc.Arbitrary<Message> = fc.oneof(...Object.values(messageArbs));
