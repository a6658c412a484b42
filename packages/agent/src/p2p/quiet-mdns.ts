// mDNS discovery (@libp2p/mdns) that passes on only what is news. Every node queries every
// MDNS_QUERY_INTERVAL_MS and every node answers every query by multicast, so each node hears about
// N²/interval answers: ~100 a second in a 32-BMC rack. libp2p merges each one into its peer store
// (protobuf encode, decode, address dedupe, a lock), which was the largest single CPU cost of a
// 32-BMC rack forming. A peer this node is connected to needs no reminder, and one it is not
// connected to needs one only every MDNS_REANNOUNCE_MS (the discovered-peer dialer retries anyway).
import type { PeerDiscovery, PeerId, PeerInfo, Startable } from "@libp2p/interface";
import { peerDiscoverySymbol, serviceCapabilities } from "@libp2p/interface";
import { type MulticastDNSComponents, type MulticastDNSInit, mdns } from "@libp2p/mdns";

/** Longest a not-connected peer's announcements are held back (its addresses may have changed). */
export const MDNS_REANNOUNCE_MS = 30_000;
/** Peers whose last announcement time is remembered; beyond it the oldest are forgotten. */
export const MDNS_ANNOUNCED_PEERS_MAX = 256;

export interface QuietMdnsComponents extends MulticastDNSComponents {
  readonly connectionManager: { getConnections(peerId?: PeerId): unknown[] };
}

export interface QuietMdnsInit extends MulticastDNSInit {
  readonly reannounceMs?: number;
  /** The discovery whose announcements are filtered (tests); @libp2p/mdns by default. */
  readonly inner?: (components: QuietMdnsComponents) => PeerDiscovery;
  readonly nowMs?: () => number;
}

export function quietMdns(init: QuietMdnsInit): (components: QuietMdnsComponents) => PeerDiscovery {
  // A plain EventTarget: libp2p only adds and removes a "peer" listener.
  return (components) => new QuietMdns(init, components) as unknown as PeerDiscovery;
}

class QuietMdns extends EventTarget implements Startable {
  readonly [peerDiscoverySymbol] = this;
  readonly [Symbol.toStringTag] = "@conclave/quiet-mdns";
  readonly [serviceCapabilities] = ["@libp2p/peer-discovery"];
  readonly #inner: PeerDiscovery & Partial<Startable>;
  readonly #components: QuietMdnsComponents;
  readonly #reannounceMs: number;
  readonly #nowMs: () => number;
  /** Peer id → when it was last passed on. Insertion order is refreshed on every pass, oldest first. */
  readonly #announcedAtMs = new Map<string, number>();

  constructor(init: QuietMdnsInit, components: QuietMdnsComponents) {
    super();
    this.#inner = (init.inner ?? mdns(init))(components) as PeerDiscovery & Partial<Startable>;
    this.#components = components;
    this.#reannounceMs = init.reannounceMs ?? MDNS_REANNOUNCE_MS;
    this.#nowMs = init.nowMs ?? Date.now;
  }

  async start(): Promise<void> {
    this.#inner.addEventListener("peer", this.#onPeer);
    await this.#inner.start?.();
  }

  async stop(): Promise<void> {
    this.#inner.removeEventListener("peer", this.#onPeer);
    await this.#inner.stop?.();
    this.#announcedAtMs.clear();
  }

  readonly #onPeer = (event: CustomEvent<PeerInfo>): void => {
    const peer = event.detail;
    const key = peer.id.toString();
    if (this.#components.connectionManager.getConnections(peer.id).length > 0) return;
    const nowMs = this.#nowMs();
    const lastMs = this.#announcedAtMs.get(key);
    if (lastMs !== undefined && nowMs - lastMs < this.#reannounceMs) return;
    this.#announcedAtMs.delete(key);
    this.#announcedAtMs.set(key, nowMs);
    if (this.#announcedAtMs.size > MDNS_ANNOUNCED_PEERS_MAX) {
      const oldest = this.#announcedAtMs.keys().next().value;
      if (oldest !== undefined) this.#announcedAtMs.delete(oldest);
    }
    this.dispatchEvent(new CustomEvent("peer", { detail: peer }));
  };
}
