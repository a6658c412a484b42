// Proves frames survive any chunking, oversize or malformed length prefixes are refused before buffering, and the outbound queue drops oldest-first within both bounds.
import fc from "fast-check";
import { Uint8ArrayList } from "uint8arraylist";
import { describe, expect, it } from "vitest";
import { FrameTooLargeError, ProtocolError } from "../src/index.ts";
import { encodeFrame, encodeVarint, FrameDecoder } from "../src/p2p/frame.ts";
import { OutboundQueue } from "../src/p2p/outbound-queue.ts";

describe("frames", () => {
  it("reassemble from any split of the byte stream", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map(encodeFrame));
          const decoder = new FrameDecoder(1024);
          const frames: Uint8Array[] = [];
          let offset = 0;
          for (let index = 0; offset < stream.byteLength; index++) {
            const size = cuts[index % cuts.length]!;
            const chunk = new Uint8ArrayList(stream.subarray(offset, offset + size));
            frames.push(...decoder.push(chunk));
            offset += size;
          }
          expect(frames.map((frame) => Buffer.from(frame))).toEqual(payloads.map((payload) => Buffer.from(payload)));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  it("refuses an oversize frame as soon as its length prefix is read", () => {
    const decoder = new FrameDecoder(1000);
    expect(decoder.push(encodeFrame(new Uint8Array(1000)))).toHaveLength(1);
    expect(() => decoder.push(encodeVarint(1001))).toThrow(FrameTooLargeError);
    // Only the prefix arrived: nothing of the body was waited for or buffered.
    expect(() => new FrameDecoder(1000).push(encodeVarint(2 ** 40).subarray(0, 2))).toThrow(FrameTooLargeError);
  });

  it("refuses a length prefix that is not minimal or too long", () => {
    expect(() => new FrameDecoder(1000).push(new Uint8Array([0x81, 0x00]))).toThrow(ProtocolError);
    expect(() => new FrameDecoder(2 ** 60).push(new Uint8Array(9).fill(0x80))).toThrow(ProtocolError);
  });
});

describe("outbound queue", () => {
  const frame = (id: number, bytes = 10) => new Uint8Array(bytes).fill(id);

  it("drops the oldest frames beyond the message bound and counts them", () => {
    const queue = new OutboundQueue({ maxMessages: 3, maxBytes: 1_000 });
    for (let id = 1; id <= 5; id++) queue.push(frame(id));
    expect(queue.length).toBe(3);
    expect(queue.dropped).toBe(2);
    expect([queue.shift()![0], queue.shift()![0], queue.shift()![0]]).toEqual([3, 4, 5]);
    expect(queue.shift()).toBeUndefined();
    expect(queue.bytes).toBe(0);
  });

  it("drops the oldest frames beyond the byte bound, but always keeps the newest", () => {
    const queue = new OutboundQueue({ maxMessages: 100, maxBytes: 25 });
    queue.push(frame(1));
    queue.push(frame(2));
    queue.push(frame(3));
    expect(queue.length).toBe(2);
    expect(queue.bytes).toBe(20);
    queue.push(frame(4, 40));
    expect(queue.length).toBe(1);
    expect(queue.bytes).toBe(40);
    expect(queue.dropped).toBe(3);
    expect(queue.shift()![0]).toBe(4);
  });

  it("matches a plain array model over many pushes and shifts (lazy compaction)", () => {
    const queue = new OutboundQueue({ maxMessages: 50, maxBytes: 10_000 });
    const model: number[] = [];
    for (let round = 0; round < 2_000; round++) {
      const id = round % 256;
      queue.push(frame(id, 1));
      model.push(id);
      if (model.length > 50) model.shift();
      if (round % 3 === 0) expect(queue.shift()![0]).toBe(model.shift());
      expect(queue.length).toBe(model.length);
    }
    const remaining = queue.length;
    const droppedBefore = queue.dropped;
    expect(queue.clear()).toBe(remaining);
    expect(queue.dropped).toBe(droppedBefore + remaining);
    expect(queue.length).toBe(0);
  });
});
