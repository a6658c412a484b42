// The wire and disk format of Raft messages and records, with a strict decoder.
//
// Every encoding starts with a format version byte so that a node can refuse bytes written by
// a newer one instead of misreading them. Integers are minimal unsigned LEB128 varints, byte
// strings and node ids (UTF-8) are length-prefixed, booleans are one byte, 0 or 1. Each value
// has exactly one encoding, so decoding then encoding gives back the very same bytes.
//
//   message        = version(1) type(u8) from:str to:str term:uint body
//   append         = prevIndex prevTerm commit leaseTick count:uint entry-body*
//   appendResponse = reject:bool index rejectHint hintTerm leaseTick
//   heartbeat      = commit leaseTick readRound
//   heartbeatResp. = leaseTick readRound
//   (pre)vote      = lastIndex lastTerm force:bool
//   (pre)voteResp. = reject:bool
//   snapshot       = metadata-body offset totalBytes data:bytes done:bool leaseTick
//   snapshotResp.  = snapshotIndex nextOffset reject:bool leaseTick
//   timeoutNow     = (nothing)
//   entry-body     = term index type(u8) data:bytes
//   metadata-body  = index term voterCount:uint voter:str* learnerCount:uint learner:str*
//
// Standalone records (for storage and for ConfChange entries) each have their own version:
//   Entry = version(1) entry-body; ConfChange = version(1) type(u8) nodeId:str;
//   HardState = version(1) term vote:str commit; SnapshotMetadata = version(1) metadata-body.
//
// The decoder throws CodecError, and nothing else, for any malformed input. It checks sizes
// against named limits and against the bytes that remain before allocating, and returns
// copies of byte strings: the caller may reuse its input buffer at once. It checks structure,
// not meaning: an entry's data, and a conf change's node id, may be empty.
//
// Encoded bytes, and decoded entry and chunk data, may be slices of a shared slab (see
// `allocateBytes` in binary.ts): use byteOffset/byteLength, never `.buffer` alone.
import { BinaryReader, BinaryWriter, bytesFieldBytes, stringFieldBytes, varintBytes } from "./binary.ts";
import { CodecError, InvalidConfigError, InvariantError } from "./errors.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type SnapshotMetadata,
} from "./types.ts";

export interface DecodeLimits {
  maxMessageBytes: number;
  maxEntriesPerMessage: number;
  maxNodeIdBytes: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  /** 16 MiB: room for the core's 1 MiB of entries or 256 KiB snapshot chunks, with a wide margin. */
  maxMessageBytes: 16 * 1024 * 1024,
  maxEntriesPerMessage: 65536,
  /** libp2p peer ids are about 52 characters; 256 bytes leaves room for other schemes. */
  maxNodeIdBytes: 256,
});

/**
 * Voters plus learners in one list of a ConfState. A BMC cluster has a handful of members;
 * the bound stops a forged count from costing more than a few kilobytes of work.
 */
export const MAX_CONF_STATE_MEMBERS = 1024;

export const MESSAGE_FORMAT_VERSION = 1;
export const ENTRY_FORMAT_VERSION = 1;
export const CONF_CHANGE_FORMAT_VERSION = 1;
export const HARD_STATE_FORMAT_VERSION = 1;
export const SNAPSHOT_METADATA_FORMAT_VERSION = 1;

/**
 * Wire codes of message types. Explicit, not an array position, so that reordering
 * MESSAGE_TYPES cannot change the format; 0 is never used, so zeroed bytes do not decode.
 */
const MESSAGE_TYPE_CODES = {
  append: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  vote: 5,
  preVote: 6,
  voteResponse: 7,
  preVoteResponse: 8,
  snapshot: 9,
  snapshotResponse: 10,
  timeoutNow: 11,
} as const satisfies Record<MessageType, number>;

const MESSAGE_TYPE_BY_CODE: readonly (MessageType | undefined)[] = (() => {
  const byCode: (MessageType | undefined)[] = [];
  for (const [type, code] of Object.entries(MESSAGE_TYPE_CODES)) byCode[code] = type as MessageType;
  return byCode;
})();

