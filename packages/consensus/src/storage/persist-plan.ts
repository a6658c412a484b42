// Checks one persist() (or createSnapshot()) against the current state before anything is
// written, and works out exactly what must change. Both storages share it, so they accept
// and reject the same updates; FileStorage relies on it to never fail half-way for a
// reason it could have seen up front.
import { InvariantError, SnapshotOutOfDateError, UnavailableError } from "../errors.ts";
import type { PersistUpdate } from "../storage.ts";
import type { Entry, HardState, SnapshotChunk, SnapshotMetadata } from "../types.ts";
import type { EntryLog } from "./entry-log.ts";

/** An InstallSnapshot transfer in progress (or complete, awaiting installSnapshot). */
export interface IncomingSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly totalBytes: number;
  readonly nextOffset: number;
}

export interface PersistView {
  readonly log: EntryLog;
  readonly snapshotIndex: number;
  readonly hardState: HardState;
  readonly incoming: IncomingSnapshot | undefined;
}

export interface PlannedChunk {
  readonly chunk: SnapshotChunk;
  /** Offset 0: any transfer in progress is abandoned and this one starts over. */
  readonly restart: boolean;
}

export interface PersistPlan {
  readonly chunks: readonly PlannedChunk[];
  /** The transfer after the chunks are written (undefined once installed). */
  readonly incoming: IncomingSnapshot | undefined;
  /** The snapshot to install: it replaces the whole log. */
  readonly install: SnapshotMetadata | undefined;
  /** Entries to append (after the install, if any), without those the snapshot covers. */
  readonly entries: readonly Entry[];
  readonly hardState: HardState;
  readonly termOrVoteChanged: boolean;
  readonly commitChanged: boolean;
  /** Nothing to write at all: a heartbeat's Ready. */
  readonly empty: boolean;
}

export function planPersist(view: PersistView, update: PersistUpdate): PersistPlan {
  const { chunks, incoming: afterChunks } = planChunks(view.incoming, update.snapshotChunks);
  let incoming = afterChunks;
  const install = update.installSnapshot;
  let baseIndex = view.log.baseIndex;
  let lastIndex = view.log.lastIndex();
  if (install) {
    if (install.index <= view.snapshotIndex) throw new SnapshotOutOfDateError(install.index, view.snapshotIndex);
    if (
      !incoming ||
      incoming.metadata.index !== install.index ||
      incoming.metadata.term !== install.term ||
      incoming.nextOffset !== incoming.totalBytes
    ) {
      throw new InvariantError(
        `installSnapshot at index ${install.index} (term ${install.term}) before all of its chunks were persisted`,
      );
    }
    incoming = undefined;
    baseIndex = install.index;
    lastIndex = install.index;
  }

  const entries = planEntries(view, update.entries, baseIndex, lastIndex, install !== undefined);
  if (entries.length > 0) lastIndex = entries[entries.length - 1]!.index;

  const current = view.hardState;
  const next = update.hardState ?? current;
  if (next.term < current.term) {
    throw new InvariantError(`hard state term would go back from ${current.term} to ${next.term}`);
  }
  if (next.commit > lastIndex) {
    throw new InvariantError(`commit index ${next.commit} is beyond the last index ${lastIndex}`);
  }
  const termOrVoteChanged = next.term !== current.term || next.vote !== current.vote;
  const commitChanged = next.commit !== current.commit;
  return {
    chunks,
    incoming,
    install,
    entries,
    hardState: next,
    termOrVoteChanged,
    commitChanged,
    empty: chunks.length === 0 && !install && entries.length === 0 && !termOrVoteChanged && !commitChanged,
  };
}

