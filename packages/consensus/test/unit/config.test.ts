// Proves config validation: plain messages for every bad value, defaults filled in, result frozen.
import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, defaultLeaseTicks, type RaftConfig, resolveConfig } from "../../src/config.ts";
import { InvalidConfigError } from "../../src/errors.ts";
import { SeededRandom } from "../../src/prng.ts";
import type { Storage } from "../../src/storage.ts";

// resolveConfig only checks that a storage is present; it never reads from it.
const storage = {} as Storage;
const base: RaftConfig = { id: "1", storage, random: new SeededRandom(1), electionTicks: 10, heartbeatTicks: 1 };

function invalid(overrides: Partial<Record<keyof RaftConfig, unknown>>, message: string): void {
  const config = { ...base, ...overrides } as RaftConfig;
  expect(() => resolveConfig(config)).toThrow(InvalidConfigError);
  expect(() => resolveConfig(config)).toThrow(message);
}

describe("resolveConfig", () => {
  it("fills in defaults and freezes the result", () => {
    const config = resolveConfig(base);
    expect(config).toMatchObject(CONFIG_DEFAULTS);
    expect(config.leaseTicks).toBe(8);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.logger).toBeDefined();
  });

  it("keeps explicit values and ignores explicit undefined", () => {
    const config = resolveConfig({ ...base, preVote: false, maxInflightMessages: 3, checkQuorum: undefined });
    expect(config.preVote).toBe(false);
    expect(config.maxInflightMessages).toBe(3);
    expect(config.checkQuorum).toBe(true);
  });

  it("derives the default lease from the election timeout, leaving a drift margin", () => {
    expect(defaultLeaseTicks(10)).toBe(8);
    expect(defaultLeaseTicks(3)).toBe(2);
    expect(defaultLeaseTicks(2)).toBe(1);
    expect(defaultLeaseTicks(100)).toBe(80);
  });

  it("refuses a missing id, storage or random", () => {
    invalid({ id: "" }, "id must be a non-empty string");
    invalid({ storage: undefined }, "storage is required");
    invalid({ random: undefined }, "random is required (inject a seeded PRNG)");
  });

  it("requires positive integer tick counts", () => {
    invalid({ electionTicks: 0 }, "electionTicks must be a positive integer, got 0");
    invalid({ heartbeatTicks: 1.5 }, "heartbeatTicks must be a positive integer, got 1.5");
    invalid({ leaseTicks: -1 }, "leaseTicks must be a positive integer, got -1");
  });

  it("requires electionTicks > heartbeatTicks", () => {
    invalid(
      { electionTicks: 5, heartbeatTicks: 5 },
      "electionTicks must be greater than heartbeatTicks (got electionTicks=5, heartbeatTicks=5)",
    );
  });

  it("requires the lease to end before followers may vote again", () => {
    invalid({ leaseTicks: 10 }, "leaseTicks must be smaller than electionTicks (got leaseTicks=10, electionTicks=10)");
    expect(resolveConfig({ ...base, leaseTicks: 9 }).leaseTicks).toBe(9);
  });

  it("requires learners to hear from the leader within an election timeout", () => {
    invalid({ learnerHeartbeatRounds: 0 }, "learnerHeartbeatRounds must be a positive integer, got 0");
    invalid(
      { learnerHeartbeatRounds: 5, heartbeatTicks: 2 },
      "learnerHeartbeatRounds x heartbeatTicks must be smaller than electionTicks (got 5 x 2 >= 10)",
    );
    expect(resolveConfig({ ...base, learnerHeartbeatRounds: 4, heartbeatTicks: 2 }).learnerHeartbeatRounds).toBe(4);
  });

  it("requires positive limits", () => {
    invalid({ maxMessageBytes: 0 }, "maxMessageBytes must be a positive integer");
    invalid({ maxInflightMessages: -2 }, "maxInflightMessages must be a positive integer");
    invalid({ maxUncommittedBytes: Number.NaN }, "maxUncommittedBytes must be a positive integer");
    invalid({ maxSnapshotChunkBytes: 0 }, "maxSnapshotChunkBytes must be a positive integer");
    invalid({ maxCommittedBytesPerReady: 0.5 }, "maxCommittedBytesPerReady must be a positive integer");
  });

  it("requires a non-negative applied index", () => {
    invalid({ applied: -1 }, "applied must be a non-negative integer, got -1");
    expect(resolveConfig({ ...base, applied: 0 }).applied).toBe(0);
  });
});
