// The simulator's application: a running hash over every applied entry, so two replicas
// that applied different sequences disagree at once, plus the proposal ids it has seen.
// Its snapshot is the hash and index, padded to a few kilobytes so that InstallSnapshot
// needs several chunks.
import { CodecError } from "../../src/errors.ts";
import type { Entry } from "../../src/types.ts";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SNAPSHOT_MAGIC = 0x5e4a11ce;
const SNAPSHOT_HEADER_BYTES = 12;

export const INITIAL_STATE_HASH = FNV_OFFSET;

/** Proposal payloads start with this tag, then the proposal id, then filler. */
const PROPOSAL_TAG = "p:";

export function encodeProposal(proposalId: number, fillerBytes: number): Uint8Array {
  const head = `${PROPOSAL_TAG}${proposalId}:`;
  const data = new Uint8Array(head.length + fillerBytes);
  for (let i = 0; i < head.length; i++) data[i] = head.charCodeAt(i);
  for (let i = 0; i < fillerBytes; i++) data[head.length + i] = (proposalId * 31 + i) & 0x7f;
  return data;
}

/** The proposal id in an entry's data, or undefined for no-ops and membership changes. */
export function proposalIdOf(data: Uint8Array): number | undefined {
  if (data.length < 3 || data[0] !== 0x70 || data[1] !== 0x3a) return undefined;
  let id = 0;
  for (let i = 2; i < data.length; i++) {
    const c = data[i] as number;
    if (c === 0x3a) return id;
    id = id * 10 + (c - 0x30);
  }
  return undefined;
}

/** A short printable identity of an entry: term, type and data. */
export function entryFingerprint(entry: Entry): string {
  return `${entry.term}/${entry.type}/${Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).toString("latin1")}`;
}

export class TinyStateMachine {
  appliedIndex: number;
  hash: number;

  constructor(appliedIndex = 0, hash = INITIAL_STATE_HASH) {
    this.appliedIndex = appliedIndex;
    this.hash = hash;
  }

  apply(entry: Entry): void {
    let h = this.hash;
    h = mixNumber(h, entry.index);
    h = mixNumber(h, entry.term);
    h = mixNumber(h, entry.type);
    for (const byte of entry.data) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
    this.hash = h;
    this.appliedIndex = entry.index;
  }

  /** The snapshot bytes: a header, then `paddingBytes` derived from the hash. */
  snapshot(paddingBytes: number): Uint8Array {
    const data = new Uint8Array(SNAPSHOT_HEADER_BYTES + paddingBytes);
    const view = new DataView(data.buffer);
    view.setUint32(0, SNAPSHOT_MAGIC);
    view.setUint32(4, this.appliedIndex);
    view.setUint32(8, this.hash);
    for (let i = 0; i < paddingBytes; i++) data[SNAPSHOT_HEADER_BYTES + i] = (this.hash >>> (i % 24)) & 0xff;
    return data;
  }

  /** Rebuilds the application from snapshot bytes; empty bytes are the bootstrap snapshot at `index`. */
  static restore(data: Uint8Array, index: number): TinyStateMachine {
    if (data.length === 0) return new TinyStateMachine(index, INITIAL_STATE_HASH);
    if (data.length < SNAPSHOT_HEADER_BYTES) throw new CodecError(`snapshot of ${data.length} bytes is too short`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (view.getUint32(0) !== SNAPSHOT_MAGIC) throw new CodecError("snapshot has the wrong magic number");
    const machine = new TinyStateMachine(view.getUint32(4), view.getUint32(8));
    for (let i = SNAPSHOT_HEADER_BYTES; i < data.length; i++) {
      if (data[i] !== ((machine.hash >>> ((i - SNAPSHOT_HEADER_BYTES) % 24)) & 0xff)) {
        throw new CodecError(`snapshot padding is damaged at byte ${i}`);
      }
    }
    if (machine.appliedIndex !== index) {
      throw new CodecError(`snapshot data is for index ${machine.appliedIndex}, metadata says ${index}`);
    }
    return machine;
  }
}

function mixNumber(hash: number, value: number): number {
  let h = hash;
  for (let shift = 0; shift < 32; shift += 8) h = Math.imul(h ^ ((value >>> shift) & 0xff), FNV_PRIME) >>> 0;
  return h;
}
