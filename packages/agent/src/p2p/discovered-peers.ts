// Keeps a connection open to every peer that discovery (mDNS) found. libp2p announces a peer once,
// when it first enters the peer store, so a first dial that fails would never be retried: a peer
// still starting up, or a rack of 32 BMCs booting together where every node receives 31 handshakes
// at the same moment and most time out. Formation then waited forever for peers it never dialled
// again. Here every discovered peer is dialled again with jittered exponential back-off after a
// failure or a disconnect, for as long as it is remembered.
import type { Libp2p, PeerId, PeerInfo } from "@libp2p/interface";
import { type AgentLogger, silentLogger } from "../logger.ts";

/** Peers remembered at once. A group is at most ~32 BMCs; the rest is room for replaced ones. */
export const DISCOVERED_PEERS_MAX = 64;
export const DISCOVERED_PEER_BACKOFF_INITIAL_MS = 500;
/** A peer met once is redialled at least this often: mDNS asks again only every minute (host.ts). */
export const DISCOVERED_PEER_BACKOFF_MAX_MS = 10_000;
export const DISCOVERED_PEER_DIAL_TIMEOUT_MS = 5_000;
/** Each delay is randomised by up to this fraction so that nodes that booted together do not dial in lockstep. */
const BACKOFF_JITTER = 0.2;

export interface DiscoveredPeerDialerInit {
  readonly maxPeers?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly dialTimeoutMs?: number;
  /** Dial nobody while this node holds this many connections (libp2p would prune them anyway). */
  readonly maxConnections: number;
}

export interface DiscoveredPeerDialerComponents {
  readonly network: Pick<Libp2p, "peerId" | "dial" | "getConnections" | "addEventListener" | "removeEventListener">;
  readonly logger?: AgentLogger;
  readonly random?: () => number;
}

export interface DiscoveredPeerState {
  readonly peerId: string;
  readonly connected: boolean;
  /** Failed dials since the last connection. */
  readonly failures: number;
}

export interface DiscoveredPeerDialer {
  start(): void;
  stop(): void;
  peers(): DiscoveredPeerState[];
}

interface Target {
  readonly peerId: PeerId;
  failures: number;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

export function discoveredPeerDialer(
  init: DiscoveredPeerDialerInit,
  components: DiscoveredPeerDialerComponents,
): DiscoveredPeerDialer {
  return new BackoffDiscoveredPeerDialer(init, components);
}

class BackoffDiscoveredPeerDialer implements DiscoveredPeerDialer {
  readonly #network: DiscoveredPeerDialerComponents["network"];
  readonly #logger: AgentLogger;
  readonly #random: () => number;
  readonly #maxPeers: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #dialTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #targets = new Map<string, Target>();
  #stopped = new AbortController();
  #running = false;

  constructor(init: DiscoveredPeerDialerInit, components: DiscoveredPeerDialerComponents) {
    this.#network = components.network;
    this.#logger = components.logger ?? silentLogger;
    this.#random = components.random ?? Math.random;
    this.#maxPeers = init.maxPeers ?? DISCOVERED_PEERS_MAX;
    this.#initialBackoffMs = init.initialBackoffMs ?? DISCOVERED_PEER_BACKOFF_INITIAL_MS;
    this.#maxBackoffMs = init.maxBackoffMs ?? DISCOVERED_PEER_BACKOFF_MAX_MS;
    this.#dialTimeoutMs = init.dialTimeoutMs ?? DISCOVERED_PEER_DIAL_TIMEOUT_MS;
    this.#maxConnections = init.maxConnections;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = new AbortController();
    this.#network.addEventListener("peer:discovery", this.#onDiscovery);
    this.#network.addEventListener("peer:disconnect", this.#onDisconnect);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#stopped.abort();
    this.#network.removeEventListener("peer:discovery", this.#onDiscovery);
    this.#network.removeEventListener("peer:disconnect", this.#onDisconnect);
    for (const target of this.#targets.values()) clearTimeout(target.timer);
    this.#targets.clear();
  }

  peers(): DiscoveredPeerState[] {
    return [...this.#targets.values()].map((target) => ({
      peerId: target.peerId.toString(),
      connected: this.#connected(target.peerId),
      failures: target.failures,
    }));
  }

