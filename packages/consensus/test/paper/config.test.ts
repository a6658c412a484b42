// Proves a node is only created from a valid configuration, refused with plain messages naming the bad value.
import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/config.ts";
import { InvalidConfigError } from "../../src/errors.ts";
import { SeededRandom } from "../../src/prng.ts";
import { RaftNode } from "../../src/raft-node.ts";
import { soloStorage } from "../support/raft-network.ts";

function create(overrides: Partial<RaftConfig>): RaftNode {
  return new RaftNode({
    id: "1",
    storage: soloStorage({}),
    random: new SeededRandom(1),
    electionTicks: 10,
    heartbeatTicks: 1,
    ...overrides,
  });
}

describe("node configuration", () => {
  it.each([
    [{ electionTicks: 3, heartbeatTicks: 3 }, "electionTicks must be greater than heartbeatTicks"],
    [{ electionTicks: 10, leaseTicks: 12 }, "leaseTicks must be smaller than electionTicks"],
    [{ heartbeatTicks: 0 }, "heartbeatTicks must be a positive integer, got 0"],
    [{ id: "" }, "id must be a non-empty string"],
    [{ maxInflightMessages: 0 }, "maxInflightMessages must be a positive integer, got 0"],
  ] as const)("refuses %j: %s", (overrides, message) => {
    expect(() => create(overrides)).toThrow(InvalidConfigError);
    expect(() => create(overrides)).toThrow(message);
  });

  it("starts with defaults filled in: PreVote and CheckQuorum on, campaigning allowed", () => {
    const node = create({});
    expect(node.status()).toMatchObject({ role: "follower", noCampaign: false, hasLease: false });
    const preCandidate = create({});
    preCandidate.campaign();
    expect(preCandidate.status().role).toBe("preCandidate");
  });
});
