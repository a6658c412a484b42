// The facade's series in the agent's /metrics: requests by method and status code with their
// latency (an onResponse hook), and the event pipeline (fan-in, SSE clients). Registered by the
// EventService part when the agent gives a MetricsRegistry.
import type { FastifyInstance } from "fastify";
import type { EventFanIn } from "../events/event-fan-in.ts";
import type { EventStream } from "../events/event-stream.ts";
import type { PushDelivery } from "../events/push-delivery.ts";
import type { MetricsRegistry } from "./metrics-registry.ts";

export function registerFacadeMetrics(
  app: FastifyInstance,
  registry: MetricsRegistry,
  events: { readonly fanIn: EventFanIn; readonly stream: EventStream; readonly delivery: PushDelivery },
): void {
  const requests = registry.counter(
    "conclave_facade_requests_total",
    "Facade requests answered, by method and status code",
  );
  const latency = registry.histogram(
    "conclave_facade_request_duration_seconds",
    "Time from a facade request's arrival to its answer, by method",
  );
  app.addHook("onResponse", async (request, reply) => {
    // Methods are few; anything odd is one series, not one per spelling.
    const method = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"].includes(request.method)
      ? request.method
      : "OTHER";
    requests.inc({ method, code: String(reply.statusCode) });
    latency.observe({ method }, reply.elapsedTime / 1000);
  });
  const fanIn = () => events.fanIn.countsSoFar();
  const stream = () => events.stream.countsSoFar();
  registry.collect("conclave_events_received_total", "Member events the PoC read into its stream", "counter", () => [
    { value: fanIn().received },
  ]);
  registry.collect(
    "conclave_events_dropped_total",
    "Member events lost before the PoC read them (a member's buffer overflowed)",
    "counter",
    () => [{ value: fanIn().droppedAtMembers }],
  );
  registry.collect(
    "conclave_events_cluster_total",
    "Events of the cluster itself (Conclave registry)",
    "counter",
    () => [{ value: fanIn().clusterEvents }],
  );
  registry.collect("conclave_events_pull_failures_total", "Pulls of members' events that failed", "counter", () => [
    { value: fanIn().pullFailures },
  ]);
  registry.collect("conclave_events_delivered_total", "Event messages written to SSE clients", "counter", () => [
    { value: stream().delivered },
  ]);
  const push = () => events.delivery.countsSoFar();
  registry.collect("conclave_push_delivered_total", "Event POSTs push destinations accepted", "counter", () => [
    { value: push().delivered },
  ]);
  registry.collect(
    "conclave_push_failed_attempts_total",
    "Event POSTs that failed (retries included)",
    "counter",
    () => [{ value: push().failedAttempts }],
  );
  registry.collect("conclave_sse_clients", "SSE streams open", "gauge", () => [{ value: stream().clients }]);
  registry.collect("conclave_sse_clients_cut_total", "SSE clients cut for reading too slowly", "counter", () => [
    { value: stream().slowClientsCut },
  ]);
}
