// Proves the `conclave.events.pull` handler: members only, bodies checked with clear errors,
// caps on max and waitMs, the long poll answered by the next event, answers within one RPC frame,
// and the daemon-side FacadeEventSource (local short cut, RPC for others, answers checked).
import { describe, expect, it } from "vitest";
import { PeerNotAllowedError } from "../../src/errors.ts";
import { attachMemberEvents } from "../../src/events/attach-member-events.ts";
import {
  EVENTS_PULL_ANSWER_MAX_BYTES,
  EVENTS_PULL_MAX,
  EVENTS_PULL_METHOD,
  EVENTS_PULL_WAIT_MAX_MS,
  EventsPullRequestError,
  eventsPullHandler,
  parseEventsPullRequest,
} from "../../src/events/events-pull.ts";
import { rpcFacadeEventSource } from "../../src/events/facade-event-source.ts";
import { MemberEventBuffer } from "../../src/events/member-event-buffer.ts";
import { RPC_MAX_FRAME_BYTES, type RpcContext, type RpcHandler } from "../../src/p2p/rpc.ts";

function context(peerId = "member"): RpcContext {
  return { peerId, method: EVENTS_PULL_METHOD, id: "1", signal: new AbortController().signal };
}

const record = (n: number) => ({ EventId: String(n), MessageId: "Test.1.0.Thing" });

describe("conclave.events.pull", () => {
  it("serves members only", async () => {
    const handler = eventsPullHandler({ buffer: new MemberEventBuffer(), isMember: (peer) => peer === "member" });
    expect(() => handler({ after: null, max: 1, waitMs: 0 }, context("stranger"))).toThrow(PeerNotAllowedError);
  });

  it("checks the body and caps what it asks for", () => {
    for (const bad of [
      null,
      "x",
      { after: null, max: 0, waitMs: 0 },
      { after: null, max: 1.5, waitMs: 0 },
      { after: null, max: 1, waitMs: -1 },
      { after: { epoch: "nothex!", seq: 1 }, max: 1, waitMs: 0 },
      { after: { epoch: "ab", seq: -1 }, max: 1, waitMs: 0 },
    ]) {
      expect(() => parseEventsPullRequest(bad), JSON.stringify(bad)).toThrow(EventsPullRequestError);
    }
    expect(parseEventsPullRequest({ after: null, max: 1e9, waitMs: 1e9 })).toEqual({
      after: null,
      max: EVENTS_PULL_MAX,
      waitMs: EVENTS_PULL_WAIT_MAX_MS,
    });
  });

  it("answers at once when there are events, and long-polls for the next one otherwise", async () => {
    const buffer = new MemberEventBuffer({ epoch: "a1" });
    const handler = eventsPullHandler({ buffer, isMember: () => true });
    buffer.push(record(1));
    expect(await handler({ after: null, max: 10, waitMs: 60_000 }, context())).toEqual({
      epoch: "a1",
      events: [{ seq: 1, record: record(1) }],
    });
    const waiting = handler({ after: { epoch: "a1", seq: 1 }, max: 10, waitMs: 60_000 }, context()) as Promise<unknown>;
    setTimeout(() => buffer.push(record(2)), 20);
    expect(await waiting).toEqual({ epoch: "a1", events: [{ seq: 2, record: record(2) }] });
    // Nothing new and no wait: an empty answer.
    expect(await handler({ after: { epoch: "a1", seq: 2 }, max: 10, waitMs: 0 }, context())).toEqual({
      epoch: "a1",
      events: [],
    });
  });

  it("fits a full buffer of large records into one RPC frame", async () => {
    const buffer = new MemberEventBuffer({ epoch: "a1" });
    for (let n = 1; n <= 400; n++) buffer.push({ ...record(n), Message: "m".repeat(8_000) });
    const handler = eventsPullHandler({ buffer, isMember: () => true });
    const answer = (await handler({ after: null, max: 10_000, waitMs: 0 }, context())) as { events: unknown[] };
    const bytes = Buffer.byteLength(JSON.stringify({ v: 1, id: "x".repeat(36), ok: true, body: answer }));
    expect(bytes).toBeLessThanOrEqual(RPC_MAX_FRAME_BYTES);
    expect(bytes).toBeGreaterThan(EVENTS_PULL_ANSWER_MAX_BYTES / 2);
    expect(answer.events.length).toBeLessThan(400);
  });
});

describe("attachMemberEvents and the RPC FacadeEventSource", () => {
  it("registers the pull, reads its own buffer locally and others over the RPC", async () => {
    const handlers = new Map<string, RpcHandler>();
    const rpc = {
      register: (method: string, handler: RpcHandler) => void handlers.set(method, handler),
      unregister: (method: string) => void handlers.delete(method),
    };
    const events = attachMemberEvents({ rpc, bmc: undefined, isMember: () => true });
    events.buffer.push(record(1));
    const calls: { peer: string; body: unknown }[] = [];
    const source = rpcFacadeEventSource({
      selfId: "self",
      local: events,
      rpc: {
        call: async (peer, method, body) => {
          calls.push({ peer, body });
          return (handlers.get(method) as RpcHandler)(body, context(peer));
        },
      },
    });
    const local = await source.pull("self", null, 10, 0);
    expect(local.events.map((e) => e.seq)).toEqual([1]);
    expect(calls).toEqual([]);
    const remote = await source.pull("other", { epoch: events.buffer.epoch, seq: 0 }, 10, 0);
    expect(remote.events.map((e) => e.seq)).toEqual([1]);
    expect(calls).toHaveLength(1);
    await events.close();
    expect(handlers.has(EVENTS_PULL_METHOD)).toBe(false);
  });

  it("refuses a malformed answer from a member", async () => {
    const source = rpcFacadeEventSource({
      selfId: "self",
      local: { pullLocal: async () => ({ epoch: "a", events: [] }) },
      rpc: {
        call: async () => ({
          epoch: "a",
          events: [
            { seq: 2, record: {} },
            { seq: 1, record: {} },
          ],
        }),
      },
    });
    await expect(source.pull("other", null, 10, 0)).rejects.toThrow(/increasing seq/);
  });
});
