// Raft node configuration: validated once, defaults filled in, then frozen.
import { InvalidConfigError } from "./errors.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { Random } from "./prng.ts";
import type { Storage } from "./storage.ts";
import type { NodeId } from "./types.ts";

export interface RaftConfig {
  /** This node's id; never empty. */
  readonly id: NodeId;
  readonly storage: Storage;
  /** Seeded randomness for election timeouts. */
  readonly random: Random;
  /** Base election timeout T in ticks; each election waits a random time in [T, 2T). */
  readonly electionTicks: number;
  /** Ticks between leader heartbeats; must be smaller than electionTicks. */
  readonly heartbeatTicks: number;
  /**
   * Learners get every n-th heartbeat round (voters get every one): a learner neither votes nor
   * holds the lease, and in a large group most members are learners, so this divides most of the
   * leader's heartbeat traffic by n. A learner must still hear from the leader well within an
   * election timeout (it is promoted with the contact it had): n x heartbeatTicks < electionTicks.
   * Default 1.
   */
  readonly learnerHeartbeatRounds?: number;
  /**
   * How long (ticks) a leader's lease lasts after a quorum acknowledged a message it sent.
   * Must be smaller than electionTicks: followers refuse votes for electionTicks after
   * hearing from the leader, so the difference is the clock-drift margin.
   * Default: electionTicks - max(1, electionTicks / 5).
   */
  readonly leaseTicks?: number;
  /** Ask for pre-votes before raising the term (Raft thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /** Votes but never campaigns (a drained node or a witness). Default false. */
  readonly noCampaign?: boolean;
  /** Index the application has already applied (restart). Default: 0. */
  readonly applied?: number;
  /** Upper bound on entry bytes in one append message. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Append messages in flight to one follower before waiting for acknowledgements. Default 256. */
  readonly maxInflightMessages?: number;
  /** Bytes of proposed, not yet committed entries the leader accepts before dropping proposals. Default 32 MiB. */
  readonly maxUncommittedBytes?: number;
  /** Bytes of snapshot data per InstallSnapshot chunk. Default 256 KiB. */
  readonly maxSnapshotChunkBytes?: number;
  /** Committed entries bytes handed to the application in one Ready. Default 4 MiB. */
  readonly maxCommittedBytesPerReady?: number;
  readonly logger?: Logger;
}

export type ResolvedConfig = Required<RaftConfig>;

/**
 * Ticks after which a node's first pre-vote round since it last heard a leader is asked again
 * when it has not won: one tick for the phase between two nodes' timers, one for the answers.
 */
export const PRE_VOTE_RETRY_TICKS = 2;

export const CONFIG_DEFAULTS = Object.freeze({
  learnerHeartbeatRounds: 1,
  preVote: true,
  checkQuorum: true,
  noCampaign: false,
  applied: 0,
  maxMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxUncommittedBytes: 32 * 1024 * 1024,
  maxSnapshotChunkBytes: 256 * 1024,
  maxCommittedBytesPerReady: 4 * 1024 * 1024,
});

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

export function defaultLeaseTicks(electionTicks: number): number {
  return electionTicks - Math.max(1, Math.floor(electionTicks / 5));
}

export function resolveConfig(config: RaftConfig): ResolvedConfig {
  if (typeof config.id !== "string" || config.id.length === 0) {
    throw new InvalidConfigError("id must be a non-empty string");
  }
  if (!config.storage) throw new InvalidConfigError("storage is required");
  if (!config.random) throw new InvalidConfigError("random is required (inject a seeded PRNG)");
  requirePositiveInteger("electionTicks", config.electionTicks);
  requirePositiveInteger("heartbeatTicks", config.heartbeatTicks);
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new InvalidConfigError(
      `electionTicks must be greater than heartbeatTicks (got electionTicks=${config.electionTicks}, heartbeatTicks=${config.heartbeatTicks})`,
    );
  }
  const leaseTicks = config.leaseTicks ?? defaultLeaseTicks(config.electionTicks);
  requirePositiveInteger("leaseTicks", leaseTicks);
  if (leaseTicks >= config.electionTicks) {
    throw new InvalidConfigError(
      `leaseTicks must be smaller than electionTicks (got leaseTicks=${leaseTicks}, electionTicks=${config.electionTicks}): the lease must end before any follower may vote again`,
    );
  }
  const resolved = {
    ...CONFIG_DEFAULTS,
    logger: silentLogger,
    ...stripUndefined(config),
    leaseTicks,
  } as ResolvedConfig;
  requirePositiveInteger("learnerHeartbeatRounds", resolved.learnerHeartbeatRounds);
  if (resolved.learnerHeartbeatRounds * resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new InvalidConfigError(
      `learnerHeartbeatRounds x heartbeatTicks must be smaller than electionTicks (got ${resolved.learnerHeartbeatRounds} x ${resolved.heartbeatTicks} >= ${resolved.electionTicks}): a learner must hear from the leader within an election timeout`,
    );
  }
  requirePositiveInteger("maxMessageBytes", resolved.maxMessageBytes);
  requirePositiveInteger("maxInflightMessages", resolved.maxInflightMessages);
  requirePositiveInteger("maxUncommittedBytes", resolved.maxUncommittedBytes);
  requirePositiveInteger("maxSnapshotChunkBytes", resolved.maxSnapshotChunkBytes);
  requirePositiveInteger("maxCommittedBytesPerReady", resolved.maxCommittedBytesPerReady);
  if (!Number.isSafeInteger(resolved.applied) || resolved.applied < 0) {
    throw new InvalidConfigError(`applied must be a non-negative integer, got ${String(resolved.applied)}`);
  }
  return Object.freeze(resolved);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
