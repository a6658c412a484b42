// Who should take over when leadership is handed on without a named target.
import type { NodeId, ProgressStatus } from "@conclave/consensus";
import type { MemberRecord } from "../cluster-state/types.ts";

const HEALTH_RANK: Readonly<Record<string, number>> = Object.freeze({ ok: 0, warning: 1, critical: 2 });

/**
 * The best voter to lead next: reachable (recently active), not a witness, not drained;
 * then healthiest, highest priority, most caught up, lowest id. Undefined when nobody qualifies.
 */
export function pickTransferTarget(
  selfId: NodeId,
  voters: readonly NodeId[],
  progress: Readonly<Record<NodeId, ProgressStatus>>,
  member: (id: NodeId) => MemberRecord | undefined,
): NodeId | undefined {
  const candidates = voters
    .filter((id) => id !== selfId)
    .map((id) => ({ id, progress: progress[id], record: member(id) }))
    .filter(
      (candidate) =>
        candidate.progress?.recentActive === true &&
        candidate.record?.witness !== true &&
        candidate.record?.drained !== true,
    );
  candidates.sort((a, b) => {
    const health =
      (HEALTH_RANK[a.record?.health?.status ?? "ok"] ?? 0) - (HEALTH_RANK[b.record?.health?.status ?? "ok"] ?? 0);
    if (health !== 0) return health;
    const priority = (b.record?.priority ?? 0) - (a.record?.priority ?? 0);
    if (priority !== 0) return priority;
    const match = (b.progress?.match ?? 0) - (a.progress?.match ?? 0);
    if (match !== 0) return match;
    return a.id < b.id ? -1 : 1;
  });
  return candidates[0]?.id;
}
