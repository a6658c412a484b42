// The metrics OpenBMC's health-monitor watches, read the same way: CPU from /proc/stat deltas,
// memory from /proc/meminfo's MemAvailable, uptime from /proc/uptime, disk from statfs. Parsers
// are pure (tested against fixture text); readers are the thin I/O the sampler injects.
import { readFile, statfs } from "node:fs/promises";

export interface CpuTimes {
  /** Jiffies spent idle or waiting for I/O. */
  readonly idle: number;
  /** Jiffies in all states (user, nice, system, idle, iowait, irq, softirq, steal). */
  readonly total: number;
}

/** The aggregate `cpu` line of /proc/stat. Guest time is already counted in user and nice. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split("\n").find((candidate) => /^cpu\s/.test(candidate));
  if (line === undefined) throw new Error("/proc/stat has no aggregate cpu line");
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((value) => !Number.isFinite(value))) {
    throw new Error(`/proc/stat cpu line is malformed: ${line}`);
  }
  const [, , , idle = 0, iowait = 0] = fields;
  return { idle: idle + iowait, total: fields.reduce((sum, value) => sum + value, 0) };
}

/** Busy share of the CPU between two readings, 0..100; undefined when no time passed. */
export function cpuPercentBetween(previous: CpuTimes, next: CpuTimes): number | undefined {
  const total = next.total - previous.total;
  const idle = next.idle - previous.idle;
  if (total <= 0) return undefined;
  return clampPercent(((total - idle) / total) * 100);
}

export interface MemoryInfo {
  readonly totalBytes: number;
  readonly availableBytes: number;
}

/** MemTotal and MemAvailable (kernels before 3.14 lack it: MemFree + Buffers + Cached stands in). */
export function parseMeminfo(text: string): MemoryInfo {
  const kib = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) kib.set(match[1], Number(match[2]));
  }
  const total = kib.get("MemTotal");
  if (total === undefined || total <= 0) throw new Error("/proc/meminfo has no MemTotal");
  const available =
    kib.get("MemAvailable") ?? (kib.get("MemFree") ?? 0) + (kib.get("Buffers") ?? 0) + (kib.get("Cached") ?? 0);
  return { totalBytes: total * 1024, availableBytes: Math.min(available, total) * 1024 };
}

export function memoryPercent(memory: MemoryInfo): number {
  return clampPercent(((memory.totalBytes - memory.availableBytes) / memory.totalBytes) * 100);
}

/** Seconds since boot: the first number of /proc/uptime. */
export function parseUptime(text: string): number {
  const seconds = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`/proc/uptime is malformed: ${text.trim()}`);
  return seconds;
}

export interface FileSystemBlocks {
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
}

/** Used share of the file system as df shows it: used / (used + available to unprivileged users). */
export function diskPercent(stats: FileSystemBlocks): number {
  const used = stats.blocks - stats.bfree;
  const usable = used + stats.bavail;
  if (usable <= 0) return 0;
  return clampPercent((used / usable) * 100);
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

/** Where the sampler gets its raw numbers; tests replace any of them. */
export interface HealthReaders {
  readProcStat(): Promise<string>;
  readMeminfo(): Promise<string>;
  readUptime(): Promise<string>;
  statfs(path: string): Promise<FileSystemBlocks>;
}

export const procReaders: HealthReaders = {
  readProcStat: () => readFile("/proc/stat", "utf8"),
  readMeminfo: () => readFile("/proc/meminfo", "utf8"),
  readUptime: () => readFile("/proc/uptime", "utf8"),
  statfs: (path) => statfs(path),
};
