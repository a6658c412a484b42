// What an owner remembers about the operations it was sent: which ids it ran and what its BMC
// answered, and the newest PoC term it has seen. Pure (the caller gives the time and persists the
// snapshot before running anything), so the rule "never run an id twice, never run for a stale
// PoC" is the same in the agent and in the tests' simulated cluster.
import Type from "typebox";
import Value from "typebox/value";
import {
  OPERATION_RESULT_TEXT_MAX_BYTES,
  type OperationResult,
  OWNER_LEDGER_KEEP_MS,
  OWNER_LEDGER_MAX,
  type OwnerAnswer,
} from "./operation-types.ts";

export interface OwnerLedgerEntry {
  readonly id: string;
  readonly state: "running" | "executed" | "unknown";
  readonly result: OperationResult | null;
  readonly atMs: number;
}

export interface OwnerLedgerSnapshot {
  readonly newestTerm: number;
  readonly entries: readonly OwnerLedgerEntry[];
}

export type OwnerDecision = { readonly kind: "run" } | { readonly kind: "answer"; readonly answer: OwnerAnswer };

const closed = { additionalProperties: false } as const;
const TimeMs = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const SHORT = Type.String({ maxLength: 4_096 });
const ResultSchema = Type.Object(
  {
    statusCode: Type.Integer({ minimum: 100, maximum: 599 }),
    headers: Type.Object(
      {
        location: Type.Optional(SHORT),
        etag: Type.Optional(SHORT),
        "retry-after": Type.Optional(SHORT),
        link: Type.Optional(SHORT),
        "content-type": Type.Optional(SHORT),
      },
      closed,
    ),
    text: Type.String({ maxLength: OPERATION_RESULT_TEXT_MAX_BYTES }),
    truncated: Type.Boolean(),
  },
  closed,
);
const SNAPSHOT_SCHEMA = Type.Object(
  {
    newestTerm: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    entries: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64 }),
          state: Type.Union([Type.Literal("running"), Type.Literal("executed"), Type.Literal("unknown")]),
          result: Type.Union([ResultSchema, Type.Null()]),
          atMs: TimeMs,
        },
        closed,
      ),
      { maxItems: OWNER_LEDGER_MAX },
    ),
  },
  closed,
);

export class OwnerLedger {
  #newestTerm = 0;
  /** In the order entries were last changed (oldest first). */
  readonly #entries = new Map<string, OwnerLedgerEntry>();

  /** Entries still "running" in a restored snapshot become "unknown" (the owner restarted mid-run). */
  constructor(snapshot?: OwnerLedgerSnapshot) {
    if (snapshot === undefined) return;
    const parsed = OwnerLedger.parse(snapshot);
    this.#newestTerm = parsed.newestTerm;
    for (const entry of [...parsed.entries].sort((a, b) => a.atMs - b.atMs)) {
      this.#entries.set(
        entry.id,
        Object.freeze({ ...entry, state: entry.state === "running" ? "unknown" : entry.state }),
      );
    }
  }

  /** Strict: throws a TypeError naming the first problem. */
  static parse(json: unknown): OwnerLedgerSnapshot {
    if (!Value.Check(SNAPSHOT_SCHEMA, json)) {
      const first = [...Value.Errors(SNAPSHOT_SCHEMA, json)][0];
      throw new TypeError(`owner ledger: ${first ? `${first.instancePath || "(root)"} ${first.message}` : "invalid"}`);
    }
    const ids = new Set<string>();
    for (const entry of json.entries) {
      if (ids.has(entry.id)) throw new TypeError(`owner ledger: entry ${entry.id} appears twice`);
      ids.add(entry.id);
      if ((entry.state === "executed") !== (entry.result !== null)) {
        throw new TypeError(
          `owner ledger: entry ${entry.id} is ${entry.state} with${entry.result ? "" : "out"} a result`,
        );
      }
    }
    return structuredClone(json);
  }

  get newestTerm(): number {
    return this.#newestTerm;
  }

  begin(execution: { operationId: string; term: number }, localTerm: number, nowMs: number): OwnerDecision {
    const fence = Math.max(this.#newestTerm, localTerm);
    if (execution.term < fence) return { kind: "answer", answer: { kind: "stale-term", newestTerm: fence } };
    this.#newestTerm = Math.max(this.#newestTerm, execution.term);
    const known = this.#entries.get(execution.operationId);
    if (known !== undefined) return { kind: "answer", answer: answerFor(known) };
    this.#set({ id: execution.operationId, state: "running", result: null, atMs: nowMs });
    this.#prune(nowMs);
    return { kind: "run" };
  }

  finish(operationId: string, result: OperationResult, nowMs: number): void {
    this.#set({ id: operationId, state: "executed", result: structuredClone(result), atMs: nowMs });
    this.#prune(nowMs);
  }

  finishUnknown(operationId: string, nowMs: number): void {
    this.#set({ id: operationId, state: "unknown", result: null, atMs: nowMs });
    this.#prune(nowMs);
  }

  abandon(operationId: string): void {
    const entry = this.#entries.get(operationId);
    if (entry?.state === "running") this.#entries.delete(operationId);
  }

  status(query: { operationId: string; term: number }, localTerm: number, nowMs: number): OwnerAnswer {
    const fence = Math.max(this.#newestTerm, localTerm);
    // A stale PoC learns nothing it could act on: it is told a newer PoC exists.
    if (query.term < fence) return { kind: "stale-term", newestTerm: fence };
    this.#newestTerm = Math.max(this.#newestTerm, query.term);
    this.#prune(nowMs);
    const known = this.#entries.get(query.operationId);
    return known === undefined ? { kind: "not-executed" } : answerFor(known);
  }

  snapshot(): OwnerLedgerSnapshot {
    return structuredClone({ newestTerm: this.#newestTerm, entries: [...this.#entries.values()] });
  }

  #set(entry: OwnerLedgerEntry): void {
    this.#entries.delete(entry.id);
    this.#entries.set(entry.id, Object.freeze(entry));
  }

  /**
   * Finished entries older than OWNER_LEDGER_KEEP_MS go; beyond OWNER_LEDGER_MAX the oldest
   * finished go first, then (never in practice: that many runs at once) the oldest running.
   */
  #prune(nowMs: number): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.state !== "running" && entry.atMs + OWNER_LEDGER_KEEP_MS < nowMs) this.#entries.delete(entry.id);
    }
    if (this.#entries.size <= OWNER_LEDGER_MAX) return;
    for (const entry of [...this.#entries.values()]) {
      if (this.#entries.size <= OWNER_LEDGER_MAX) return;
      if (entry.state !== "running") this.#entries.delete(entry.id);
    }
    for (const entry of [...this.#entries.values()]) {
      if (this.#entries.size <= OWNER_LEDGER_MAX) return;
      this.#entries.delete(entry.id);
    }
  }
}

function answerFor(entry: OwnerLedgerEntry): OwnerAnswer {
  if (entry.state === "executed" && entry.result !== null)
    return { kind: "executed", result: structuredClone(entry.result) };
  if (entry.state === "running") return { kind: "running" };
  return { kind: "unknown" };
}
