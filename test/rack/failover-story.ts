// What the agents' logs say about one failover: who stood for election in which term, who led,
// when the lease and the VIP came and went, and which of those nodes' Raft loops stalled. The rack
// bench attaches it to every death slower than its target, so the reason is read, not guessed:
//   - "concurrent candidates": two or more candidates in the first term after the death split
//     the votes, and the next election came a randomized timeout later;
//   - "lease lost after the claim": the new PoC claimed the VIP, then lost its lease (a stalled
//     Raft loop) and claimed it again;
//   - "slow election": one candidate, but the VIP moved late;
//   - "slow first answers": the VIP moved in time, and the new PoC answered late.

/** One line of an agent's pino log. */
export interface AgentLogLine {
  readonly node: string;
  readonly timeMs: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export type FailoverKind =
  | "concurrent candidates"
  | "lease lost after the claim"
  | "slow election"
  | "slow first answers";

export interface FailoverStory {
  readonly kind: FailoverKind;
  /** Nodes that became candidate in the first term stood for after the death. */
  readonly firstTermCandidates: readonly string[];
  /** The node that led at the end of the window, if any did. */
  readonly leader: string | undefined;
  /** `+ms node message {fields}`, in time order, relative to the death. */
  readonly lines: readonly string[];
}

export interface FailoverWindow {
  /** When the old PoC's link went down. */
  readonly atMs: number;
  /** End of the window read (the console's first answer, plus a margin). */
  readonly untilMs: number;
  /** When the VIP was first seen on another node, if it was. */
  readonly vipMovedAtMs: number | undefined;
}

/** A VIP that moved later than this after the death makes a slow election. */
export const SLOW_ELECTION_MS = 1_000;
/** Lines of a story kept, so a storm of stall warnings cannot flood a result file. */
export const STORY_LINES_MAX = 80;

const STANDING_ROLES = new Set(["preCandidate", "candidate", "leader"]);
const STORY_MESSAGE = /^(leadership changed|became leader|lease acquired|lease lost|VIP claimed|VIP released)$|stalled/;
const STORY_FIELDS = ["role", "term", "reason", "lateMs", "cpuMsSinceLastTurn", "leaseLeftMs", "tookMs"];

/** Parses a node's log; lines that are not pino JSON (a crash's stack) are skipped. */
export function parseAgentLog(node: string, text: string): AgentLogLine[] {
  const lines: AgentLogLine[] = [];
  for (const raw of text.split("\n")) {
    if (!raw.startsWith("{")) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue;
    }
    if (typeof parsed !== "object" || parsed === null) continue;
    const { time, msg, ...fields } = parsed as Record<string, unknown>;
    if (typeof time !== "number" || typeof msg !== "string") continue;
    lines.push({ node, timeMs: time, msg, fields });
  }
  return lines;
}

export function failoverStory(logs: readonly AgentLogLine[], window: FailoverWindow): FailoverStory {
  const inWindow = logs
    .filter((line) => line.timeMs >= window.atMs && line.timeMs <= window.untilMs)
    .sort((a, b) => a.timeMs - b.timeMs);
  const candidacies = inWindow.filter(
    (line) =>
      line.msg === "leadership changed" && line.fields.role === "candidate" && typeof line.fields.term === "number",
  );
  const firstTerm = Math.min(...candidacies.map((line) => line.fields.term as number));
  const firstTermCandidates = [
    ...new Set(candidacies.filter((line) => line.fields.term === firstTerm).map((line) => line.node)),
  ];
  const leader = inWindow.findLast((line) => line.msg === "became leader")?.node;
  // The nodes the story is about: every node that stood or led. The others (at 32 BMCs, 27
  // learners) only follow: their lines and their stalls would bury the election.
  const actors = new Set(inWindow.filter(stoodOrLed).map((line) => line.node));
  const told = inWindow.filter((line) => actors.has(line.node) && STORY_MESSAGE.test(line.msg));
  const lines = told.slice(0, STORY_LINES_MAX).map((line) => {
    const shown = Object.fromEntries(STORY_FIELDS.filter((key) => key in line.fields).map((k) => [k, line.fields[k]]));
    return `+${Math.round(line.timeMs - window.atMs)} ${line.node} ${line.msg} ${JSON.stringify(shown)}`;
  });
  if (told.length > STORY_LINES_MAX) lines.push(`(${told.length - STORY_LINES_MAX} more lines)`);
  return { kind: kindOf(inWindow, firstTermCandidates, leader, window), firstTermCandidates, leader, lines };
}

function stoodOrLed(line: AgentLogLine): boolean {
  return (
    line.msg === "became leader" ||
    (line.msg === "leadership changed" && STANDING_ROLES.has(line.fields.role as string))
  );
}

function kindOf(
  lines: readonly AgentLogLine[],
  firstTermCandidates: readonly string[],
  leader: string | undefined,
  window: FailoverWindow,
): FailoverKind {
  if (firstTermCandidates.length > 1) return "concurrent candidates";
  const claimedAt = lines.find((line) => line.node === leader && line.msg === "VIP claimed")?.timeMs;
  const lostAfterClaim =
    claimedAt !== undefined && lines.some((l) => l.node === leader && l.msg === "lease lost" && l.timeMs > claimedAt);
  if (lostAfterClaim) return "lease lost after the claim";
  const movedMs = window.vipMovedAtMs === undefined ? Number.POSITIVE_INFINITY : window.vipMovedAtMs - window.atMs;
  return movedMs > SLOW_ELECTION_MS ? "slow election" : "slow first answers";
}
