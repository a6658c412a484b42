// The discovered-peer dialer against a scripted network: libp2p announces a peer once, so every
// retry, every re-dial after a disconnect and the bound on remembered peers are the dialer's own.
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId, PeerInfo } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterEach, describe, expect, it } from "vitest";
import { type DiscoveredPeerDialer, discoveredPeerDialer } from "../src/p2p/discovered-peers.ts";

const BACKOFF_MS = 5;
/** Bound on polling in these tests. */
const WAIT_MS = 3_000;

async function newPeerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
}

/** Two ids, sorted: the lower dials at once on discovery, the higher waits one back-off. */
async function sortedPeerIds(count: number): Promise<PeerId[]> {
  const ids = await Promise.all(Array.from({ length: count }, () => newPeerId()));
  return ids.sort((a, b) => (a.toString() < b.toString() ? -1 : 1));
}

/** A network whose dials fail `failuresBefore[peer]` times, then connect. */
class ScriptedNetwork extends EventTarget {
  readonly peerId: PeerId;
  readonly dials: string[] = [];
  readonly connected = new Set<string>();
  readonly failuresBefore = new Map<string, number>();

  constructor(peerId: PeerId) {
    super();
    this.peerId = peerId;
  }

  async dial(peer: PeerId): Promise<unknown> {
    const key = peer.toString();
    this.dials.push(key);
    const left = this.failuresBefore.get(key) ?? 0;
    if (left > 0) {
      this.failuresBefore.set(key, left - 1);
      throw new Error(`scripted failure dialling ${key}`);
    }
    this.connected.add(key);
    return {};
  }

  getConnections(peer?: PeerId): unknown[] {
    if (peer === undefined) return [...this.connected];
    return this.connected.has(peer.toString()) ? [{}] : [];
  }

  discover(peer: PeerId): void {
    this.dispatchEvent(new CustomEvent<PeerInfo>("peer:discovery", { detail: { id: peer, multiaddrs: [] } }));
  }

  disconnect(peer: PeerId): void {
    this.connected.delete(peer.toString());
    this.dispatchEvent(new CustomEvent<PeerId>("peer:disconnect", { detail: peer }));
  }

  dialsTo(peer: PeerId): number {
    return this.dials.filter((dial) => dial === peer.toString()).length;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

let dialer: DiscoveredPeerDialer | undefined;
afterEach(() => dialer?.stop());

function start(network: ScriptedNetwork, maxPeers?: number, maxConnections = 96): DiscoveredPeerDialer {
  dialer = discoveredPeerDialer(
    { initialBackoffMs: BACKOFF_MS, maxBackoffMs: BACKOFF_MS * 4, maxConnections, ...(maxPeers ? { maxPeers } : {}) },
    // biome-ignore lint/suspicious/noExplicitAny: the scripted network implements the part of Libp2p the dialer uses
    { network: network as any },
  );
  dialer.start();
  return dialer;
}

describe("discovered peers", () => {
  it("keeps dialling a discovered peer whose first dials fail, and stops once connected", async () => {
    const [self, peer] = (await sortedPeerIds(2)) as [PeerId, PeerId];
    const network = new ScriptedNetwork(self);
    network.failuresBefore.set(peer.toString(), 4);
    const peers = start(network);
    network.discover(peer);
    expect(network.dialsTo(peer)).toBe(1);
    await until("the fifth dial to connect", () => network.connected.has(peer.toString()));
    expect(network.dialsTo(peer)).toBe(5);
    expect(peers.peers()).toEqual([{ peerId: peer.toString(), connected: true, failures: 0 }]);
    await sleep(BACKOFF_MS * 10);
    expect(network.dialsTo(peer)).toBe(5);
  });

  it("lets the lower id dial first: the higher id dials only if no connection came in meanwhile", async () => {
    const [low, mid, high] = (await sortedPeerIds(3)) as [PeerId, PeerId, PeerId];
    const network = new ScriptedNetwork(high);
    start(network);
    network.discover(low);
    expect(network.dialsTo(low)).toBe(0);
    network.connected.add(low.toString()); // the lower id's connection arrives
    await sleep(BACKOFF_MS * 4);
    expect(network.dialsTo(low)).toBe(0);

    network.discover(mid); // no connection arrives from this one
    expect(network.dialsTo(mid)).toBe(0);
    await until("the waiting side to dial", () => network.dialsTo(mid) === 1);
  });

  it("dials a peer again after it disconnects, and ignores a repeated discovery", async () => {
    const [self, peer] = (await sortedPeerIds(2)) as [PeerId, PeerId];
    const network = new ScriptedNetwork(self);
    start(network);
    network.discover(peer);
    network.discover(peer);
    expect(network.dialsTo(peer)).toBe(1);
    network.failuresBefore.set(peer.toString(), 2);
    network.disconnect(peer);
    await until("the peer to be connected again", () => network.connected.has(peer.toString()));
    expect(network.dialsTo(peer)).toBe(4);
  });

  it("remembers at most maxPeers, forgetting the unconnected peer that failed most", async () => {
    const [self, good, bad, fresh, last] = (await sortedPeerIds(5)) as [PeerId, PeerId, PeerId, PeerId, PeerId];
    const network = new ScriptedNetwork(self);
    network.failuresBefore.set(bad.toString(), 1_000);
    const peers = start(network, 2);
    network.discover(good);
    network.discover(bad);
    await until("the bad peer to fail twice", () => network.dialsTo(bad) >= 2);
    network.discover(fresh);
    expect(new Set(peers.peers().map((p) => p.peerId))).toEqual(new Set([good.toString(), fresh.toString()]));
    // Both remembered peers are connected: a further one is not taken.
    await until("the fresh peer to connect", () => network.connected.has(fresh.toString()));
    network.discover(last);
    expect(network.dialsTo(last)).toBe(0);
    expect(peers.peers()).toHaveLength(2);
    const badDials = network.dialsTo(bad);
    await sleep(BACKOFF_MS * 10);
    expect(network.dialsTo(bad)).toBe(badDials);
  });

  it("dials nobody while the connection limit is reached, and again once below it", async () => {
    const [self, peer, ...others] = (await sortedPeerIds(4)) as PeerId[];
    const network = new ScriptedNetwork(self as PeerId);
    for (const other of others) network.connected.add(other.toString());
    start(network, undefined, 2);
    network.discover(peer as PeerId);
    expect(network.dialsTo(peer as PeerId)).toBe(0);
    network.connected.delete((others[0] as PeerId).toString());
    await until("the peer to be dialled", () => network.dialsTo(peer as PeerId) === 1);
  });

  it("dials nothing after stop", async () => {
    const [self, peer] = (await sortedPeerIds(2)) as [PeerId, PeerId];
    const network = new ScriptedNetwork(self);
    network.failuresBefore.set(peer.toString(), 1_000);
    const peers = start(network);
    network.discover(peer);
    peers.stop();
    const dials = network.dialsTo(peer);
    await sleep(BACKOFF_MS * 10);
    expect(network.dialsTo(peer)).toBe(dials);
    network.discover(peer);
    expect(network.dialsTo(peer)).toBe(dials);
  });
});
