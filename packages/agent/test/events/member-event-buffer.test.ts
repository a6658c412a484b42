// Proves the member's event buffer: consecutive numbering per epoch, a bounded ring, an explicit
// dropped count before the events after a gap, acknowledgements, restarts, shrunk records and
// the long-poll wait.
import { describe, expect, it } from "vitest";
import {
  EVENT_BUFFER_MAX,
  EVENT_RECORD_MAX_BYTES,
  EVENT_WAITERS_MAX,
  EventCursorError,
  MemberEventBuffer,
} from "../../src/events/member-event-buffer.ts";

const record = (n: number) => ({ EventId: String(n), MessageId: "ResourceEvent.1.4.3.ResourceChanged" });

function filled(count: number, capacity = 8): MemberEventBuffer {
  const buffer = new MemberEventBuffer({ epoch: "abcd", capacity });
  for (let n = 1; n <= count; n++) buffer.push(record(n));
  return buffer;
}

describe("MemberEventBuffer", () => {
  it("numbers events 1, 2, ... and hands out everything after a cursor", () => {
    const buffer = filled(5);
    expect(buffer.head()).toEqual({ epoch: "abcd", seq: 5 });
    const all = buffer.read(null, 100, 1_000_000);
    expect(all).toEqual({ epoch: "abcd", events: [1, 2, 3, 4, 5].map((seq) => ({ seq, record: record(seq) })) });
    const after = buffer.read({ epoch: "abcd", seq: 3 }, 100, 1_000_000);
    expect(after.events.map((e) => e.seq)).toEqual([4, 5]);
    expect(after.dropped).toBeUndefined();
  });

  it("draws a random hex epoch per buffer and has a named default bound", () => {
    const a = new MemberEventBuffer();
    const b = new MemberEventBuffer();
    expect(a.epoch).toMatch(/^[0-9a-f]{8}$/);
    expect(a.epoch).not.toBe(b.epoch);
    expect(a.capacity).toBe(EVENT_BUFFER_MAX);
    expect(() => new MemberEventBuffer({ capacity: 0 })).toThrow(RangeError);
  });

  it("keeps at most its capacity and tells a reader how many it lost, before the rest", () => {
    const buffer = filled(20, 8);
    const answer = buffer.read({ epoch: "abcd", seq: 2 }, 100, 1_000_000);
    // 3..12 left the ring: 10 events the reader never saw, then 13..20 in order.
    expect(answer.dropped).toBe(10);
    expect(answer.events.map((e) => e.seq)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    expect(buffer.countsSoFar()).toMatchObject({ received: 20, dropped: 12 });
    const fromStart = buffer.read(null, 100, 1_000_000);
    expect(fromStart.dropped).toBe(12);
  });

  it("counts as dropped only what no pull acknowledged", () => {
    const buffer = filled(8, 8);
    buffer.read({ epoch: "abcd", seq: 6 }, 100, 1_000_000);
    for (let n = 9; n <= 12; n++) buffer.push(record(n));
    // 1..4 left the ring; 1..4 were acknowledged (after seq 6).
    expect(buffer.countsSoFar().dropped).toBe(0);
    for (let n = 13; n <= 16; n++) buffer.push(record(n));
    // 5..8 left too: 7 and 8 had not been acknowledged.
    expect(buffer.countsSoFar().dropped).toBe(2);
  });

  it("still serves a cursor older than the last acknowledgement (a new PoC, a console resuming)", () => {
    const buffer = filled(6);
    buffer.read({ epoch: "abcd", seq: 6 }, 100, 1_000_000);
    expect(buffer.read({ epoch: "abcd", seq: 2 }, 100, 1_000_000).events.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
  });

  it("bounds an answer by count and bytes, but always gives one event", () => {
    const buffer = filled(6);
    expect(buffer.read(null, 2, 1_000_000).events.map((e) => e.seq)).toEqual([1, 2]);
    expect(buffer.read(null, 100, 1).events.map((e) => e.seq)).toEqual([1]);
    const one = JSON.stringify({ seq: 1, record: record(1) }).length;
    expect(buffer.read(null, 100, one * 3).events).toHaveLength(3);
  });

  it("answers a cursor of another epoch from its start, saying the member restarted", () => {
    const buffer = filled(3);
    const answer = buffer.read({ epoch: "ffff", seq: 40 }, 100, 1_000_000);
    expect(answer.restarted).toBe(true);
    expect(answer.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(buffer.hasNews({ epoch: "ffff", seq: 40 })).toBe(true);
  });

  it("refuses a cursor past its last event", () => {
    expect(() => filled(3).read({ epoch: "abcd", seq: 4 }, 10, 1_000)).toThrow(EventCursorError);
  });

  it("keeps a record that is too big shrunk to what identifies it", () => {
    const buffer = new MemberEventBuffer({ epoch: "abcd" });
    buffer.push({ ...record(1), Message: "x".repeat(EVENT_RECORD_MAX_BYTES * 2), Oem: { big: "y".repeat(1000) } });
    const [event] = buffer.read(null, 10, 1_000_000).events;
    expect(event?.record.MessageId).toBe("ResourceEvent.1.4.3.ResourceChanged");
    expect(event?.record.Oem).toBeUndefined();
    expect(JSON.stringify(event?.record).length).toBeLessThan(EVENT_RECORD_MAX_BYTES);
    expect(buffer.countsSoFar().shrunk).toBe(1);
  });

  it("wakes a waiting pull on the next event, and bounds the waiters", async () => {
    const buffer = filled(1);
    const signal = new AbortController().signal;
    const waiting = buffer.waitForNext(60_000, signal);
    buffer.push(record(2));
    await waiting;
    const aborted = new AbortController();
    const waits = Array.from({ length: EVENT_WAITERS_MAX }, () => buffer.waitForNext(60_000, aborted.signal));
    // One more than the bound does not wait at all.
    await buffer.waitForNext(60_000, signal);
    aborted.abort();
    await Promise.all(waits);
  });
});
