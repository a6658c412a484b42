// Proves the facade's series in the agent's /metrics: requests by method and code with a latency
// histogram (onResponse), and the event pipeline's counts (received from members, delivered to
// SSE clients, open clients).
import { afterEach, describe, expect, it } from "vitest";
import { SSE_URI } from "../../src/events/event-stream.ts";
import { MetricsRegistry } from "../../src/index.ts";
import { CONSOLE, type Facade, startFacade } from "../support/facade-fixture.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";
import { readSse } from "./sse-reader.ts";

let facade: Facade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("facade metrics", () => {
  it("counts requests with their latency, and events in and out", async () => {
    const metrics = new MetricsRegistry();
    const events = new FakeMemberEvents();
    facade = await startFacade([{ name: "bmc1" }, { name: "bmc2" }], { events, metrics });
    for (let i = 0; i < 3; i++) expect((await facade.get("/redfish/v1/Systems")).statusCode).toBe(200);
    expect((await facade.get("/redfish/v1/Nothing")).statusCode).toBe(404);
    let text = metrics.render();
    expect(value(text, 'conclave_facade_requests_total{method="GET",code="200"}')).toBe(3);
    expect(value(text, 'conclave_facade_requests_total{method="GET",code="404"}')).toBe(1);
    expect(value(text, 'conclave_facade_request_duration_seconds_count{method="GET"}')).toBe(4);
    expect(value(text, 'conclave_facade_request_duration_seconds_bucket{method="GET",le="+Inf"}')).toBe(4);

    await facade.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = facade.app.server.address() as { port: number };
    const read = await readSse(
      `http://127.0.0.1:${port}${SSE_URI}`,
      CONSOLE,
      (got) => got.filter((e) => e.body.Events.some((r) => r.EventId !== undefined)).length >= 2,
      {
        onOpen: () => {
          events.push("peer-bmc1", { EventType: "Other", MemberId: "0", EventId: "1", MessageId: "Test.1.0.A" });
          events.push("peer-bmc2", { EventType: "Other", MemberId: "0", EventId: "1", MessageId: "Test.1.0.A" });
        },
      },
    );
    expect(read.events.length).toBeGreaterThanOrEqual(2);
    text = metrics.render();
    expect(value(text, "conclave_events_received_total")).toBe(2);
    expect(value(text, "conclave_events_delivered_total")).toBeGreaterThanOrEqual(2);
    expect(value(text, "conclave_events_dropped_total")).toBe(0);
  });
});
