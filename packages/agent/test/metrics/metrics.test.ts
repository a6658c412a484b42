// Proves /metrics on a node's own address: the Prometheus text exposition (HELP/TYPE, labels
// escaped, histogram buckets, bounded series), the agent's Raft, failover, VIP and member-event
// series read from the driver at scrape time, and that every node answers it itself, PoC or not.
import { METRIC_SERIES_MAX, MetricsRegistry } from "@conclave/redfish-facade";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { buildNodeApp, METRICS_PATH } from "../../src/daemon/node-app.ts";
import { MemberEventBuffer } from "../../src/events/member-event-buffer.ts";
import { registerAgentMetrics } from "../../src/metrics/agent-metrics.ts";
import type { RaftDriverEvents, RaftDriverStatus } from "../../src/raft-driver/raft-driver.ts";
import type { VipStatus } from "../../src/vip/vip-manager.ts";

/** `name{labels} value` lines as a map (comments left out). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    found.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return found;
}

function fakeDriver(status: Partial<RaftDriverStatus>) {
  const listeners = new Map<string, ((event: unknown) => void)[]>();
  let current = status;
  return {
    status: () => current as RaftDriverStatus,
    set(next: Partial<RaftDriverStatus>) {
      current = { ...current, ...next };
    },
    on<K extends keyof RaftDriverEvents>(event: K, listener: (event: RaftDriverEvents[K]) => void) {
      const list = listeners.get(event) ?? [];
      list.push(listener as (event: unknown) => void);
      listeners.set(event, list);
      return () =>
        listeners.set(
          event,
          (listeners.get(event) ?? []).filter((l) => l !== listener),
        );
    },
    emit<K extends keyof RaftDriverEvents>(event: K, body: RaftDriverEvents[K]) {
      for (const listener of listeners.get(event) ?? []) listener(body);
    },
  };
}

describe("MetricsRegistry", () => {
  it("renders counters, collected gauges and histograms in the text format", () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter("demo_requests_total", "Requests\nby code");
    requests.inc({ code: "200" });
    requests.inc({ code: "200" }, 2);
    requests.inc({ path: 'a"b\\c\nd' });
    registry.collect("demo_temperature", "A gauge", "gauge", () => [{ value: 21.5 }]);
    const latency = registry.histogram("demo_seconds", "Latency", [0.1, 1]);
    latency.observe({ method: "GET" }, 0.05);
    latency.observe({ method: "GET" }, 0.5);
    latency.observe({ method: "GET" }, 5);
    const text = registry.render();
    expect(text).toContain("# HELP demo_requests_total Requests\\nby code\n# TYPE demo_requests_total counter\n");
    expect(text).toContain('demo_requests_total{path="a\\"b\\\\c\\nd"} 1\n');
    expect(text).toContain("# TYPE demo_seconds histogram\n");
    const values = samples(text);
    expect(values.get('demo_requests_total{code="200"}')).toBe(3);
    expect(values.get("demo_temperature")).toBe(21.5);
    expect(values.get('demo_seconds_bucket{method="GET",le="0.1"}')).toBe(1);
    expect(values.get('demo_seconds_bucket{method="GET",le="1"}')).toBe(2);
    expect(values.get('demo_seconds_bucket{method="GET",le="+Inf"}')).toBe(3);
    expect(values.get('demo_seconds_count{method="GET"}')).toBe(3);
    expect(values.get('demo_seconds_sum{method="GET"}')).toBeCloseTo(5.55);
  });

  it("refuses bad names and duplicate metrics, and bounds the label sets of each", () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter("bad name", "x")).toThrow(RangeError);
    registry.counter("ok_total", "x");
    expect(() => registry.counter("ok_total", "x")).toThrow(RangeError);
    const many = registry.counter("many_total", "x");
    for (let i = 0; i < METRIC_SERIES_MAX + 10; i++) many.inc({ id: String(i) });
    const values = samples(registry.render());
    expect([...values.keys()].filter((k) => k.startsWith("many_total{"))).toHaveLength(METRIC_SERIES_MAX);
    expect(values.get("conclave_metrics_series_dropped_total")).toBe(10);
    expect(() => many.inc(undefined, -1)).toThrow(RangeError);
  });
});

describe("the agent's series", () => {
  it("reads Raft, VIP and member-event values at scrape time and counts failovers and claims", () => {
    const registry = new MetricsRegistry();
    const driver = fakeDriver({
      id: "self",
      role: "leader",
      term: 7,
      commit: 120,
      applied: 118,
      lastIndex: 125,
      lease: { held: true, ticksLeft: 3, msLeft: 300 },
      members: [
        { id: "self", suffrage: "voter", match: 125, next: 126, state: "replicate", recentActive: true, lagEntries: 0 },
        {
          id: "peer-b",
          suffrage: "voter",
          match: 120,
          next: 121,
          state: "replicate",
          recentActive: true,
          lagEntries: 5,
        },
        { id: "peer-c", suffrage: "learner", match: 0, next: 1, state: "probe", recentActive: false, lagEntries: 125 },
      ],
    });
    let held = true;
    const buffer = new MemberEventBuffer({ capacity: 2 });
    for (let n = 0; n < 3; n++) buffer.push({ MessageId: "M.1.0.X" });
    const metrics = registerAgentMetrics({
      registry,
      driver,
      vip: { status: () => ({ held, announcementFailures: 2 }) as VipStatus },
      memberEvents: () => buffer.countsSoFar(),
    });
    driver.emit("leadershipChanged", {
      role: "leader",
      leaderId: "self",
      term: 7,
      previousRole: "follower",
      previousLeaderId: "peer-b",
    });
    driver.emit("leaseAcquired", { term: 7 });
    let values = samples(registry.render());
    expect(values.get('conclave_raft_role{role="leader"}')).toBe(1);
    expect(values.get('conclave_raft_role{role="follower"}')).toBe(0);
    expect(values.get("conclave_raft_term")).toBe(7);
    expect(values.get("conclave_raft_commit_index")).toBe(120);
    expect(values.get("conclave_raft_applied_index")).toBe(118);
    expect(values.get('conclave_raft_replication_lag_entries{peer="peer-b",suffrage="voter"}')).toBe(5);
    expect(values.get('conclave_raft_replication_lag_entries{peer="peer-c",suffrage="learner"}')).toBe(125);
    expect(values.has('conclave_raft_replication_lag_entries{peer="self",suffrage="voter"}')).toBe(false);
    expect(values.get("conclave_leadership_changes_total")).toBe(1);
    expect(values.get("conclave_leadership_acquired_total")).toBe(1);
    expect(values.get("conclave_vip_claims_total")).toBe(1);
    expect(values.get("conclave_vip_held")).toBe(1);
    expect(values.get("conclave_member_events_received_total")).toBe(3);
    expect(values.get("conclave_member_events_dropped_total")).toBe(1);

    // The PoC steps down: the values follow, and the change is counted once.
    driver.set({ role: "follower", term: 8, members: [] });
    held = false;
    driver.emit("leadershipChanged", {
      role: "follower",
      leaderId: "peer-b",
      term: 8,
      previousRole: "leader",
      previousLeaderId: "self",
    });
    values = samples(registry.render());
    expect(values.get('conclave_raft_role{role="leader"}')).toBe(0);
    expect(values.get("conclave_raft_term")).toBe(8);
    expect(values.get("conclave_leadership_changes_total")).toBe(2);
    expect(values.get("conclave_vip_held")).toBe(0);
    expect([...values.keys()].some((k) => k.startsWith("conclave_raft_replication_lag_entries"))).toBe(false);
    metrics.close();
    driver.emit("leaseAcquired", { term: 9 });
    expect(samples(registry.render()).get("conclave_vip_claims_total")).toBe(1);
  });
});

describe("GET /metrics on the node's own address", () => {
  it("is answered by the node itself whatever the routing, in the Prometheus text format", async () => {
    const registry = new MetricsRegistry();
    registry.collect("conclave_raft_term", "term", "gauge", () => [{ value: 3 }]);
    const facade = Fastify();
    facade.get("/redfish/v1", async () => ({ served: "by the PoC" }));
    await facade.ready();
    for (const routing of [
      { kind: "serve" } as const,
      { kind: "redirect", baseUrl: "https://vip" } as const,
      { kind: "unavailable" } as const,
    ]) {
      const app = buildNodeApp({ serve: facade, routing: () => routing, metrics: () => registry.render() });
      const response = await app.inject({ method: "GET", url: METRICS_PATH });
      expect(response.statusCode, routing.kind).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(samples(response.body).get("conclave_raft_term")).toBe(3);
      await app.close();
    }
    const withoutMetrics = buildNodeApp({ serve: facade, routing: () => ({ kind: "unavailable" }) });
    expect((await withoutMetrics.inject({ method: "GET", url: METRICS_PATH })).statusCode).toBe(503);
    await withoutMetrics.close();
    await facade.close();
  });
});
