// mDNS discovery (@libp2p/mdns) that asks rarely and passes on only what is news.
//
// Every node answers every query by multicast, so a rack of N nodes each querying every T seconds
// makes every node parse N²/T answers a second: with the library's 10 s, about 100 a second in a
// 32-BMC rack, a fifth of an idle agent's CPU. What a query is for is the first minute of a node's
// life (finding the rack, or finding it again after a restart); a node it has met stays in the
// discovered-peer dialer, which redials it after a disconnect. So a node queries at start, then
// MDNS_FOLLOW_UP_QUERIES more times at doubling gaps from MDNS_FOLLOW_UP_FIRST_MS (1, 3, 7, 15 and
// 31 s after start: a few lost packets cost seconds, not a minute), then only at the library's own
// interval (MDNS_QUERY_INTERVAL_MS in host.ts). Answers from the other nodes' queries reach this one
// too, since they are multicast.
//
// Each answer libp2p hears is merged into its peer store (protobuf encode, decode, address dedupe,
// a lock), which was the largest single CPU cost of a 32-BMC rack forming. A peer this node is
// connected to needs no reminder, and one it is not connected to needs one only every
// MDNS_REANNOUNCE_MS (the discovered-peer dialer retries anyway).
import type { PeerDiscovery, PeerId, PeerInfo, Startable } from "@libp2p/interface";
import { peerDiscoverySymbol, serviceCapabilities } from "@libp2p/interface";
import { type MulticastDNSComponents, type MulticastDNSInit, mdns } from "@libp2p/mdns";
import { type AgentLogger, silentLogger } from "../logger.ts";

/** Longest a not-connected peer's announcements are held back (its addresses may have changed). */
export const MDNS_REANNOUNCE_MS = 30_000;
/** Peers whose last announcement time is remembered; beyond it the oldest are forgotten. */
export const MDNS_ANNOUNCED_PEERS_MAX = 256;
/** Queries sent after the one at start, before only the library's interval is left. */
export const MDNS_FOLLOW_UP_QUERIES = 5;
/** The gap before the first follow-up query; each next gap is twice the last. */
export const MDNS_FOLLOW_UP_FIRST_MS = 1_000;

/** What this wrapper uses of @libp2p/mdns's discovery: its multicast-dns socket, once started. */
interface MdnsSocketHolder {
  readonly mdns?: { query(packet: { questions: { name: string; type: "PTR" }[] }): void };
}

export interface QuietMdnsComponents extends MulticastDNSComponents {
  readonly connectionManager: { getConnections(peerId?: PeerId): unknown[] };
}

export interface QuietMdnsInit extends MulticastDNSInit {
  readonly serviceTag: string;
  readonly reannounceMs?: number;
  readonly followUpQueries?: number;
  readonly followUpFirstMs?: number;
  readonly logger?: AgentLogger;
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
  readonly #serviceTag: string;
  readonly #followUpQueries: number;
  readonly #followUpFirstMs: number;
  #followUpTimer: NodeJS.Timeout | undefined;
  readonly #logger: AgentLogger;
  /** Peer id → when it was last passed on. Insertion order is refreshed on every pass, oldest first. */
  readonly #announcedAtMs = new Map<string, number>();

  constructor(init: QuietMdnsInit, components: QuietMdnsComponents) {
    super();
    this.#inner = (init.inner ?? mdns(init))(components) as PeerDiscovery & Partial<Startable>;
    this.#components = components;
    this.#reannounceMs = init.reannounceMs ?? MDNS_REANNOUNCE_MS;
    this.#nowMs = init.nowMs ?? Date.now;
    this.#serviceTag = init.serviceTag;
    this.#followUpQueries = init.followUpQueries ?? MDNS_FOLLOW_UP_QUERIES;
    this.#followUpFirstMs = init.followUpFirstMs ?? MDNS_FOLLOW_UP_FIRST_MS;
    this.#logger = init.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    this.#inner.addEventListener("peer", this.#onPeer);
    await this.#inner.start?.();
    if (typeof (this.#inner as MdnsSocketHolder).mdns?.query !== "function") {
      // A library whose discovery no longer exposes its socket: it still queries at its interval.
      this.#logger.warn(
        {},
        "mDNS follow-up queries unavailable: a lost first query is repeated only at the mDNS interval",
      );
      return;
    }
    this.#scheduleFollowUp(0, this.#followUpFirstMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#followUpTimer);
    this.#followUpTimer = undefined;
    this.#inner.removeEventListener("peer", this.#onPeer);
    await this.#inner.stop?.();
    this.#announcedAtMs.clear();
  }

  #scheduleFollowUp(sent: number, gapMs: number): void {
    if (sent >= this.#followUpQueries) return;
    this.#followUpTimer = setTimeout(() => {
      // The socket exists while the library's discovery runs; without it there is nothing to ask with.
      (this.#inner as MdnsSocketHolder).mdns?.query({ questions: [{ name: this.#serviceTag, type: "PTR" }] });
      this.#scheduleFollowUp(sent + 1, gapMs * 2);
    }, gapMs);
    this.#followUpTimer.unref();
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
