// The failover story is read from the agents' own log lines; these are shaped like the ones a
// 32-BMC bench run kept (the messages and fields the agent logs), trimmed to what matters.
import { describe, expect, it } from "vitest";
import { type AgentLogLine, failoverStory, parseAgentLog, STORY_LINES_MAX } from "./failover-story.ts";

const AT = 1_000_000;

function log(atMs: number, msg: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ level: 30, time: AT + atMs, pid: 1, component: "raft", msg, ...fields });
}

function logs(byNode: Record<string, string[]>): AgentLogLine[] {
  return Object.entries(byNode).flatMap(([node, lines]) => parseAgentLog(node, lines.join("\n")));
}

describe("parseAgentLog", () => {
  it("keeps pino lines and skips anything else (a stack trace, a torn line)", () => {
    const text = [log(5, "lease acquired", { term: 3 }), "Error: boom", "    at x (y.ts:1)", '{"time":'].join("\n");
    expect(parseAgentLog("bmc1", text)).toEqual([
      {
        node: "bmc1",
        timeMs: AT + 5,
        msg: "lease acquired",
        fields: { level: 30, pid: 1, component: "raft", term: 3 },
      },
    ]);
  });
});

describe("failoverStory", () => {
  it("names concurrent candidates: three stood in the first term and the next term's winner led", () => {
    const story = failoverStory(
      logs({
        bmc19: [
          log(524, "leadership changed", { role: "preCandidate", term: 4 }),
          log(671, "leadership changed", { role: "candidate", term: 5 }),
          log(1189, "leadership changed", { role: "follower", term: 6 }),
        ],
        bmc29: [log(666, "leadership changed", { role: "candidate", term: 5 })],
        bmc20: [log(684, "leadership changed", { role: "candidate", term: 5 })],
        bmc24: [
          log(1175, "leadership changed", { role: "candidate", term: 6 }),
          log(1194, "became leader", { term: 6 }),
          log(1290, "VIP claimed", { tookMs: 30 }),
        ],
      }),
      { atMs: AT, untilMs: AT + 1_600, vipMovedAtMs: AT + 1_240 },
    );
    expect(story.kind).toBe("concurrent candidates");
    expect(story.firstTermCandidates).toEqual(["bmc29", "bmc19", "bmc20"]);
    expect(story.leader).toBe("bmc24");
    expect(story.lines[0]).toBe('+524 bmc19 leadership changed {"role":"preCandidate","term":4}');
    expect(story.lines.at(-1)).toBe('+1290 bmc24 VIP claimed {"tookMs":30}');
  });

  it("names a lease lost after the claim, and tells the new PoC's lines but not a follower's", () => {
    const story = failoverStory(
      logs({
        bmc23: [
          log(572, "leadership changed", { role: "candidate", term: 7 }),
          log(598, "became leader", { term: 7 }),
          log(644, "lease acquired", { term: 7 }),
          log(750, "VIP claimed", { tookMs: 104 }),
          log(1158, "the Raft loop was stalled longer than the lease safety margin", {
            lateMs: 121,
            cpuMsSinceLastTurn: 99,
            leaseLeftMs: -121,
          }),
          log(1162, "lease lost", { term: 7, reason: "stall" }),
          log(1369, "VIP claimed", { tookMs: 28 }),
        ],
        bmc5: [
          log(610, "leadership changed", { role: "follower", term: 7 }),
          log(700, "the Raft loop was stalled longer than the lease safety margin", { lateMs: 140 }),
        ],
      }),
      { atMs: AT, untilMs: AT + 2_000, vipMovedAtMs: AT + 660 },
    );
    expect(story.kind).toBe("lease lost after the claim");
    expect(story.firstTermCandidates).toEqual(["bmc23"]);
    expect(story.lines).toContain(
      '+1158 bmc23 the Raft loop was stalled longer than the lease safety margin {"lateMs":121,"cpuMsSinceLastTurn":99,"leaseLeftMs":-121}',
    );
    expect(story.lines.some((line) => line.includes("bmc5"))).toBe(false);
  });

  it("tells a slow election from slow first answers by when the VIP moved", () => {
    const oneCandidate = logs({
      bmc2: [log(900, "leadership changed", { role: "candidate", term: 9 }), log(950, "became leader", { term: 9 })],
    });
    const window = { atMs: AT, untilMs: AT + 2_000 };
    expect(failoverStory(oneCandidate, { ...window, vipMovedAtMs: AT + 1_300 }).kind).toBe("slow election");
    expect(failoverStory(oneCandidate, { ...window, vipMovedAtMs: undefined }).kind).toBe("slow election");
    expect(failoverStory(oneCandidate, { ...window, vipMovedAtMs: AT + 640 }).kind).toBe("slow first answers");
  });

  it("reads only the window, and keeps at most STORY_LINES_MAX lines", () => {
    const stalls = Array.from({ length: STORY_LINES_MAX + 5 }, (_, i) =>
      log(100 + i, "the Raft loop was stalled longer than the lease safety margin", { lateMs: 101 }),
    );
    const story = failoverStory(
      logs({
        bmc1: [
          log(-50, "leadership changed", { role: "candidate", term: 2 }),
          log(50, "leadership changed", { role: "candidate", term: 3 }),
          ...stalls,
          log(5_000, "became leader", { term: 3 }),
        ],
      }),
      { atMs: AT, untilMs: AT + 1_000, vipMovedAtMs: undefined },
    );
    expect(story.firstTermCandidates).toEqual(["bmc1"]);
    expect(story.leader).toBeUndefined();
    expect(story.lines).toHaveLength(STORY_LINES_MAX + 1);
    expect(story.lines.at(-1)).toBe("(6 more lines)");
  });
});
