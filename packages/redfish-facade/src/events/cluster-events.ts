// Events of the cluster itself, read from the facade's view of the members: each look at
// `members()` is compared with the one before, and what changed becomes Conclave registry records
// (PoC changed, member joined / removed / lost / recovered, health Warning / Critical / OK). The
// first look only takes note (except who the PoC is: a new PoC says so once).
import { aggregationSourceUri } from "../aggregation-service.ts";
import type { FacadeMember } from "../facade-cluster.ts";
import { CLUSTER_MANAGER_URI } from "../facade-resources.ts";
import { type ConclaveMessageKey, conclaveRecord } from "./conclave-registry.ts";

interface Seen {
  readonly name: string;
  readonly reachable: boolean;
  readonly health: FacadeMember["health"];
  readonly member: FacadeMember;
}

const HEALTH_MESSAGES: Readonly<Record<FacadeMember["health"], ConclaveMessageKey>> = {
  OK: "MemberHealthOK",
  Warning: "MemberHealthWarning",
  Critical: "MemberHealthCritical",
};

export class ClusterEventWatcher {
  private seen: Map<string, Seen> | undefined;
  private pocId: string | undefined;

  /** The records for what changed since the last look, oldest concern first. */
  observe(members: readonly FacadeMember[], timestamp: string): Record<string, unknown>[] {
    const records: Record<string, unknown>[] = [];
    const current = new Map<string, Seen>();
    for (const member of members) {
      current.set(member.id, { name: member.name, reachable: member.bmcReachable, health: member.health, member });
    }
    const poc = members.find((m) => m.isPoc);
    if (poc !== undefined && poc.id !== this.pocId) {
      records.push(conclaveRecord("PocChanged", [poc.name], CLUSTER_MANAGER_URI, timestamp));
      this.pocId = poc.id;
    }
    const before = this.seen;
    this.seen = current;
    if (before === undefined) return records;
    for (const [id, now] of current) {
      const origin = aggregationSourceUri(now.member);
      const then = before.get(id);
      if (then === undefined) {
        records.push(conclaveRecord("MemberJoined", [now.name], origin, timestamp));
        continue;
      }
      if (then.reachable !== now.reachable) {
        records.push(conclaveRecord(now.reachable ? "MemberRecovered" : "MemberLost", [now.name], origin, timestamp));
      }
      if (then.health !== now.health) {
        records.push(conclaveRecord(HEALTH_MESSAGES[now.health], [now.name], origin, timestamp));
      }
    }
    for (const [id, then] of before) {
      if (!current.has(id)) {
        records.push(conclaveRecord("MemberRemoved", [then.name], aggregationSourceUri(then.member), timestamp));
      }
    }
    return records;
  }
}
