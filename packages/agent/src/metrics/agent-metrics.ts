// The agent's series in /metrics (every node, node HTTP address): its Raft role, term, commit and
// applied indexes, each follower's replication lag (on the PoC), leadership changes (failovers),
// VIP claims and whether the VIP is held here, and its member event buffer. Values are read from
// the driver and the VIP manager at scrape time; the two counters follow the driver's events.
import type { MetricsRegistry } from "@conclave/redfish-facade";
import type { MemberEventCounts } from "../events/member-event-buffer.ts";
import type { RaftDriverEvents, RaftDriverStatus } from "../raft-driver/raft-driver.ts";
import type { VipStatus } from "../vip/vip-manager.ts";

const ROLES = ["follower", "preCandidate", "candidate", "leader"] as const;

export interface AgentMetricsInit {
  readonly registry: MetricsRegistry;
  readonly driver: {
    status(): RaftDriverStatus;
    on<K extends keyof RaftDriverEvents>(event: K, listener: (event: RaftDriverEvents[K]) => void): () => void;
  };
  readonly vip: { status(): VipStatus };
  /** This member's event buffer (events read from its BMC); absent before it is attached. */
  readonly memberEvents?: () => MemberEventCounts | undefined;
}

export interface AgentMetrics {
  /** Stops following the driver's events. */
  close(): void;
}

export function registerAgentMetrics(init: AgentMetricsInit): AgentMetrics {
  const { registry, driver } = init;
  const status = () => driver.status();
  registry.collect("conclave_raft_role", "1 for this node's Raft role, 0 for the others", "gauge", () => {
    const role = status().role;
    return ROLES.map((r) => ({ labels: { role: r }, value: r === role ? 1 : 0 }));
  });
  registry.collect("conclave_raft_term", "This node's Raft term", "gauge", () => [{ value: status().term }]);
  registry.collect("conclave_raft_commit_index", "The highest log index known committed", "gauge", () => [
    { value: status().commit },
  ]);
  registry.collect("conclave_raft_applied_index", "The highest log index applied to the cluster state", "gauge", () => [
    { value: status().applied },
  ]);
  registry.collect("conclave_raft_last_index", "The last index in this node's log", "gauge", () => [
    { value: status().lastIndex },
  ]);
  registry.collect(
    "conclave_raft_replication_lag_entries",
    "On the PoC: entries each member is behind the PoC's last index",
    "gauge",
    () =>
      status()
        .members.filter((m) => m.id !== status().id)
        .map((m) => ({ labels: { peer: m.id, suffrage: m.suffrage }, value: m.lagEntries })),
  );
  registry.collect("conclave_raft_lease_held", "1 while this node holds the PoC lease", "gauge", () => [
    { value: status().lease.held ? 1 : 0 },
  ]);
  const leadershipChanges = registry.counter(
    "conclave_leadership_changes_total",
    "Times this node saw another PoC (or none) take over: failovers and transfers",
  );
  const leaderships = registry.counter("conclave_leadership_acquired_total", "Times this node became the PoC");
  const vipClaims = registry.counter(
    "conclave_vip_claims_total",
    "VIP claims this node started (one per PoC lease acquired)",
  );
  registry.collect("conclave_vip_held", "1 while this node holds the VIP", "gauge", () => [
    { value: init.vip.status().held ? 1 : 0 },
  ]);
  registry.collect(
    "conclave_vip_announcement_failures_total",
    "Gratuitous ARP / NA sends that failed",
    "counter",
    () => [{ value: init.vip.status().announcementFailures }],
  );
  const events = () => init.memberEvents?.();
  registry.collect(
    "conclave_member_events_received_total",
    "Events this member read from its own BMC",
    "counter",
    () => [{ value: events()?.received ?? 0 }],
  );
  registry.collect(
    "conclave_member_events_dropped_total",
    "Events this member's buffer let go before any PoC read them",
    "counter",
    () => [{ value: events()?.dropped ?? 0 }],
  );
  registry.collect(
    "conclave_member_events_delivered_total",
    "Events this member sent in answers to the PoC's pulls",
    "counter",
    () => [{ value: events()?.delivered ?? 0 }],
  );
  const offLeadership = driver.on("leadershipChanged", (event) => {
    if (event.leaderId !== event.previousLeaderId) leadershipChanges.inc();
    if (event.role === "leader" && event.previousRole !== "leader") leaderships.inc();
  });
  const offLease = driver.on("leaseAcquired", () => vipClaims.inc());
  return {
    close() {
      offLeadership();
      offLease();
    },
  };
}
