// A new PoC starts its member pull loops a few at a time (loopStartsPerReconcileMax per look), not
// all in its first instant; a member whose loop starts later loses none of its events.
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventFanIn } from "../../src/events/event-fan-in.ts";
import type { FacadeMember } from "../../src/index.ts";
import { STANDARD_ROOT_COLLECTIONS } from "../../src/member-uri.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";

const MEMBERS = 20;
const STARTS_PER_LOOK = 8;
const RECONCILE_MS = 500;

function memberNumbered(n: number): FacadeMember {
  return {
    id: `peer-bmc${n}`,
    name: `bmc${n}`,
    hostName: undefined,
    role: n <= 5 ? "voter" : "learner",
    isPoc: n === 1,
    hasBmc: true,
    health: "OK",
    bmcReachable: true,
    labels: {},
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("member pull loops", () => {
  it(`start ${STARTS_PER_LOOK} per look until every member has one, and the later ones lose nothing`, async () => {
    vi.useFakeTimers();
    const members = Array.from({ length: MEMBERS }, (_, i) => memberNumbered(i + 1));
    const source = new FakeMemberEvents();
    const last = members.at(-1) as FacadeMember;
    source.push(last.id, { EventType: "Other", MemberId: "0", MessageId: "Test.1.0.BeforeTakeover" });
    const fanIn = new EventFanIn({
      cluster: { hasQuorum: () => true, members: () => members },
      source,
      prefixCollections: async () => STANDARD_ROOT_COLLECTIONS,
      limits: { reconcileMs: RECONCILE_MS, pullWaitMs: 60_000, loopStartsPerReconcileMax: STARTS_PER_LOOK },
    });
    fanIn.start();
    try {
      await vi.advanceTimersByTimeAsync(0);
      expect(source.pulls.size).toBe(STARTS_PER_LOOK);
      await vi.advanceTimersByTimeAsync(RECONCILE_MS);
      expect(source.pulls.size).toBe(2 * STARTS_PER_LOOK);
      await vi.advanceTimersByTimeAsync(RECONCILE_MS);
      expect(source.pulls.size).toBe(MEMBERS);
      expect(fanIn.countsSoFar().received).toBe(1);
      // One loop per member: one long poll each, and the last member's second (its first answered at once).
      for (const member of members) expect(source.pulls.get(member.id)).toBe(member === last ? 2 : 1);
    } finally {
      fanIn.stop();
    }
  });
});
