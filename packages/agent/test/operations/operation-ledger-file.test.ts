// Proves the owner's ledger file: written with mode 0600 and atomically (no temporary file left, the previous contents intact when a write fails), concurrent saves share writes and each resolves with its change on disk, a restart turns running entries into unknown, and a corrupt file is moved aside (never dropped) and starts a forgetful window that a restart keeps.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { OWNER_LEDGER_KEEP_MS, OwnerLedger } from "@conclave/redfish-facade";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  LedgerFileWriter,
  ledgerFileOf,
  loadLedgerFile,
  OperationLedgerFileError,
  writeLedgerFile,
} from "../../src/operations/operation-ledger-file.ts";

const T0 = 1_700_000_000_000;
const RESULT = { statusCode: 204, headers: {}, text: "", truncated: false };
let stateDir: string;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), "conclave-ledger-"));
});
afterEach(() => {
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the ledger file", () => {
  it("starts empty, then writes mode 0600 atomically, leaving no temporary file", async () => {
    const file = ledgerFileOf(stateDir);
    expect(file).toBe(join(stateDir, "operations", "ledger.json"));
    expect(loadLedgerFile(file, T0)).toEqual({ ledger: undefined, forgetfulUntilMs: null });
    const ledger = new OwnerLedger();
    expect(ledger.begin({ operationId: "op-0000000000000001", term: 4 }, 3, T0)).toEqual({ kind: "run" });
    await writeLedgerFile(file, { ledger: ledger.snapshot(), forgetfulUntilMs: null });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dirname(file))).toEqual(["ledger.json"]);
    expect(loadLedgerFile(file, T0).ledger).toEqual(ledger.snapshot());
  });

  it("keeps the previous file whole when a write fails, and says which file", async () => {
    const file = ledgerFileOf(stateDir);
    loadLedgerFile(file, T0);
    const ledger = new OwnerLedger();
    ledger.begin({ operationId: "op-0000000000000001", term: 1 }, 0, T0);
    ledger.finish("op-0000000000000001", RESULT, T0 + 1);
    await writeLedgerFile(file, { ledger: ledger.snapshot(), forgetfulUntilMs: null });
    const before = readFileSync(file, "utf8");
    // A write that fails half-way (here: contents that cannot be serialised, after the temporary
    // file was created) leaves the previous file as it was and no temporary file behind.
    const unwritable = { newestTerm: 1n, entries: [] } as unknown as ReturnType<OwnerLedger["snapshot"]>;
    const failed = await writeLedgerFile(file, { ledger: unwritable, forgetfulUntilMs: null }).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(OperationLedgerFileError);
    expect((failed as Error).message).toContain(file);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(readdirSync(dirname(file))).toEqual(["ledger.json"]);
  });

  it("shares a write between concurrent saves, each resolving with its own change on disk", async () => {
    const file = ledgerFileOf(stateDir);
    loadLedgerFile(file, T0);
    const ledger = new OwnerLedger();
    const writer = new LedgerFileWriter(file, () => ({ ledger: ledger.snapshot(), forgetfulUntilMs: null }));
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 5; i++) {
      const id = `op-000000000000000${i}`;
      ledger.begin({ operationId: id, term: 1 }, 0, T0 + i);
      saves.push(
        writer.save().then(() => {
          const onDisk = loadLedgerFile(file, T0).ledger;
          expect(onDisk?.entries.map((entry) => entry.id)).toContain(id);
        }),
      );
    }
    await Promise.all(saves);
    expect(loadLedgerFile(file, T0).ledger?.entries).toHaveLength(5);
  });

  it("after a restart, an entry that was running is unknown, never run again", async () => {
    const file = ledgerFileOf(stateDir);
    loadLedgerFile(file, T0);
    const ledger = new OwnerLedger();
    ledger.begin({ operationId: "op-00000000000000aa", term: 2 }, 0, T0);
    await writeLedgerFile(file, { ledger: ledger.snapshot(), forgetfulUntilMs: null });
    // The process dies here, before finish(): the file says running.
    const restarted = new OwnerLedger(loadLedgerFile(file, T0 + 10).ledger);
    expect(restarted.begin({ operationId: "op-00000000000000aa", term: 2 }, 2, T0 + 20)).toEqual({
      kind: "answer",
      answer: { kind: "unknown" },
    });
    expect(restarted.newestTerm).toBe(2);
  });

  it("moves a corrupt file aside, naming it, and starts a forgetful window that a restart keeps", async () => {
    const file = ledgerFileOf(stateDir);
    loadLedgerFile(file, T0);
    writeFileSync(file, '{"version":1,"ledger":{"newestTerm":3,"entries":[{"id":', { mode: 0o600 });
    const loaded = loadLedgerFile(file, T0);
    expect(loaded.ledger).toBeUndefined();
    expect(loaded.forgetfulUntilMs).toBe(T0 + OWNER_LEDGER_KEEP_MS);
    expect(loaded.quarantined?.file).toBe(`${file}.corrupt-${T0}`);
    expect(loaded.quarantined?.problem).toMatch(/not JSON/);
    expect(readFileSync(`${file}.corrupt-${T0}`, "utf8")).toContain('"newestTerm":3');
    expect(existsSync(file)).toBe(false);

    await writeLedgerFile(file, { ledger: new OwnerLedger().snapshot(), forgetfulUntilMs: loaded.forgetfulUntilMs });
    expect(loadLedgerFile(file, T0 + 1).forgetfulUntilMs).toBe(T0 + OWNER_LEDGER_KEEP_MS);

    // Well-formed JSON that is not a ledger is corrupt too.
    writeFileSync(
      file,
      JSON.stringify({ version: 1, ledger: { newestTerm: -1, entries: [] }, forgetfulUntilMs: null }),
    );
    expect(loadLedgerFile(file, T0 + 2).quarantined?.problem).toMatch(/newestTerm/);
    writeFileSync(file, JSON.stringify({ version: 2, ledger: { newestTerm: 1, entries: [] }, forgetfulUntilMs: null }));
    expect(loadLedgerFile(file, T0 + 3).quarantined?.problem).toMatch(/version 2/);
    expect(readdirSync(dirname(file)).filter((name) => name.includes(".corrupt-"))).toHaveLength(3);
  });
});
