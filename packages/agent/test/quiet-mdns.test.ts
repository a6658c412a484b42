// Quiet mDNS asks a few more times in a node's first half minute, then leaves it to the library's
// long interval; and it passes on a peer only when it is news: not connected, and not announced
// within the re-announce interval. A scripted discovery stands in for @libp2p/mdns.
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerDiscovery, PeerId, PeerInfo } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type QuietMdnsComponents, quietMdns } from "../src/p2p/quiet-mdns.ts";

async function newPeerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
}

describe("quiet mDNS", () => {
  it("drops announcements of connected peers and repeats within the re-announce interval", async () => {
    const [a, b] = [await newPeerId(), await newPeerId()];
    const connected = new Set<string>();
    let nowMs = 0;
    const inner = new EventTarget();
    const components = {
      connectionManager: { getConnections: (peer?: PeerId) => (peer && connected.has(peer.toString()) ? [{}] : []) },
    } as unknown as QuietMdnsComponents;
    const discovery = quietMdns({
      serviceTag: "_conclave-test._udp.local",
      reannounceMs: 1_000,
      nowMs: () => nowMs,
      inner: () => inner as unknown as PeerDiscovery,
    })(components) as unknown as EventTarget & { start(): Promise<void>; stop(): Promise<void> };
    const passed: string[] = [];
    discovery.addEventListener("peer", (event) => passed.push((event as CustomEvent<PeerInfo>).detail.id.toString()));
    await discovery.start();
    const announce = (peer: PeerId) =>
      inner.dispatchEvent(new CustomEvent<PeerInfo>("peer", { detail: { id: peer, multiaddrs: [] } }));

    announce(a);
    announce(a); // a repeat at once
    announce(b);
    nowMs = 999;
    announce(a); // still within the interval
    nowMs = 1_000;
    announce(a); // due again: not connected
    connected.add(b.toString());
    nowMs = 5_000;
    announce(b); // connected: no reminder needed
    expect(passed).toEqual([a.toString(), b.toString(), a.toString()]);

    await discovery.stop();
    announce(a);
    expect(passed).toHaveLength(3);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("asks again at doubling gaps after start, then no more (the library's own interval takes over)", async () => {
    vi.useFakeTimers();
    const queries: unknown[] = [];
    const startedAt: number[] = [];
    const inner = Object.assign(new EventTarget(), {
      mdns: undefined as undefined | { query(packet: unknown): void },
      async start() {
        startedAt.push(Date.now());
        this.mdns = { query: (packet: unknown) => queries.push({ atMs: Date.now() - startedAt[0]!, packet }) };
      },
      async stop() {
        this.mdns = undefined;
      },
    });
    const components = { connectionManager: { getConnections: () => [] } } as unknown as QuietMdnsComponents;
    const discovery = quietMdns({
      serviceTag: "_conclave-rack._udp.local",
      followUpQueries: 5,
      followUpFirstMs: 1_000,
      inner: () => inner as unknown as PeerDiscovery,
    })(components) as unknown as { start(): Promise<void>; stop(): Promise<void> };
    await discovery.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(queries.map((query) => (query as { atMs: number }).atMs)).toEqual([1_000, 3_000, 7_000, 15_000, 31_000]);
    expect((queries[0] as { packet: unknown }).packet).toEqual({
      questions: [{ name: "_conclave-rack._udp.local", type: "PTR" }],
    });

    // Stopped before its follow-ups are done, it asks nothing more.
    queries.length = 0;
    startedAt.length = 0;
    await discovery.start();
    await vi.advanceTimersByTimeAsync(3_500);
    await discovery.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(queries.map((query) => (query as { atMs: number }).atMs)).toEqual([1_000, 3_000]);
  });
});
