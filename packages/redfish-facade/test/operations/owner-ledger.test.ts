// OwnerLedger: an owner never runs an id twice, refuses a stale PoC, forgets within its bounds,
// and after a restart treats what was running as unknown.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type OperationResult, OWNER_LEDGER_KEEP_MS, OWNER_LEDGER_MAX, OwnerLedger } from "../../src/index.ts";

const NOW = 1_700_000_000_000;
const RESULT: OperationResult = { statusCode: 204, headers: {}, text: "", truncated: false };

describe("OwnerLedger", () => {
  it("runs an id once; a resend gets running, then the remembered result", () => {
    const ledger = new OwnerLedger();
    expect(ledger.begin({ operationId: "op-1", term: 2 }, 2, NOW)).toEqual({ kind: "run" });
    expect(ledger.begin({ operationId: "op-1", term: 2 }, 2, NOW)).toEqual({
      kind: "answer",
      answer: { kind: "running" },
    });
    ledger.finish("op-1", RESULT, NOW + 1);
    expect(ledger.begin({ operationId: "op-1", term: 3 }, 3, NOW + 2)).toEqual({
      kind: "answer",
      answer: { kind: "executed", result: RESULT },
    });
    expect(ledger.status({ operationId: "op-1", term: 3 }, 3, NOW)).toEqual({ kind: "executed", result: RESULT });
  });

  it("refuses a term older than the newest seen or than its own, and a status query fences", () => {
    const ledger = new OwnerLedger();
    // Its own Raft term is 5: a PoC of term 4 is stale before any newer PoC sent anything.
    expect(ledger.begin({ operationId: "op-1", term: 4 }, 5, NOW)).toEqual({
      kind: "answer",
      answer: { kind: "stale-term", newestTerm: 5 },
    });
    expect(ledger.status({ operationId: "op-2", term: 7 }, 5, NOW)).toEqual({ kind: "not-executed" });
    expect(ledger.newestTerm).toBe(7);
    // The older PoC's send arriving after the new PoC's question is refused, so it never runs.
    expect(ledger.begin({ operationId: "op-2", term: 6 }, 5, NOW)).toEqual({
      kind: "answer",
      answer: { kind: "stale-term", newestTerm: 7 },
    });
    expect(ledger.begin({ operationId: "op-2", term: 7 }, 5, NOW)).toEqual({ kind: "run" });
  });

  it("an unknown outcome is never run again; an abandoned one may run", () => {
    const ledger = new OwnerLedger();
    ledger.begin({ operationId: "op-1", term: 1 }, 1, NOW);
    ledger.finishUnknown("op-1", NOW);
    expect(ledger.begin({ operationId: "op-1", term: 1 }, 1, NOW)).toEqual({
      kind: "answer",
      answer: { kind: "unknown" },
    });
    ledger.begin({ operationId: "op-2", term: 1 }, 1, NOW);
    ledger.abandon("op-2");
    expect(ledger.status({ operationId: "op-2", term: 1 }, 1, NOW)).toEqual({ kind: "not-executed" });
    expect(ledger.begin({ operationId: "op-2", term: 1 }, 1, NOW)).toEqual({ kind: "run" });
  });

  it("a restored snapshot turns running into unknown and keeps the newest term", () => {
    const ledger = new OwnerLedger();
    ledger.begin({ operationId: "op-1", term: 4 }, 4, NOW);
    ledger.begin({ operationId: "op-2", term: 4 }, 4, NOW);
    ledger.finish("op-2", RESULT, NOW);
    const restored = new OwnerLedger(JSON.parse(JSON.stringify(ledger.snapshot())));
    expect(restored.newestTerm).toBe(4);
    expect(restored.status({ operationId: "op-1", term: 4 }, 4, NOW)).toEqual({ kind: "unknown" });
    expect(restored.status({ operationId: "op-2", term: 4 }, 4, NOW)).toEqual({ kind: "executed", result: RESULT });
  });

  it("parses strictly", () => {
    expect(() => OwnerLedger.parse({ newestTerm: 1 })).toThrow(TypeError);
    expect(() => OwnerLedger.parse({ newestTerm: 1, entries: [], more: 1 })).toThrow(TypeError);
    const entry = { id: "op-1", state: "executed", result: null, atMs: NOW };
    expect(() => OwnerLedger.parse({ newestTerm: 1, entries: [entry] })).toThrow(/without a result/);
    const running = { id: "op-1", state: "running", result: null, atMs: NOW };
    expect(() => OwnerLedger.parse({ newestTerm: 1, entries: [running, running] })).toThrow(/twice/);
  });

  it("forgets finished entries after OWNER_LEDGER_KEEP_MS and holds at most OWNER_LEDGER_MAX, oldest finished first", () => {
    const ledger = new OwnerLedger();
    ledger.begin({ operationId: "old", term: 1 }, 1, NOW);
    ledger.finish("old", RESULT, NOW);
    ledger.begin({ operationId: "still-running", term: 1 }, 1, NOW);
    expect(ledger.status({ operationId: "old", term: 1 }, 1, NOW + OWNER_LEDGER_KEEP_MS + 1)).toEqual({
      kind: "not-executed",
    });
    expect(ledger.status({ operationId: "still-running", term: 1 }, 1, NOW + OWNER_LEDGER_KEEP_MS + 1)).toEqual({
      kind: "running",
    });
    for (let n = 0; n < OWNER_LEDGER_MAX + 10; n++) {
      ledger.begin({ operationId: `op-${n}`, term: 1 }, 1, NOW + n);
      ledger.finish(`op-${n}`, RESULT, NOW + n);
    }
    const { entries } = ledger.snapshot();
    expect(entries.length).toBe(OWNER_LEDGER_MAX);
    expect(entries.some((e) => e.id === "still-running")).toBe(true);
    expect(entries.some((e) => e.id === "op-0")).toBe(false);
  });

  it("never answers run twice for one id, whatever the sequence of sends, finishes and restarts", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("begin" as const), id: fc.nat(5), term: fc.nat(4) }),
      fc.record({ kind: fc.constant("finish" as const), id: fc.nat(5) }),
      fc.record({ kind: fc.constant("unknown" as const), id: fc.nat(5) }),
      fc.record({ kind: fc.constant("status" as const), id: fc.nat(5), term: fc.nat(4) }),
      fc.record({ kind: fc.constant("restart" as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let ledger = new OwnerLedger();
        const ran = new Map<number, number>();
        let highest = 0;
        for (const s of steps) {
          if (s.kind === "begin") {
            const decision = ledger.begin({ operationId: `op-${s.id}`, term: s.term }, 0, NOW);
            if (decision.kind === "run") {
              expect(s.term).toBeGreaterThanOrEqual(highest);
              ran.set(s.id, (ran.get(s.id) ?? 0) + 1);
            }
            highest = Math.max(highest, decision.kind === "run" ? s.term : highest);
          } else if (s.kind === "finish") {
            if (ran.has(s.id)) ledger.finish(`op-${s.id}`, RESULT, NOW);
          } else if (s.kind === "unknown") {
            if (ran.has(s.id)) ledger.finishUnknown(`op-${s.id}`, NOW);
          } else if (s.kind === "status") {
            const answer = ledger.status({ operationId: `op-${s.id}`, term: s.term }, 0, NOW);
            if (answer.kind !== "stale-term") highest = Math.max(highest, s.term);
          } else {
            ledger = new OwnerLedger(ledger.snapshot());
          }
        }
        for (const count of ran.values()) expect(count).toBe(1);
      }),
      { numRuns: 200 },
    );
  });
});