  readonly #onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    const peerId = event.detail.id;
    if (peerId.equals(this.#network.peerId)) return;
    const key = peerId.toString();
    if (this.#targets.has(key)) return;
    if (this.#targets.size >= this.#maxPeers && !this.#evictOne()) {
      this.#logger.debug({ peer: key, max: this.#maxPeers }, "too many discovered peers; not dialling another");
      return;
    }
    const target: Target = {
      peerId,
      failures: 0,
      backoffMs: this.#initialBackoffMs,
      timer: undefined,
      dialing: false,
    };
    this.#targets.set(key, target);
    // Two nodes usually find each other at the same moment: the higher id waits one back-off, so
    // the pair opens one connection instead of two crossing handshakes.
    if (this.#network.peerId.toString() < key) void this.#dial(target);
    else this.#schedule(target, this.#initialBackoffMs);
  };

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    const target = this.#targets.get(event.detail.toString());
    if (target !== undefined) this.#schedule(target, this.#initialBackoffMs);
  };

  /** Forgets the peer that has failed most often and is not connected; false when every peer is connected. */
  #evictOne(): boolean {
    let worst: Target | undefined;
    for (const target of this.#targets.values()) {
      if (this.#connected(target.peerId)) continue;
      if (worst === undefined || target.failures > worst.failures) worst = target;
    }
    if (worst === undefined) return false;
    clearTimeout(worst.timer);
    this.#targets.delete(worst.peerId.toString());
    return true;
  }

  #connected(peerId: PeerId): boolean {
    return this.#network.getConnections(peerId).length > 0;
  }

  async #dial(target: Target): Promise<void> {
    if (!this.#running || target.dialing || this.#targets.get(target.peerId.toString()) !== target) return;
    if (this.#connected(target.peerId)) {
      target.failures = 0;
      target.backoffMs = this.#initialBackoffMs;
      return;
    }
    if (this.#network.getConnections().length >= this.#maxConnections) {
      this.#schedule(target, this.#maxBackoffMs);
      return;
    }
    target.dialing = true;
    try {
      const signal = AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#dialTimeoutMs)]);
      await this.#network.dial(target.peerId, { signal });
      target.failures = 0;
      target.backoffMs = this.#initialBackoffMs;
      this.#logger.debug({ peer: target.peerId.toString() }, "connected to a discovered peer");
    } catch (err) {
      if (!this.#running) return;
      target.failures++;
      const delayMs = target.backoffMs;
      target.backoffMs = Math.min(target.backoffMs * 2, this.#maxBackoffMs);
      const log = target.failures === 1 || target.failures % 10 === 0 ? "info" : "debug";
      this.#logger[log](
        { peer: target.peerId.toString(), failures: target.failures, retryInMs: delayMs, reason: dialFailure(err) },
        "cannot reach a discovered peer",
      );
      this.#schedule(target, delayMs);
    } finally {
      target.dialing = false;
    }
  }

  #schedule(target: Target, delayMs: number): void {
    if (!this.#running || target.timer !== undefined) return;
    const jittered = Math.round(delayMs * (1 + BACKOFF_JITTER * (this.#random() * 2 - 1)));
    target.timer = setTimeout(() => {
      target.timer = undefined;
      void this.#dial(target);
    }, jittered);
    target.timer.unref();
  }
}

/** One line naming why a dial failed, with each address's own reason when libp2p tried several. */
function dialFailure(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return `${err.message}: ${err.errors.map((inner) => String(inner)).join("; ")}`;
  }
  return String(err);
}
