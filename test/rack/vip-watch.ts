// Who holds the VIP, at every instant. One `ip -ts monitor address` per namespace reports every
// address added or deleted as the kernel does it (no sampling gap: an overlap of one millisecond is
// seen), and the rack adds what it does itself — a link taken down, an agent frozen with SIGSTOP.
// A namespace *holds* the VIP while the address is on its eth0 and the link is up; a frozen holder
// (its agent stopped, so it cannot let go) is counted apart from a live one, because only a running
// agent can be asked to release.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { run } from "./network.ts";
import { raiseObserver } from "./observer-priority.ts";

export type VipEventKind = "vip-add" | "vip-del" | "link-down" | "link-up" | "frozen" | "thawed";

export interface VipEvent {
  readonly atMs: number;
  readonly namespace: string;
  readonly kind: VipEventKind;
}

export interface Overlap {
  readonly fromMs: number;
  readonly toMs: number;
  readonly holders: readonly string[];
}

/** Bound on the events kept (a long chaos run claims the VIP a few thousand times at most). */
export const VIP_EVENTS_MAX = 100_000;

/** A monitor killed with its namespace's processes is started again after this long. */
const MONITOR_RESTART_DELAY_MS = 20;
/** Bound on restarts over a whole run (a few per BMC-death fault). */
const MONITOR_RESTARTS_MAX = 10_000;

/** `[2026-11-24T02:10:00.123456]` -> epoch ms (local time, as `ip -ts` prints it). */
function parseTimestamp(text: string): number | undefined {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\]/.exec(text);
  if (match === null) return undefined;
  const base = new Date(`${match[1]}`).getTime();
  return base + Number(match[2]) / 1000;
}

export class VipWatch {
  readonly events: VipEvent[] = [];
  private readonly monitors = new Set<ChildProcess>();
  private stopped = false;
  private restarts = 0;
  /** What `ip -o addr` prints for the VIP on an interface. */
  private readonly vipNeedle: string;

  constructor(vip: string) {
    this.vipNeedle = ` inet ${vip}/`;
  }

