// Human renderings of the control documents (tables and key/value blocks) and the --json form.
// Pure functions from a document to text, so they are tested from fixtures.
import type {
  HealthLevel,
  HistoryDocument,
  LeadershipHistoryEntry,
  MemberStatus,
  MembersDocument,
  StatusDocument,
  TransferLeadershipResult,
} from "../control/control-protocol.ts";
import { type Cell, paint, renderFields, renderTable, type Style, type Tone } from "./table.ts";

/** --json: the document exactly as the daemon (or the local action) produced it. */
export function renderJson(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

export function renderStatus(status: StatusDocument, style: Style): string {
  const poc = status.pocId === null ? undefined : memberName(status.members, status.pocId);
  const cluster =
    status.cluster.uuid === null ? status.cluster.name : `${status.cluster.name} (${status.cluster.uuid})`;
  const node = [status.node.role, status.node.raftRole, ...(status.node.drained ? ["drained"] : [])].join(", ");
  const fields: [string, Cell][] = [
    ["cluster", cluster],
    ["node", `${status.node.name} (${node})`],
    ["term", String(status.term)],
    ["PoC", poc === undefined ? { text: "none: no node holds the lease", tone: "bad" } : { text: poc, tone: "strong" }],
    ["lease", leaseText(status)],
    ["VIP", vipText(status)],
    ["log", `commit ${status.commitIndex}, applied ${status.appliedIndex}`],
  ];
  const rows = status.members.map((member) => [
    member.name,
    member.role,
    stateCell(member),
    healthCell(member.health.level),
    member.lastContactMs === null ? "-" : formatDuration(member.lastContactMs),
    member.replicationLag === null ? "-" : String(member.replicationLag),
    member.health.reasons.join("; "),
  ]);
  const parts = [
    renderFields(fields, style),
    renderTable(["NAME", "ROLE", "STATE", "HEALTH", "LAST CONTACT", "LAG", "NOTES"], rows, style),
  ];
  if (status.warnings.length > 0) parts.push(renderWarnings(status.warnings, style));
  return `${parts.join("\n\n")}\n`;
}

export function renderMembers(document: MembersDocument, style: Style): string {
  if (document.members.length === 0) return "no members\n";
  const rows = document.members.map((member) => [
    member.name,
    member.id,
    member.role,
    stateCell(member),
    String(member.priority),
    healthCell(member.health.level),
    member.lastContactMs === null ? "-" : formatDuration(member.lastContactMs),
    member.replicationLag === null ? "-" : String(member.replicationLag),
    formatLabels(member.labels),
    member.addresses.length === 0 ? "-" : member.addresses.join(" "),
  ]);
  const headers = ["NAME", "ID", "ROLE", "STATE", "PRIORITY", "HEALTH", "LAST CONTACT", "LAG", "LABELS", "ADDRESSES"];
  return `${renderTable(headers, rows, style)}\n`;
}

/** `members` (optional) turns PoC ids into names; history entries only carry ids. */
export function renderHistory(
  document: HistoryDocument,
  members: readonly MemberStatus[] | undefined,
  style: Style,
): string {
  if (document.history.length === 0) return "no leadership changes recorded yet\n";
  const rows = document.history.map((entry: LeadershipHistoryEntry) => [
    String(entry.term),
    members === undefined ? entry.pocId : memberName(members, entry.pocId),
    formatTime(entry.atMs),
    entry.reason,
  ]);
  return `${renderTable(["TERM", "POC", "SINCE (UTC)", "REASON"], rows, style)}\n`;
}

export function renderTransfer(
  result: TransferLeadershipResult,
  members: readonly MemberStatus[] | undefined,
  style: Style,
): string {
  const name = (id: string) => (members === undefined ? id : memberName(members, id));
  const from = result.previousPocId === null ? "" : ` from ${name(result.previousPocId)}`;
  if (result.previousPocId === result.pocId) {
    return `${paint(name(result.pocId), "strong", style)} is still the PoC (term ${result.term}); nothing was handed over\n`;
  }
  return `${paint(name(result.pocId), "strong", style)} is now the PoC (term ${result.term}); the hand-over${from} took ${formatDuration(result.tookMs)}\n`;
}

function renderWarnings(warnings: readonly string[], style: Style): string {
  return warnings.map((warning) => `${paint("warning:", "warn", style)} ${warning}`).join("\n");
}

function leaseText(status: StatusDocument): Cell {
  if (status.lease.heldHere) return { text: `held here, ${formatDuration(status.lease.msLeft)} left`, tone: "good" };
  if (status.pocId !== null) return "held by the PoC";
  return { text: "not held by any node", tone: "bad" };
}

function vipText(status: StatusDocument): Cell {
  const { mode, address, heldHere } = status.vip;
  if (mode === "none" || address === null) return "none (vip.mode is none)";
  if (heldHere) return { text: `${address} (${mode}), held here`, tone: "good" };
  if (status.pocId !== null) return `${address} (${mode}), held by the PoC`;
  return { text: `${address} (${mode}), not held: there is no PoC`, tone: "bad" };
}

function stateCell(member: MemberStatus): Cell {
  if (member.isPoC && member.drained) return { text: "PoC, drained", tone: "warn" };
  if (member.isPoC) return { text: "PoC", tone: "strong" };
  if (member.drained) return { text: "drained", tone: "warn" };
  return "-";
}

const HEALTH_TONES: Readonly<Record<HealthLevel, Tone>> = {
  ok: "good",
  warning: "warn",
  critical: "bad",
  unknown: "dim",
};

function healthCell(level: HealthLevel): Cell {
  return { text: level, tone: HEALTH_TONES[level] ?? "plain" };
}

function memberName(members: readonly MemberStatus[], id: string): string {
  return members.find((member) => member.id === id)?.name ?? id;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "-" : entries.map(([key, value]) => `${key}=${value}`).join(",");
}

/** 45 ms, 2.1 s, 3 min, 5 h: the precision an operator reads at a glance. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h`;
  return `${Math.floor(ms / 86_400_000)} d`;
}

/** 2026-11-24 00:31:02 (UTC), or the raw number when it is not a plausible time. */
export function formatTime(atMs: number): string {
  const date = new Date(atMs);
  if (!Number.isFinite(date.getTime())) return String(atMs);
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "");
}
