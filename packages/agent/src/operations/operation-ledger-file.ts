// What an owner remembers about the operations it ran (its OwnerLedger), kept on disk so that a
// restarted agent never runs an operation id twice: `<stateDir>/operations/ledger.json`, mode
// 0600, replaced atomically (a temporary file, synced, renamed over the old one, the directory
// synced): a crash leaves the previous file or the new one, never a torn one.
//
// A file that cannot be parsed (a disk fault, a hand edit) is never silently dropped: it is moved
// aside to `ledger.json.corrupt-<ms>` (kept for the operator) and logged, and the owner starts
// with an empty ledger that knows it forgot: for OWNER_LEDGER_KEEP_MS (the longest an id is
// remembered anyway) it answers every id it has no entry for "unknown" and runs none of them.
// Operations sent to this member in that hour fail visibly ("outcome unknown") instead of risking
// a second run of one the lost file recorded. The window is written in the new file, so a restart
// inside it keeps it.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OWNER_LEDGER_KEEP_MS, OwnerLedger, type OwnerLedgerSnapshot } from "@conclave/redfish-facade";

/** The folder under the state directory, and the file in it. */
export const OPERATIONS_DIR = "operations";
export const LEDGER_FILE_NAME = "ledger.json";
/** The file's own format version (the ledger snapshot inside has its own checks). */
export const LEDGER_FILE_VERSION = 1;
/** Largest ledger file read: OWNER_LEDGER_MAX results of 16 KiB each, JSON-escaped, and then some. */
export const LEDGER_FILE_MAX_BYTES = 64 * 1024 * 1024;

export interface LedgerFileContents {
  readonly ledger: OwnerLedgerSnapshot;
  /** Until then (wall clock ms), ids without an entry are "unknown": the previous file was lost. */
  readonly forgetfulUntilMs: number | null;
}

export interface LoadedLedgerFile {
  /** Undefined when there was no file (a first start) or it was moved aside. */
  readonly ledger: OwnerLedgerSnapshot | undefined;
  readonly forgetfulUntilMs: number | null;
  /** Where a corrupt file was moved, and why it was refused. */
  readonly quarantined?: { readonly file: string; readonly problem: string };
}

/** The ledger file cannot be read or written (permissions, disk): named in the message. */
export class OperationLedgerFileError extends Error {
  readonly code = "AGENT_ERR_OPERATION_LEDGER";
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`operation ledger ${file}: ${message}`, options);
    this.name = "OperationLedgerFileError";
    this.file = file;
  }
}

export function ledgerFileOf(stateDir: string): string {
  return join(stateDir, OPERATIONS_DIR, LEDGER_FILE_NAME);
}

/**
 * Reads the ledger file at start-up. A missing file is a first start; a file that does not parse
 * is moved aside (see the header); one that cannot be read at all throws OperationLedgerFileError.
 */
export function loadLedgerFile(file: string, nowMs: number): LoadedLedgerFile {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) return { ledger: undefined, forgetfulUntilMs: null };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new OperationLedgerFileError(file, `cannot be read (${String(error)})`, { cause: error });
  }
  try {
    return parseLedgerFile(text);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    const moved = `${file}.corrupt-${nowMs}`;
    try {
      renameSync(file, moved);
    } catch (renameError) {
      throw new OperationLedgerFileError(
        file,
        `is corrupt (${problem}) and cannot be moved aside (${String(renameError)})`,
        { cause: renameError },
      );
    }
    return { ledger: undefined, forgetfulUntilMs: nowMs + OWNER_LEDGER_KEEP_MS, quarantined: { file: moved, problem } };
  }
}

/** Strict: throws naming what is wrong. */
export function parseLedgerFile(text: string): LoadedLedgerFile {
  if (Buffer.byteLength(text) > LEDGER_FILE_MAX_BYTES) throw new TypeError(`over ${LEDGER_FILE_MAX_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new TypeError("not an object");
  const input = value as Record<string, unknown>;
  const unknownKeys = Object.keys(input).filter((key) => !["version", "ledger", "forgetfulUntilMs"].includes(key));
  if (unknownKeys.length > 0) throw new TypeError(`unknown keys ${unknownKeys.join(", ")}`);
  if (input.version !== LEDGER_FILE_VERSION) {
    throw new TypeError(`version ${JSON.stringify(input.version)} is not ${LEDGER_FILE_VERSION}`);
  }
  const forgetfulUntilMs = input.forgetfulUntilMs;
  if (forgetfulUntilMs !== null && (typeof forgetfulUntilMs !== "number" || !Number.isFinite(forgetfulUntilMs))) {
    throw new TypeError("forgetfulUntilMs is neither null nor a time");
  }
  return { ledger: OwnerLedger.parse(input.ledger), forgetfulUntilMs };
}

export function formatLedgerFile(contents: LedgerFileContents): string {
  return `${JSON.stringify({ version: LEDGER_FILE_VERSION, ledger: contents.ledger, forgetfulUntilMs: contents.forgetfulUntilMs })}\n`;
}

/**
 * Writes the ledger file, one write at a time. `save()` resolves once a write that started after
 * the call is on disk (the contents are read when the write starts, so concurrent callers share
 * one write that holds all their changes).
 */
export class LedgerFileWriter {
  readonly file: string;
  readonly #contents: () => LedgerFileContents;
  #tail: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  constructor(file: string, contents: () => LedgerFileContents) {
    this.file = file;
    this.#contents = contents;
  }

  save(): Promise<void> {
    this.#queued ??= this.#tail.then(() => {
      this.#queued = undefined;
      return writeLedgerFile(this.file, this.#contents());
    });
    const write = this.#queued;
    this.#tail = write.catch(() => undefined);
    return write;
  }
}

/** Replaces `file` atomically with `contents`, mode 0600. Throws OperationLedgerFileError. */
export async function writeLedgerFile(file: string, contents: LedgerFileContents): Promise<void> {
  const directory = dirname(file);
  const temporary = join(directory, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(formatLedgerFile(contents));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    const dirHandle = await open(directory, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new OperationLedgerFileError(file, `cannot be written (${String(error)})`, { cause: error });
  }
}