/** Smallest encoded entry-body: term, index, type and an empty data length, one byte each. */
const MIN_ENTRY_BODY_BYTES = 4;
/** Smallest encoded node id: an empty string is its length byte alone. */
const MIN_NODE_ID_BYTES = 1;

// ---------------------------------------------------------------------------------------------
// Messages

export function encodeMessage(message: Message): Uint8Array {
  const sizeBytes = messageBytes(message);
  const writer = new BinaryWriter(sizeBytes);
  writer.writeByte(MESSAGE_FORMAT_VERSION);
  writer.writeByte(MESSAGE_TYPE_CODES[message.type]);
  writer.writeString(message.from);
  writer.writeString(message.to);
  writer.writeVarint(message.term);
  switch (message.type) {
    case "append":
      writer.writeVarint(message.prevIndex);
      writer.writeVarint(message.prevTerm);
      writer.writeVarint(message.commit);
      writer.writeVarint(message.leaseTick);
      writer.writeVarint(message.entries.length);
      for (const entry of message.entries) writeEntryBody(writer, entry);
      break;
    case "appendResponse":
      writer.writeBool(message.reject);
      writer.writeVarint(message.index);
      writer.writeVarint(message.rejectHint);
      writer.writeVarint(message.hintTerm);
      writer.writeVarint(message.leaseTick);
      break;
    case "heartbeat":
      writer.writeVarint(message.commit);
      writer.writeVarint(message.leaseTick);
      writer.writeVarint(message.readRound);
      break;
    case "heartbeatResponse":
      writer.writeVarint(message.leaseTick);
      writer.writeVarint(message.readRound);
      break;
    case "vote":
    case "preVote":
      writer.writeVarint(message.lastIndex);
      writer.writeVarint(message.lastTerm);
      writer.writeBool(message.force);
      break;
    case "voteResponse":
    case "preVoteResponse":
      writer.writeBool(message.reject);
      break;
    case "snapshot": {
      const chunk = message.chunk;
      writeSnapshotMetadataBody(writer, chunk.metadata);
      writer.writeVarint(chunk.offset);
      writer.writeVarint(chunk.totalBytes);
      writer.writeBytes(chunk.data);
      writer.writeBool(chunk.done);
      writer.writeVarint(message.leaseTick);
      break;
    }
    case "snapshotResponse":
      writer.writeVarint(message.snapshotIndex);
      writer.writeVarint(message.nextOffset);
      writer.writeBool(message.reject);
      writer.writeVarint(message.leaseTick);
      break;
    case "timeoutNow":
      break;
  }
  return finishExact(writer, sizeBytes, "message");
}