  /**
   * Starts watching `namespace`, recording whether it holds the VIP right now. The monitor runs in
   * the namespace, so a fault that kills every process there (a BMC death) kills it too: it is
   * started again at once and the address's state read afresh.
   */
  watch(namespace: string): void {
    const holdsNow = () => this.holdsNow(namespace);
    const start = (): void => {
      const child = spawn("ip", ["-n", namespace, "-ts", "-o", "monitor", "address"], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      raiseObserver(child.pid);
      this.monitors.add(child);
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on("line", (line) => {
        if (!line.includes(this.vipNeedle)) return;
        const atMs = parseTimestamp(line) ?? Date.now();
        this.record({ atMs, namespace, kind: line.includes("] Deleted ") ? "vip-del" : "vip-add" });
      });
      child.once("exit", () => {
        this.monitors.delete(child);
        if (this.stopped) return;
        if (this.restarts++ >= MONITOR_RESTARTS_MAX) throw new Error(`ip monitor in ${namespace} keeps dying`);
        setTimeout(() => {
          if (this.stopped) return;
          start();
          this.reconcile(namespace, holdsNow());
        }, MONITOR_RESTART_DELAY_MS);
      });
    };
    start();
    this.reconcile(namespace, holdsNow());
  }

  /** Whether the namespace's eth0 has the VIP right now (read, not from the events). */
  private holdsNow(namespace: string): boolean {
    return run(["ip", "-n", namespace, "-o", "addr", "show", "dev", "eth0"], { allowFail: true }).includes(
      this.vipNeedle,
    );
  }

  /**
   * The rack brought the namespace's link up again. What it holds is read first: an address the
   * rack removed while the link was down (a dead BMC's VIP) is gone before the link is up, even
   * when its monitor, killed with the BMC's processes, did not see it go.
   */
  linkUp(namespace: string): void {
    this.reconcile(namespace, this.holdsNow(namespace));
    this.record({ atMs: Date.now(), namespace, kind: "link-up" });
  }

  /** Records the difference between what the events say and what the namespace holds now. */
  private reconcile(namespace: string, holds: boolean): void {
    const state = this.replay(Number.POSITIVE_INFINITY).get(namespace);
    const recorded = state?.hasVip ?? false;
    if (holds !== recorded) this.record({ atMs: Date.now(), namespace, kind: holds ? "vip-add" : "vip-del" });
  }

  record(event: VipEvent): void {
    if (this.events.length >= VIP_EVENTS_MAX) throw new Error(`more than ${VIP_EVENTS_MAX} VIP events`);
    this.events.push(event);
  }

  /** Namespaces holding the VIP now (address on a link that is up), frozen ones included. */
  holdersNow(): { live: string[]; frozen: string[] } {
    const state = this.replay(Number.POSITIVE_INFINITY);
    const live: string[] = [];
    const frozen: string[] = [];
    for (const [namespace, s] of state) {
      if (!s.hasVip || !s.linkUp) continue;
      (s.frozen ? frozen : live).push(namespace);
    }
    return { live, frozen };
  }

  /**
   * When a namespace other than `except` next added the VIP at or after `atMs`: the moment the VIP
   * moved after a fault, whatever the console could read through it. Undefined while none has.
   */
  claimedAfter(atMs: number, except: string): number | undefined {
    return this.sorted().find((event) => event.atMs >= atMs && event.kind === "vip-add" && event.namespace !== except)
      ?.atMs;
  }

  private replay(untilMs: number): Map<string, { hasVip: boolean; linkUp: boolean; frozen: boolean }> {
    const state = new Map<string, { hasVip: boolean; linkUp: boolean; frozen: boolean }>();
    for (const event of this.sorted()) {
      if (event.atMs > untilMs) break;
      const s = state.get(event.namespace) ?? { hasVip: false, linkUp: true, frozen: false };
      applyEvent(s, event.kind);
      state.set(event.namespace, s);
    }
    return state;
  }

  private sorted(): VipEvent[] {
    return [...this.events].sort((a, b) => a.atMs - b.atMs);
  }

  /**
   * Every interval in which two or more namespaces held the VIP. `live`: counting only holders
   * whose agent runs; `all`: frozen holders too.
   */
  overlaps(kind: "live" | "all"): Overlap[] {
    const state = new Map<string, { hasVip: boolean; linkUp: boolean; frozen: boolean }>();
    const result: Overlap[] = [];
    let open: { fromMs: number; holders: string[] } | undefined;
    const holders = (): string[] =>
      [...state.entries()]
        .filter(([, s]) => s.hasVip && s.linkUp && (kind === "all" || !s.frozen))
        .map(([namespace]) => namespace)
        .sort();
    for (const event of this.sorted()) {
      const s = state.get(event.namespace) ?? { hasVip: false, linkUp: true, frozen: false };
      applyEvent(s, event.kind);
      state.set(event.namespace, s);
      const now = holders();
      if (now.length >= 2 && open === undefined) open = { fromMs: event.atMs, holders: now };
      else if (now.length >= 2 && open !== undefined) open.holders = [...new Set([...open.holders, ...now])].sort();
      else if (now.length < 2 && open !== undefined) {
        result.push({ fromMs: open.fromMs, toMs: event.atMs, holders: open.holders });
        open = undefined;
      }
    }
    if (open !== undefined) result.push({ fromMs: open.fromMs, toMs: Date.now(), holders: open.holders });
    return result;
  }

  /** Total time with two or more holders. */
  overlapMs(kind: "live" | "all"): number {
    return this.overlaps(kind).reduce((sum, overlap) => sum + (overlap.toMs - overlap.fromMs), 0);
  }

  stop(): void {
    this.stopped = true;
    for (const monitor of this.monitors) monitor.kill("SIGKILL");
  }
}

function applyEvent(s: { hasVip: boolean; linkUp: boolean; frozen: boolean }, kind: VipEventKind): void {
  if (kind === "vip-add") s.hasVip = true;
  else if (kind === "vip-del") s.hasVip = false;
  else if (kind === "link-down") s.linkUp = false;
  else if (kind === "link-up") s.linkUp = true;
  else if (kind === "frozen") s.frozen = true;
  else s.frozen = false;
}
