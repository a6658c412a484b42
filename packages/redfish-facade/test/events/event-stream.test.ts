// Proves the SSE stream's bounds without a network: a client that stops reading pauses its
// writes (never more than one socket's worth held) and is cut once the log has moved past its
// place; the vector cursor refuses what this service did not write; and cursor steps skip what a
// client has, count gaps, and tell a member's later run from an earlier one.

import fc from "fast-check";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { EventFanIn } from "../../src/events/event-fan-in.ts";
import { EventStream, SSE_URI } from "../../src/events/event-stream.ts";
import {
  CLUSTER_STREAM_KEY,
  decodeStreamCursor,
  encodeStreamCursor,
  STREAM_CURSOR_KEYS_MAX,
  type StreamCursor,
  StreamCursorEncoder,
  stepCursor,
} from "../../src/events/stream-cursor.ts";
import type { FacadeMember } from "../../src/index.ts";
import { STANDARD_ROOT_COLLECTIONS } from "../../src/member-uri.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";

const member: FacadeMember = {
  id: "peer-bmc1",
  name: "bmc1",
  hostName: undefined,
  role: "voter",
  isPoc: true,
  hasBmc: true,
  health: "OK",
  bmcReachable: true,
  labels: {},
};

/** A socket that never drains: every write is queued. */
class StuckSocket {
  writableLength = 0;
  destroyed = false;
  writes = 0;
  readonly listeners = new Map<string, (() => void)[]>();
  writeHead(): void {}
  write(text: string): boolean {
    this.writes += 1;
    this.writableLength += text.length;
    return false;
  }
  once(event: string, listener: () => void): void {
    this.on(event, listener);
  }
  on(event: string, listener: () => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  destroy(): void {
    this.destroyed = true;
    for (const listener of this.listeners.get("close") ?? []) listener();
  }
  end(): void {
    this.destroy();
  }
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("a client that stops reading", () => {
  it("holds its writes while the socket is full, and is cut when the log moves past it", async () => {
    const source = new FakeMemberEvents();
    const fanIn = new EventFanIn({
      cluster: { hasQuorum: () => true, members: () => [member] },
      source,
      prefixCollections: async () => STANDARD_ROOT_COLLECTIONS,
      limits: { logEventsMax: 8, reconcileMs: 10, pullWaitMs: 50 },
    });
    const stream = new EventStream(fanIn);
    let handler: ((request: FastifyRequest, reply: FastifyReply) => unknown) | undefined;
    stream.register({
      get: (path: string, h: typeof handler) => {
        expect(path).toBe(SSE_URI);
        handler = h;
      },
    } as unknown as FastifyInstance);
    const socket = new StuckSocket();
    fanIn.start();
    try {
      handler?.(
        { query: {}, headers: {} } as FastifyRequest,
        { hijack: () => {}, raw: socket } as unknown as FastifyReply,
      );
      const opened = socket.writes;
      source.push(member.id, { EventType: "Other", MemberId: "0", MessageId: "Test.1.0.A" });
      await until(() => socket.writes === opened + 1, "the first event written");
      // That write did not drain: nothing more is written while events keep coming...
      for (let n = 0; n < 20; n++)
        source.push(member.id, { EventType: "Other", MemberId: "0", MessageId: "Test.1.0.A" });
      await until(() => fanIn.countsSoFar().received === 21, "every event");
      expect(socket.writes).toBe(opened + 1);
      // ...and once the 8-event log has moved past its place, the next look cuts it.
      for (const drain of socket.listeners.get("drain") ?? []) drain();
      expect(socket.destroyed).toBe(true);
      expect(stream.countsSoFar()).toMatchObject({ clients: 0, slowClientsCut: 1 });
    } finally {
      fanIn.stop();
      stream.close();
    }
  });
});

describe("the vector cursor", () => {
  it("round-trips, and refuses what it did not write", () => {
    const cursor: StreamCursor = new Map([
      ["bmc1", { epoch: "3f2a", seq: 42 }],
      [CLUSTER_STREAM_KEY, { epoch: "beef", seq: 3 }],
    ]);
    expect(decodeStreamCursor(encodeStreamCursor(cursor))).toEqual(cursor);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "42",
      "not base64!",
      encode([1, 2]),
      encode({ bmc1: ["3f2a"] }),
      encode({ bmc1: ["XYZ", 1] }),
      encode({ bmc1: ["3f2a", -1] }),
      encode({ bad_name: ["3f2a", 1] }),
      encode(Object.fromEntries(Array.from({ length: STREAM_CURSOR_KEYS_MAX + 1 }, (_, i) => [`m${i}`, ["a", 1]]))),
    ]) {
      expect(decodeStreamCursor(bad), bad.slice(0, 40)).toBeUndefined();
    }
  });

  it("skips what the client has, counts a gap, and orders a member's runs", () => {
    const order = ["aa", "bb"];
    const older = (_key: string, a: string, b: string) =>
      order.includes(a) && order.includes(b) && order.indexOf(a) < order.indexOf(b);
    const cursor: StreamCursor = new Map([["bmc1", { epoch: "bb", seq: 5 }]]);
    expect(stepCursor(cursor, "bmc1", { epoch: "bb", seq: 4 }, older)).toEqual({ kind: "seen" });
    expect(stepCursor(cursor, "bmc1", { epoch: "aa", seq: 90 }, older)).toEqual({ kind: "seen" });
    expect(stepCursor(cursor, "bmc1", { epoch: "bb", seq: 9 }, older)).toEqual({
      kind: "new",
      dropped: 3,
      restarted: false,
    });
    expect(stepCursor(cursor, "bmc1", { epoch: "cc", seq: 2 }, older)).toEqual({
      kind: "new",
      dropped: 1,
      restarted: true,
    });
    expect(stepCursor(cursor, "bmc2", { epoch: "dd", seq: 40 }, older)).toEqual({
      kind: "new",
      dropped: 0,
      restarted: false,
    });
    expect(cursor.get("bmc1")).toEqual({ epoch: "cc", seq: 2 });
  });

  it("encodes a moving cursor one stream at a time, to the same text as the whole cursor", () => {
    // Member names as they come (numeric ones included: JSON puts those first), the cluster's own stream.
    const key = fc.constantFrom("bmc1", "bmc2", "rack-07", "7", "12", CLUSTER_STREAM_KEY);
    const event = fc.record({ key, epoch: fc.constantFrom("aa", "bb", "cc"), seq: fc.nat({ max: 50 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(event, { maxLength: 60 }), (start, events) => {
        const order = ["aa", "bb", "cc"];
        const older = (_key: string, a: string, b: string) => order.indexOf(a) < order.indexOf(b);
        const cursor: StreamCursor = new Map(start.map((e) => [e.key, { epoch: e.epoch, seq: e.seq }]));
        const encoder = new StreamCursorEncoder(cursor);
        expect(encoder.encode()).toBe(encodeStreamCursor(cursor));
        for (const e of events) {
          const step = stepCursor(cursor, e.key, { epoch: e.epoch, seq: e.seq }, older);
          if (step.kind === "new") encoder.moved(e.key);
          expect(encoder.encode()).toBe(encodeStreamCursor(cursor));
        }
      }),
      { numRuns: 300 },
    );
  });
});