export function decodeMessage(bytes: Uint8Array, limits?: Partial<DecodeLimits>): Message {
  const resolved = limits === undefined ? DEFAULT_DECODE_LIMITS : resolveDecodeLimits(limits);
  if (!(bytes instanceof Uint8Array)) throw new CodecError("input is not a Uint8Array");
  if (bytes.length > resolved.maxMessageBytes) {
    throw new CodecError(`message of ${bytes.length} bytes exceeds maxMessageBytes ${resolved.maxMessageBytes}`);
  }
  const reader = new BinaryReader(bytes);
  readVersion(reader, "message", MESSAGE_FORMAT_VERSION);
  const code = reader.readByte("message type");
  const type = MESSAGE_TYPE_BY_CODE[code];
  if (type === undefined) throw new CodecError(`unknown message type ${code}`);
  const maxNodeIdBytes = resolved.maxNodeIdBytes;
  const from = reader.readString("node id", maxNodeIdBytes);
  const to = reader.readString("node id", maxNodeIdBytes);
  const term = reader.readVarint("term");
  let message: Message;
  switch (type) {
    case "append": {
      const prevIndex = reader.readVarint("prevIndex");
      const prevTerm = reader.readVarint("prevTerm");
      const commit = reader.readVarint("commit");
      const leaseTick = reader.readVarint("leaseTick");
      const count = reader.readCount(
        "entry count",
        resolved.maxEntriesPerMessage,
        "maxEntriesPerMessage",
        MIN_ENTRY_BODY_BYTES,
      );
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) entries.push(readEntryBody(reader));
      message = { type, from, to, term, prevIndex, prevTerm, entries, commit, leaseTick };
      break;
    }
    case "appendResponse":
      message = {
        type,
        from,
        to,
        term,
        reject: reader.readBool("reject"),
        index: reader.readVarint("index"),
        rejectHint: reader.readVarint("rejectHint"),
        hintTerm: reader.readVarint("hintTerm"),
        leaseTick: reader.readVarint("leaseTick"),
      };
      break;
    case "heartbeat":
      message = {
        type,
        from,
        to,
        term,
        commit: reader.readVarint("commit"),
        leaseTick: reader.readVarint("leaseTick"),
        readRound: reader.readVarint("readRound"),
      };
      break;
    case "heartbeatResponse":
      message = {
        type,
        from,
        to,
        term,
        leaseTick: reader.readVarint("leaseTick"),
        readRound: reader.readVarint("readRound"),
      };
      break;
    case "vote":
    case "preVote":
      message = {
        type,
        from,
        to,
        term,
        lastIndex: reader.readVarint("lastIndex"),
        lastTerm: reader.readVarint("lastTerm"),
        force: reader.readBool("force"),
      };
      break;
    case "voteResponse":
    case "preVoteResponse":
      message = { type, from, to, term, reject: reader.readBool("reject") };
      break;
    case "snapshot": {
      const metadata = readSnapshotMetadataBody(reader, maxNodeIdBytes);
      const offset = reader.readVarint("chunk offset");
      const totalBytes = reader.readVarint("chunk totalBytes");
      const data = reader.readBytes("chunk data");
      const done = reader.readBool("chunk done");
      const leaseTick = reader.readVarint("leaseTick");
      message = { type, from, to, term, chunk: { metadata, offset, totalBytes, data, done }, leaseTick };
      break;
    }
    case "snapshotResponse":
      message = {
        type,
        from,
        to,
        term,
        snapshotIndex: reader.readVarint("snapshotIndex"),
        nextOffset: reader.readVarint("nextOffset"),
        reject: reader.readBool("reject"),
        leaseTick: reader.readVarint("leaseTick"),
      };
      break;
    case "timeoutNow":
      message = { type, from, to, term };
      break;
  }
  reader.expectEnd("message");
  return message;
}

/** Fills in defaults and checks the caller's limits (a bad limit is a configuration error, not bad input). */
export function resolveDecodeLimits(limits: Partial<DecodeLimits>): Readonly<DecodeLimits> {
  const resolved = { ...DEFAULT_DECODE_LIMITS, ...limits };
  for (const name of ["maxMessageBytes", "maxEntriesPerMessage", "maxNodeIdBytes"] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidConfigError(`${name} must be a positive integer, got ${value}`);
    }
  }
  return resolved;
}

