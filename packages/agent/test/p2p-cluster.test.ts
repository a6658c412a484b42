// Proves three hosts on loopback find each other through static peers, exchange Raft frames both ways and RPC calls, refuse disallowed peers, reject bad frames, and bound a slow peer's queue.

import { createServer } from "node:net";
import { EntryType, encodeMessage, type Message } from "@conclave/consensus";
import type { Stream } from "@libp2p/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentError,
  RAFT_PROTOCOL,
  RAFT_QUEUE_MAX_BYTES,
  RAFT_QUEUE_MAX_MESSAGES,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
  RpcUnknownMethodError,
} from "../src/index.ts";
import { encodeFrame, encodeVarint } from "../src/p2p/frame.ts";
import { heartbeat, newSecret, startHost, type TestHost, waitFor, withoutPeerId } from "./hosts.ts";

const secret = newSecret();
let a: TestHost;
let b: TestHost;
let c: TestHost;
const extraHosts: TestHost[] = [];

beforeAll(async () => {
  a = await startHost(secret);
  // The same list on every node, without peer ids, as an identical config would have it.
  b = await startHost(secret, { staticPeers: [withoutPeerId(a.address)] });
  c = await startHost(secret, { staticPeers: [withoutPeerId(a.address), withoutPeerId(b.address)] });
  await waitFor("a full mesh", () =>
    [a, b, c].every((node) => node.host.connectedPeers().filter((peer) => peer !== node.host.nodeId).length === 2),
  );
});

afterAll(async () => {
  await Promise.all([a, b, c, ...extraHosts].filter(Boolean).map((node) => node.host.stop()));
});

