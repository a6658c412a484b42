// Majority arithmetic over the voter set: what a quorum has matched, and who won a vote.
import type { NodeId } from "./types.ts";

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest value that a quorum of voters has reached: sort the voters' values in
 * descending order and take the quorum-th one. Used for the commit index (match
 * indexes) and for the leader lease (the tick of the newest acknowledged message).
 */
export function quorumValue(voters: ReadonlySet<NodeId>, valueFor: (id: NodeId) => number): number {
  if (voters.size === 0) return Number.NEGATIVE_INFINITY;
  const values: number[] = [];
  for (const id of voters) values.push(valueFor(id));
  values.sort((a, b) => b - a);
  return values[quorumSize(voters.size) - 1] as number;
}

export type VoteResult = "won" | "lost" | "pending";

export function voteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = quorumSize(voters.size);
  if (granted >= needed) return "won";
  if (voters.size - rejected < needed) return "lost";
  return "pending";
}
