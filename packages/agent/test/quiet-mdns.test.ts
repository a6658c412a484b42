// Quiet mDNS passes on a peer only when it is news: not connected, and not announced within the
// re-announce interval. The announcements come from a scripted discovery in place of @libp2p/mdns.
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerDiscovery, PeerId, PeerInfo } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { describe, expect, it } from "vitest";
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
});