function planChunks(
  current: IncomingSnapshot | undefined,
  chunks: readonly SnapshotChunk[],
): { chunks: PlannedChunk[]; incoming: IncomingSnapshot | undefined } {
  const planned: PlannedChunk[] = [];
  let incoming = current;
  for (const chunk of chunks) {
    const { metadata, offset, totalBytes, data } = chunk;
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0 || offset + data.length > totalBytes) {
      throw new InvariantError(
        `snapshot chunk [${offset}, ${offset + data.length}) does not fit the snapshot's ${totalBytes} bytes`,
      );
    }
    if (chunk.done !== (offset + data.length === totalBytes)) {
      throw new InvariantError(`snapshot chunk at offset ${offset}: done is ${chunk.done} but the bytes say otherwise`);
    }
    const restart = offset === 0;
    if (!restart) {
      // The core accepts only the chunk it expects; anything else reaching storage is a bug.
      const continues =
        incoming !== undefined &&
        incoming.metadata.index === metadata.index &&
        incoming.metadata.term === metadata.term &&
        incoming.totalBytes === totalBytes &&
        incoming.nextOffset === offset;
      if (!continues) {
        throw new InvariantError(
          `snapshot chunk for index ${metadata.index} at offset ${offset} does not continue the transfer in progress` +
            (incoming ? ` (index ${incoming.metadata.index}, next offset ${incoming.nextOffset})` : " (none)"),
        );
      }
    }
    planned.push({ chunk, restart });
    incoming = { metadata, totalBytes, nextOffset: offset + data.length };
  }
  return { chunks: planned, incoming };
}

function planEntries(
  view: PersistView,
  entries: readonly Entry[],
  baseIndex: number,
  lastIndex: number,
  installing: boolean,
): readonly Entry[] {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.index !== entries[i - 1]!.index + 1) {
      throw new InvariantError(`entries are not consecutive: ${entries[i - 1]!.index} then ${entries[i]!.index}`);
    }
  }
  // Entries the snapshot already covers are dropped, as etcd's MemoryStorage does.
  const skip = entries.length > 0 ? Math.max(0, baseIndex + 1 - entries[0]!.index) : 0;
  const kept = skip > 0 ? entries.slice(skip) : entries;
  const first = kept[0];
  if (!first) return kept;
  if (first.index > lastIndex + 1) {
    throw new InvariantError(`entries start at ${first.index} but the log ends at ${lastIndex}: a gap`);
  }
  if (!installing) {
    // Raft never replaces a committed entry; if it is about to, stop before it hits the disk.
    const overlapEnd = Math.min(view.hardState.commit, lastIndex);
    for (const entry of kept) {
      if (entry.index > overlapEnd) break;
      if (view.log.term(entry.index) !== entry.term) {
        throw new InvariantError(
          `entry ${entry.index} (term ${entry.term}) would replace a committed entry of term ${view.log.term(entry.index)}`,
        );
      }
    }
  }
  return kept;
}

export interface SnapshotPlan {
  readonly metadata: SnapshotMetadata;
  /** The log keeps entries after this index. */
  readonly compactIndex: number;
}

export function planCreateSnapshot(
  log: EntryLog,
  snapshotIndex: number,
  index: number,
  confState: SnapshotMetadata["confState"],
  retainEntries: number,
): SnapshotPlan {
  if (!Number.isSafeInteger(retainEntries) || retainEntries < 0) {
    throw new InvariantError(`retainEntries must be a non-negative integer, got ${retainEntries}`);
  }
  if (index <= snapshotIndex) throw new SnapshotOutOfDateError(index, snapshotIndex);
  if (index > log.lastIndex()) throw new UnavailableError(index, log.lastIndex());
  return {
    metadata: { index, term: log.term(index), confState },
    compactIndex: Math.max(log.baseIndex, index - retainEntries),
  };
}

/** Reading outside the snapshot is a caller bug. */
export function checkSnapshotRead(offset: number, maxBytes: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    throw new InvariantError(`snapshot offset ${offset} is outside the snapshot's ${size} bytes`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new InvariantError(`maxBytes must be a positive integer, got ${maxBytes}`);
  }
}
