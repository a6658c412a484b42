// The in-memory log both storages serve reads from: the entries after a base (the
// compaction point, whose term is kept so term(firstIndex - 1) still answers, which the
// core needs to send an append right after the snapshot). FileStorage keeps every entry
// after the base in memory too; the embedder's snapshot policy bounds how many there are.
import { CompactedError, InvariantError, UnavailableError } from "../errors.ts";
import type { Entry } from "../types.ts";

export class EntryLog {
  private base: number;
  private baseEntryTerm: number;
  private items: Entry[];

  constructor(baseIndex = 0, baseTerm = 0, entries: Entry[] = []) {
    this.base = baseIndex;
    this.baseEntryTerm = baseTerm;
    this.items = entries;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.index !== baseIndex + 1 + i) {
        throw new InvariantError(
          `entry at position ${i} has index ${entries[i]!.index}, expected ${baseIndex + 1 + i}`,
        );
      }
    }
  }

  get baseIndex(): number {
    return this.base;
  }

  get baseTerm(): number {
    return this.baseEntryTerm;
  }

  firstIndex(): number {
    return this.base + 1;
  }

  lastIndex(): number {
    return this.base + this.items.length;
  }

  term(index: number): number {
    if (index < this.base) throw new CompactedError(index, this.base + 1);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return index === this.base ? this.baseEntryTerm : this.items[index - this.base - 1]!.term;
  }

  /** True when the log holds `index` (or has it as its base) with `term`. */
  matches(index: number, term: number): boolean {
    return index >= this.base && index <= this.lastIndex() && this.term(index) === term;
  }

  /** Entries in [lo, hi): at least one, then no more than maxBytes of data in total. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > hi) throw new InvariantError(`entries(${lo}, ${hi}): lo is after hi`);
    if (lo <= this.base) throw new CompactedError(lo, this.base + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.items[index - this.base - 1]!;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Appends consecutive entries starting in [firstIndex, lastIndex + 1], replacing any stored from there on. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    if (first.index <= this.base || first.index > this.lastIndex() + 1) {
      throw new InvariantError(`cannot append at ${first.index} to a log of (${this.base}, ${this.lastIndex()}]`);
    }
    this.items.length = first.index - this.base - 1;
    for (const entry of entries) this.items.push(entry);
  }

  /** Drops the entries up to `index` (which must be in [baseIndex, lastIndex]). */
  compact(index: number): void {
    if (index < this.base || index > this.lastIndex()) {
      throw new InvariantError(`cannot compact to ${index}: the log holds (${this.base}, ${this.lastIndex()}]`);
    }
    if (index === this.base) return;
    this.baseEntryTerm = this.term(index);
    this.items = this.items.slice(index - this.base);
    this.base = index;
  }

  /** Replaces the whole log with an empty one based at (index, term): an installed snapshot. */
  reset(index: number, term: number): void {
    this.base = index;
    this.baseEntryTerm = term;
    this.items = [];
  }
}
