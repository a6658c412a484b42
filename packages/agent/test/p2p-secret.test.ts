// Proves a node with the wrong cluster secret can neither connect to the cluster's nodes nor read a single protocol byte from them, while nodes with the secret connect as usual.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RpcTimeoutError, RpcUnavailableError } from "../src/index.ts";
import { heartbeat, newSecret, startHost, type TestHost, waitFor, withoutPeerId } from "./hosts.ts";

const secret = newSecret();
let a: TestHost;
let b: TestHost;
let intruder: TestHost;

beforeAll(async () => {
  a = await startHost(secret);
  b = await startHost(secret, { staticPeers: [withoutPeerId(a.address)] });
  // Knows the address and is configured just like a member, but holds another secret.
  intruder = await startHost(newSecret(), { staticPeers: [withoutPeerId(a.address), withoutPeerId(b.address)] });
  a.host.rpc.register("secret", () => "the crown jewels");
  await waitFor("a and b to connect", () => a.host.connectedPeers().includes(b.host.nodeId));
});

afterAll(async () => {
  await Promise.all([a, b, intruder].filter(Boolean).map((node) => node.host.stop()));
});

describe("a node with the wrong cluster secret", () => {
  it("cannot connect, even when it dials the right address and peer id", async () => {
    await expect(
      intruder.host.libp2p.dial(multiaddr(a.address), { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toThrow();
    // Its static-peer dialler keeps failing too.
    await waitFor("the intruder's dialler to fail", () =>
      intruder.host.staticPeers.peers().every((peer) => peer.failures > 0 && !peer.connected),
    );
    expect(a.host.connectedPeers()).not.toContain(intruder.host.nodeId);
    expect(b.host.connectedPeers()).not.toContain(intruder.host.nodeId);
    expect(intruder.host.connectedPeers()).toEqual([]);
  });

  it("cannot call RPC methods or deliver Raft messages", async () => {
    await intruder.host.libp2p.peerStore.merge(a.host.peerId, { multiaddrs: [multiaddr(withoutPeerId(a.address))] });
    // Noise either fails at once on the garbage pnet leaves it, or waits for bytes that never make
    // sense until a timeout: both end the call without an answer.
    const failure = await intruder.host.rpc
      .call(a.host.nodeId, "secret", null, { timeoutMs: 2_000 })
      .catch((err: unknown) => err);
    expect(failure instanceof RpcUnavailableError || failure instanceof RpcTimeoutError).toBe(true);
    intruder.host.raft.send(heartbeat(intruder.host.nodeId, a.host.nodeId));
    await waitFor("the intruder's message to be dropped", () => intruder.host.raft.stats().dropped > 0);
    expect(a.received).toEqual([]);
  });

  it("reads nothing but random nonce bytes from a raw connection", async () => {
    const port = Number(/\/tcp\/(\d+)/.exec(a.address)?.[1]);
    const received = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, "127.0.0.1", () => {
        // A pnet nonce followed by what a libp2p dialler would send next, in the clear.
        socket.write(randomBytes(24));
        socket.write("\x13/multistream/1.0.0\n\x07/noise\n");
      });
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("error", () => {});
      socket.on("close", () => resolve(Buffer.concat(chunks)));
      setTimeout(() => {
        socket.destroy();
        reject(new Error("the node kept a connection without the secret open"));
      }, 10_000).unref();
    });
    // The node sends its own 24-byte nonce; everything after it would be encrypted with the secret.
    // Our garbage decrypts to garbage, so it hangs up without a word of multistream or Noise.
    expect(received.byteLength).toBeLessThanOrEqual(24);
    expect(received.toString("latin1")).not.toMatch(/multistream|noise|yamux|conclave/);
  });

  it("is not allowed to hold the members apart: they still talk to each other", async () => {
    a.host.raft.send(heartbeat(a.host.nodeId, b.host.nodeId));
    await waitFor("b to receive from a", () => b.received.some((message) => message.from === a.host.nodeId));
    await expect(b.host.rpc.call(a.host.nodeId, "secret")).resolves.toBe("the crown jewels");
  });
});