describe("raft transport", () => {
  it("carries messages in both directions, intact and in order", async () => {
    const append: Message = {
      type: "append",
      from: a.host.nodeId,
      to: b.host.nodeId,
      term: 3,
      prevIndex: 4,
      prevTerm: 2,
      entries: [
        { term: 3, index: 5, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
        { term: 3, index: 6, type: EntryType.Normal, data: new Uint8Array(0) },
      ],
      commit: 4,
      leaseTick: 99,
    };
    a.host.raft.send(append);
    for (let commit = 1; commit <= 20; commit++) a.host.raft.send(heartbeat(a.host.nodeId, c.host.nodeId, commit));
    b.host.raft.send(heartbeat(b.host.nodeId, a.host.nodeId));
    c.host.raft.send(heartbeat(c.host.nodeId, a.host.nodeId));
    c.host.raft.send(heartbeat(c.host.nodeId, b.host.nodeId));

    await waitFor("every message", () => b.received.length >= 2 && c.received.length >= 20 && a.received.length >= 2);
    expect(b.received).toContainEqual(append);
    expect(b.received).toContainEqual(heartbeat(c.host.nodeId, b.host.nodeId));
    expect(c.received.map((message) => (message.type === "heartbeat" ? message.commit : -1))).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    expect(a.received).toEqual(
      expect.arrayContaining([heartbeat(b.host.nodeId, a.host.nodeId), heartbeat(c.host.nodeId, a.host.nodeId)]),
    );
    expect(a.host.raft.stats().dropped).toBe(0);
    expect(a.host.raft.stats().peers.get(c.host.nodeId)).toMatchObject({ sent: 20, dropped: 0, connected: true });
  });

  it("resets a stream whose frame is over the size limit, before reading it", async () => {
    const before = b.host.raft.stats().rejectedFrames;
    const stream = await a.host.libp2p.dialProtocol(b.host.peerId, RAFT_PROTOCOL);
    stream.send(encodeVarint(64 * 1024 * 1024));
    await waitForClose(stream);
    await waitFor("the rejection to be counted", () => b.host.raft.stats().rejectedFrames === before + 1);
  });

  it("resets a stream carrying a message that claims another sender", async () => {
    const before = b.host.raft.stats().rejectedFrames;
    const receivedBefore = b.received.length;
    const stream = await a.host.libp2p.dialProtocol(b.host.peerId, RAFT_PROTOCOL);
    stream.send(encodeFrame(encodeMessage(heartbeat(c.host.nodeId, b.host.nodeId))));
    await waitForClose(stream);
    expect(b.host.raft.stats().rejectedFrames).toBe(before + 1);
    expect(b.received.length).toBe(receivedBefore);
  });

  it("resets a stream carrying bytes that are not a Raft message", async () => {
    const before = b.host.raft.stats().rejectedFrames;
    const stream = await a.host.libp2p.dialProtocol(b.host.peerId, RAFT_PROTOCOL);
    stream.send(encodeFrame(new TextEncoder().encode("hello")));
    await waitForClose(stream);
    expect(b.host.raft.stats().rejectedFrames).toBe(before + 1);
  });
});

describe("rpc", () => {
  beforeAll(() => {
    b.host.rpc.register("echo", (body, context) => ({ body, caller: context.peerId }));
    b.host.rpc.register("fail", () => {
      throw new AgentError("AGENT_ERR_PROTOCOL", "refused on purpose");
    });
    b.host.rpc.register("slow", (_body, context) => new Promise((resolve) => setTimeout(resolve, 1_000, context.id)));
  });

  it("calls a handler on another node and returns its answer", async () => {
    await expect(a.host.rpc.call(b.host.nodeId, "echo", { n: 1, s: "x" })).resolves.toEqual({
      body: { n: 1, s: "x" },
      caller: a.host.nodeId,
    });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => c.host.rpc.call(b.host.nodeId, "echo", n)));
    expect(answers.map((answer) => (answer as { body: number }).body)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("carries bodies several yamux windows long each way (window updates come once half a window is used)", async () => {
    // 256 KiB is a yamux stream's initial window; these need updates mid-stream in both directions.
    const large = "x".repeat(900 * 1024);
    for (let round = 0; round < 3; round++) {
      const answer = (await a.host.rpc.call(b.host.nodeId, "echo", { round, large })) as {
        body: { round: number; large: string };
      };
      expect(answer.body.round).toBe(round);
      expect(answer.body.large).toBe(large);
    }
    const many = await Promise.all(
      Array.from({ length: 4 }, (_, n) => c.host.rpc.call(b.host.nodeId, "echo", { n, large: large.slice(n) })),
    );
    expect(many.map((answer) => (answer as { body: { large: string } }).body.large.length)).toEqual(
      [0, 1, 2, 3].map((n) => large.length - n),
    );
  });

  it("reports an unknown method, a failing handler with its code, and a timeout", async () => {
    await expect(a.host.rpc.call(b.host.nodeId, "nope")).rejects.toBeInstanceOf(RpcUnknownMethodError);
    const failure = await a.host.rpc.call(b.host.nodeId, "fail").catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RpcRemoteError);
    expect(failure).toMatchObject({ remoteCode: "AGENT_ERR_PROTOCOL" });
    expect((failure as Error).message).toContain("refused on purpose");
    await expect(a.host.rpc.call(b.host.nodeId, "slow", null, { timeoutMs: 300 })).rejects.toBeInstanceOf(
      RpcTimeoutError,
    );
  });

  it("refuses a request over the size limit before sending it", async () => {
    await expect(a.host.rpc.call(b.host.nodeId, "echo", "x".repeat(2 * 1024 * 1024))).rejects.toMatchObject({
      code: "AGENT_ERR_FRAME_TOO_LARGE",
    });
  });
});

describe("peer gate", () => {
  it("refuses Raft and RPC streams from a peer that is not allowed, and serves it again once allowed", async () => {
    c.host.rpc.register("whoami", (_body, context) => context.peerId);
    c.allowed = new Set([b.host.nodeId]);
    try {
      const refusedBefore = c.host.raft.stats().refusedStreams;
      const fromA = () => c.received.filter((message) => message.from === a.host.nodeId).length;
      const receivedFromA = fromA();
      // A's existing stream to C is cut at its next frame; new ones are refused at once.
      a.host.raft.send(heartbeat(a.host.nodeId, c.host.nodeId, 1000));
      await waitFor("the refusal", () => c.host.raft.stats().refusedStreams > refusedBefore);
      a.host.raft.send(heartbeat(a.host.nodeId, c.host.nodeId, 1001));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fromA()).toBe(receivedFromA);

      await expect(a.host.rpc.call(c.host.nodeId, "whoami")).rejects.toBeInstanceOf(RpcUnavailableError);
      await expect(b.host.rpc.call(c.host.nodeId, "whoami")).resolves.toBe(b.host.nodeId);
    } finally {
      c.allowed = undefined;
    }
    await expect(a.host.rpc.call(c.host.nodeId, "whoami")).resolves.toBe(a.host.nodeId);
  });
});