function messageBytes(message: Message): number {
  // Version and type bytes, then the header.
  let total = 2 + stringFieldBytes(message.from) + stringFieldBytes(message.to) + varintBytes(message.term);
  switch (message.type) {
    case "append":
      total +=
        varintBytes(message.prevIndex) +
        varintBytes(message.prevTerm) +
        varintBytes(message.commit) +
        varintBytes(message.leaseTick) +
        varintBytes(message.entries.length);
      for (const entry of message.entries) total += entryBodyBytes(entry);
      return total;
    case "appendResponse":
      return (
        total +
        1 +
        varintBytes(message.index) +
        varintBytes(message.rejectHint) +
        varintBytes(message.hintTerm) +
        varintBytes(message.leaseTick)
      );
    case "heartbeat":
      return total + varintBytes(message.commit) + varintBytes(message.leaseTick) + varintBytes(message.readRound);
    case "heartbeatResponse":
      return total + varintBytes(message.leaseTick) + varintBytes(message.readRound);
    case "vote":
    case "preVote":
      return total + varintBytes(message.lastIndex) + varintBytes(message.lastTerm) + 1;
    case "voteResponse":
    case "preVoteResponse":
      return total + 1;
    case "snapshot": {
      const chunk = message.chunk;
      return (
        total +
        snapshotMetadataBodyBytes(chunk.metadata) +
        varintBytes(chunk.offset) +
        varintBytes(chunk.totalBytes) +
        bytesFieldBytes(chunk.data) +
        1 +
        varintBytes(message.leaseTick)
      );
    }
    case "snapshotResponse":
      return (
        total +
        varintBytes(message.snapshotIndex) +
        varintBytes(message.nextOffset) +
        1 +
        varintBytes(message.leaseTick)
      );
    case "timeoutNow":
      return total;
    default:
      throw new InvariantError(`cannot encode unknown message type ${String((message as { type: unknown }).type)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Entries

export function encodeEntry(entry: Entry): Uint8Array {
  const sizeBytes = encodedEntryBytes(entry);
  const writer = new BinaryWriter(sizeBytes);
  writeEntry(writer, entry);
  return finishExact(writer, sizeBytes, "entry");
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const reader = new BinaryReader(bytes);
  const entry = readEntry(reader);
  reader.expectEnd("entry");
  return entry;
}

/** Bytes `encodeEntry` produces, for callers that pre-size a writer holding several records. */
export function encodedEntryBytes(entry: Entry): number {
  return 1 + entryBodyBytes(entry);
}

/** Appends a versioned entry (as `encodeEntry` would) to a caller's writer, e.g. a storage record. */
export function writeEntry(writer: BinaryWriter, entry: Entry): void {
  writer.writeByte(ENTRY_FORMAT_VERSION);
  writeEntryBody(writer, entry);
}

/** Reads a versioned entry; the caller checks what follows (`reader.expectEnd`). */
export function readEntry(reader: BinaryReader): Entry {
  readVersion(reader, "entry", ENTRY_FORMAT_VERSION);
  return readEntryBody(reader);
}

function entryBodyBytes(entry: Entry): number {
  return varintBytes(entry.term) + varintBytes(entry.index) + 1 + bytesFieldBytes(entry.data);
}

function writeEntryBody(writer: BinaryWriter, entry: Entry): void {
  if (entry.type !== EntryType.Normal && entry.type !== EntryType.ConfChange) {
    throw new InvariantError(`cannot encode unknown entry type ${entry.type}`);
  }
  writer.writeVarint(entry.term);
  writer.writeVarint(entry.index);
  writer.writeByte(entry.type);
  writer.writeBytes(entry.data);
}

function readEntryBody(reader: BinaryReader): Entry {
  const term = reader.readVarint("entry term");
  const index = reader.readVarint("entry index");
  const type = reader.readByte("entry type");
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
    throw new CodecError(`unknown entry type ${type}`);
  }
  const data = reader.readBytes("entry data");
  return { term, index, type, data };
}

// ---------------------------------------------------------------------------------------------
// Conf changes

export function encodeConfChange(change: ConfChange): Uint8Array {
  if (!isConfChangeType(change.type)) {
    throw new InvariantError(`cannot encode unknown conf change type ${change.type}`);
  }
  const sizeBytes = 2 + stringFieldBytes(change.nodeId);
  const writer = new BinaryWriter(sizeBytes);
  writer.writeByte(CONF_CHANGE_FORMAT_VERSION);
  writer.writeByte(change.type);
  writer.writeString(change.nodeId);
  return finishExact(writer, sizeBytes, "conf change");
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const reader = new BinaryReader(bytes);
  readVersion(reader, "conf change", CONF_CHANGE_FORMAT_VERSION);
  const type = reader.readByte("conf change type");
  if (!isConfChangeType(type)) throw new CodecError(`unknown conf change type ${type}`);
  const nodeId = reader.readString("node id", DEFAULT_DECODE_LIMITS.maxNodeIdBytes);
  reader.expectEnd("conf change");
  return { type, nodeId };
}

function isConfChangeType(type: number): type is ConfChangeType {
  return type === ConfChangeType.AddVoter || type === ConfChangeType.AddLearner || type === ConfChangeType.RemoveNode;
}

// ---------------------------------------------------------------------------------------------
// Hard state

export function encodeHardState(state: HardState): Uint8Array {
  const sizeBytes = 1 + varintBytes(state.term) + stringFieldBytes(state.vote) + varintBytes(state.commit);
  const writer = new BinaryWriter(sizeBytes);
  writer.writeByte(HARD_STATE_FORMAT_VERSION);
  writer.writeVarint(state.term);
  writer.writeString(state.vote);
  writer.writeVarint(state.commit);
  return finishExact(writer, sizeBytes, "hard state");
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const reader = new BinaryReader(bytes);
  readVersion(reader, "hard state", HARD_STATE_FORMAT_VERSION);
  const term = reader.readVarint("term");
  const vote = reader.readString("node id", DEFAULT_DECODE_LIMITS.maxNodeIdBytes);
  const commit = reader.readVarint("commit");
  reader.expectEnd("hard state");
  return { term, vote, commit };
}

// ---------------------------------------------------------------------------------------------
// Snapshot metadata

export function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array {
  const sizeBytes = 1 + snapshotMetadataBodyBytes(metadata);
  const writer = new BinaryWriter(sizeBytes);
  writer.writeByte(SNAPSHOT_METADATA_FORMAT_VERSION);
  writeSnapshotMetadataBody(writer, metadata);
  return finishExact(writer, sizeBytes, "snapshot metadata");
}

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  const reader = new BinaryReader(bytes);
  readVersion(reader, "snapshot metadata", SNAPSHOT_METADATA_FORMAT_VERSION);
  const metadata = readSnapshotMetadataBody(reader, DEFAULT_DECODE_LIMITS.maxNodeIdBytes);
  reader.expectEnd("snapshot metadata");
  return metadata;
}

function snapshotMetadataBodyBytes(metadata: SnapshotMetadata): number {
  const { voters, learners } = metadata.confState;
  let total = varintBytes(metadata.index) + varintBytes(metadata.term);
  total += varintBytes(voters.length) + varintBytes(learners.length);
  for (const id of voters) total += stringFieldBytes(id);
  for (const id of learners) total += stringFieldBytes(id);
  return total;
}

function writeSnapshotMetadataBody(writer: BinaryWriter, metadata: SnapshotMetadata): void {
  writer.writeVarint(metadata.index);
  writer.writeVarint(metadata.term);
  writeMembers(writer, "voters", metadata.confState.voters);
  writeMembers(writer, "learners", metadata.confState.learners);
}

function readSnapshotMetadataBody(reader: BinaryReader, maxNodeIdBytes: number): SnapshotMetadata {
  const index = reader.readVarint("snapshot index");
  const term = reader.readVarint("snapshot term");
  const voters = readMembers(reader, "voter count", maxNodeIdBytes);
  const learners = readMembers(reader, "learner count", maxNodeIdBytes);
  const confState: ConfState = { voters, learners };
  return { index, term, confState };
}

function writeMembers(writer: BinaryWriter, field: string, members: readonly NodeId[]): void {
  // Refuse to write what every decoder would refuse to read.
  if (members.length > MAX_CONF_STATE_MEMBERS) {
    throw new InvariantError(`cannot encode ${members.length} ${field}: more than ${MAX_CONF_STATE_MEMBERS}`);
  }
  writer.writeVarint(members.length);
  for (const id of members) writer.writeString(id);
}

function readMembers(reader: BinaryReader, field: string, maxNodeIdBytes: number): NodeId[] {
  const count = reader.readCount(field, MAX_CONF_STATE_MEMBERS, "MAX_CONF_STATE_MEMBERS", MIN_NODE_ID_BYTES);
  const members: NodeId[] = [];
  for (let i = 0; i < count; i++) members.push(reader.readString("node id", maxNodeIdBytes));
  return members;
}

// ---------------------------------------------------------------------------------------------
// Shared

function readVersion(reader: BinaryReader, what: string, expected: number): void {
  const version = reader.readByte(`${what} format version`);
  if (version !== expected) {
    throw new CodecError(`unknown ${what} format version ${version} (this node reads version ${expected})`);
  }
}

/** The size functions and the writers must agree; a mismatch is a bug in this file. */
function finishExact(writer: BinaryWriter, expectedBytes: number, what: string): Uint8Array {
  if (writer.length !== expectedBytes) {
    throw new InvariantError(`${what} encoded to ${writer.length} bytes, expected ${expectedBytes}`);
  }
  return writer.finish();
}
