// The console probe: a process in the console namespace polling the VIP (console-probe-main.ts),
// whose lines are collected here. `gaps()` turns the record into outages: each run of failed
// attempts, from the last success before it to the first success after it, by the time each
// attempt started (attempts overlap; lines arrive in the order attempts finish).
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { raiseObserver } from "./observer-priority.ts";

const MAIN = resolve(import.meta.dirname, "console-probe-main.ts");
/** Console poll period (issue 6: every 20 ms). */
export const PROBE_INTERVAL_MS = 20;
/** Deadline of one attempt. */
export const PROBE_TIMEOUT_MS = 1_000;
/** Bound on the attempts kept (about 3 hours at 20 ms). */
export const PROBE_RECORDS_MAX = 500_000;

export interface ProbeRecord {
  readonly atMs: number;
  readonly ok: boolean;
  readonly status: number;
  readonly ms: number;
  readonly node?: string | null;
}

export interface Gap {
  /** The last success before the failures (or the first failure if none). */
  readonly fromMs: number;
  /** The first success after them. */
  readonly toMs: number;
  readonly failures: number;
}

/**
 * The console's outage around a fault at `atMs`, by when answers arrived: from the last answer
 * received before the fault to the first answer to a request made at or after it. A request made
 * during the outage can wait in the console's neighbour (ARP) queue and be answered once the VIP
 * has moved: it succeeds, late, and counting failed attempts alone would call that no outage at
 * all. Undefined until such an answer has arrived.
 */
export function outageAround(records: readonly ProbeRecord[], atMs: number): number | undefined {
  let lastBeforeMs = Number.NEGATIVE_INFINITY;
  let firstAfterMs = Number.POSITIVE_INFINITY;
  for (const record of records) {
    if (!record.ok) continue;
    const answeredMs = record.atMs + record.ms;
    if (record.atMs >= atMs) firstAfterMs = Math.min(firstAfterMs, answeredMs);
    else if (answeredMs <= atMs) lastBeforeMs = Math.max(lastBeforeMs, answeredMs);
  }
  if (firstAfterMs === Number.POSITIVE_INFINITY) return undefined;
  return firstAfterMs - (lastBeforeMs === Number.NEGATIVE_INFINITY ? atMs : lastBeforeMs);
}

export class ConsoleProbe {
  readonly records: ProbeRecord[] = [];
  private readonly child: ChildProcess;

  constructor(namespace: string, url: string, token?: string) {
    this.child = spawn(
      "ip",
      [
        "netns",
        "exec",
        namespace,
        process.execPath,
        MAIN,
        url,
        String(PROBE_INTERVAL_MS),
        String(PROBE_TIMEOUT_MS),
        token ?? "",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // A console runs on a machine of its own: here it must not wait for CPU behind the rack.
    raiseObserver(this.child.pid);
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      if (this.records.length >= PROBE_RECORDS_MAX) this.records.shift();
      try {
        this.records.push(JSON.parse(line) as ProbeRecord);
      } catch {
        // not a probe line
      }
    });
  }

  /** Records from `fromMs` on. */
  since(fromMs: number): ProbeRecord[] {
    return this.records.filter((record) => record.atMs >= fromMs);
  }

  /** The last record's time, or 0. */
  lastAtMs(): number {
    return this.records.at(-1)?.atMs ?? 0;
  }

  /** Every outage seen from `fromMs` on; an outage still going on ends at `Date.now()`. */
  gaps(fromMs = 0): Gap[] {
    const gaps: Gap[] = [];
    let lastOk: number | undefined;
    let open: { fromMs: number; failures: number } | undefined;
    const byStart = [...this.records].sort((a, b) => a.atMs - b.atMs);
    for (const record of byStart) {
      if (record.atMs < fromMs) {
        if (record.ok) lastOk = record.atMs;
        continue;
      }
      if (record.ok) {
        if (open !== undefined) gaps.push({ fromMs: open.fromMs, toMs: record.atMs, failures: open.failures });
        open = undefined;
        lastOk = record.atMs;
      } else if (open === undefined) {
        open = { fromMs: lastOk ?? record.atMs, failures: 1 };
      } else {
        open.failures++;
      }
    }
    if (open !== undefined) gaps.push({ fromMs: open.fromMs, toMs: Date.now(), failures: open.failures });
    return gaps;
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}