describe("static peers", () => {
  it("skips this node's own address in the shared list", async () => {
    const port = await freePort();
    const own = `/ip4/127.0.0.1/tcp/${port}`;
    const node = await startHost(secret, {
      staticPeers: [own, withoutPeerId(a.address)],
      overrides: { listen: [own] },
    });
    extraHosts.push(node);
    await waitFor("the self address to be recognised", () =>
      node.host.staticPeers.peers().some((peer) => peer.address === own && peer.self),
    );
    await waitFor("the other static peer", () =>
      node.host.staticPeers.peers().some((peer) => peer.peerId === a.host.nodeId && peer.connected),
    );
  });

  it("re-dials a static peer after the connection drops", async () => {
    await b.host.libp2p.hangUp(a.host.peerId);
    await waitFor("b to reconnect to a", () => b.host.libp2p.getConnections(a.host.peerId).length > 0, 5_000);
  });
});

describe("slow peer", () => {
  it("keeps the outbound queue within its bounds, dropping the oldest and counting them", async () => {
    const sink = await startHost(secret);
    extraHosts.push(sink);
    // A peer that accepts the Raft stream and never reads it.
    await sink.host.raft.stop();
    const held: Stream[] = [];
    await sink.host.libp2p.handle(RAFT_PROTOCOL, (stream) => {
      stream.pause();
      held.push(stream);
    });
    await a.host.libp2p.dial(sink.host.getMultiaddrs()[0]!);

    const payload = new Uint8Array(64 * 1024);
    const total = 1_000;
    for (let index = 1; index <= total; index++) {
      a.host.raft.send({
        type: "append",
        from: a.host.nodeId,
        to: sink.host.nodeId,
        term: 1,
        prevIndex: index - 1,
        prevTerm: 1,
        entries: [{ term: 1, index, type: EntryType.Normal, data: payload }],
        commit: 0,
        leaseTick: index,
      });
      const peer = a.host.raft.stats().peers.get(sink.host.nodeId)!;
      expect(peer.queuedMessages).toBeLessThanOrEqual(RAFT_QUEUE_MAX_MESSAGES);
      expect(peer.queuedBytes).toBeLessThanOrEqual(RAFT_QUEUE_MAX_BYTES);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const peer = a.host.raft.stats().peers.get(sink.host.nodeId)!;
    expect(peer.dropped).toBeGreaterThan(total / 2);
    expect(peer.sent + peer.dropped + peer.queuedMessages).toBe(total);
    expect(peer.queuedBytes).toBeLessThanOrEqual(RAFT_QUEUE_MAX_BYTES);
    a.host.raft.forgetPeer(sink.host.nodeId);
  });
});

function waitForClose(stream: Stream): Promise<void> {
  if (stream.status !== "open") return Promise.resolve();
  return new Promise((resolve) => stream.addEventListener("close", () => resolve(), { once: true }));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}
