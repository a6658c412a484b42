// Keeps a connection open to every configured static peer: dials at start, and again with bounded
// exponential back-off after a failure or a disconnect. The config is the same on every node, so
// the list may hold this node's own address (skipped once seen) and addresses without peer ids
// (the id is learned from the first connection, then used to reuse connections).
import type { Libp2p, PeerId } from "@libp2p/interface";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { type AgentLogger, silentLogger } from "../logger.ts";

export const STATIC_PEER_BACKOFF_INITIAL_MS = 500;
export const STATIC_PEER_BACKOFF_MAX_MS = 30_000;
/** Each delay is randomised by up to this fraction so that nodes restarted together do not dial in lockstep. */
const BACKOFF_JITTER = 0.2;
export const STATIC_PEER_DIAL_TIMEOUT_MS = 5_000;

export interface StaticPeerDialerInit {
  readonly addresses: readonly string[];
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly dialTimeoutMs?: number;
}

export interface StaticPeerDialerComponents {
  readonly network: Pick<Libp2p, "peerId" | "dial" | "getConnections" | "addEventListener" | "removeEventListener">;
  readonly logger?: AgentLogger;
}

export interface StaticPeerState {
  readonly address: string;
  /** Learned from the first successful connection (or given in the address). */
  readonly peerId: string | undefined;
  readonly connected: boolean;
  /** This node's own address: never dialled again. */
  readonly self: boolean;
  readonly failures: number;
}

export interface StaticPeerDialer {
  start(): Promise<void>;
  stop(): Promise<void>;
  peers(): StaticPeerState[];
}

export function staticPeerDialer(
  init: StaticPeerDialerInit,
): (components: StaticPeerDialerComponents) => StaticPeerDialer {
  return (components) => new BackoffStaticPeerDialer(init, components);
}

interface Target {
  readonly address: Multiaddr;
  readonly text: string;
  peerId: PeerId | undefined;
  self: boolean;
  failures: number;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

class BackoffStaticPeerDialer implements StaticPeerDialer {
  readonly #network: StaticPeerDialerComponents["network"];
  readonly #logger: AgentLogger;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #dialTimeoutMs: number;
  readonly #targets: Target[];
  #stopped = new AbortController();
  #running = false;

  constructor(init: StaticPeerDialerInit, components: StaticPeerDialerComponents) {
    this.#network = components.network;
    this.#logger = components.logger ?? silentLogger;
    this.#initialBackoffMs = init.initialBackoffMs ?? STATIC_PEER_BACKOFF_INITIAL_MS;
    this.#maxBackoffMs = init.maxBackoffMs ?? STATIC_PEER_BACKOFF_MAX_MS;
    this.#dialTimeoutMs = init.dialTimeoutMs ?? STATIC_PEER_DIAL_TIMEOUT_MS;
    this.#targets = [...new Set(init.addresses)].map((text) => {
      const address = multiaddr(text);
      const peerIdText = address.getComponents().find((component) => component.name === "p2p")?.value;
      return {
        address,
        text,
        peerId: undefined,
        self: peerIdText !== undefined && peerIdText === components.network.peerId.toString(),
        failures: 0,
        backoffMs: this.#initialBackoffMs,
        timer: undefined,
        dialing: false,
      };
    });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = new AbortController();
    this.#network.addEventListener("peer:disconnect", this.#onDisconnect);
    for (const target of this.#targets) void this.#dial(target);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopped.abort();
    this.#network.removeEventListener("peer:disconnect", this.#onDisconnect);
    for (const target of this.#targets) {
      clearTimeout(target.timer);
      target.timer = undefined;
    }
  }

  peers(): StaticPeerState[] {
    return this.#targets.map((target) => ({
      address: target.text,
      peerId: target.peerId?.toString(),
      connected: target.peerId !== undefined && this.#network.getConnections(target.peerId).length > 0,
      self: target.self,
      failures: target.failures,
    }));
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    for (const target of this.#targets) {
      if (target.peerId?.equals(event.detail)) this.#schedule(target, this.#initialBackoffMs);
    }
  };

  async #dial(target: Target): Promise<void> {
    if (!this.#running || target.self || target.dialing) return;
    if (target.peerId !== undefined && this.#network.getConnections(target.peerId).length > 0) return;
    target.dialing = true;
    // Once the peer id is known, dial it with the id: libp2p reuses an open connection (say, one
    // the peer opened to us) and Noise checks the peer is still the one we met.
    const address = target.peerId === undefined ? target.address : withPeerId(target.address, target.peerId);
    try {
      const signal = AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#dialTimeoutMs)]);
      const connection = await this.#network.dial(address, { signal });
      target.peerId = connection.remotePeer;
      target.failures = 0;
      target.backoffMs = this.#initialBackoffMs;
      this.#logger.debug({ address: target.text, peer: connection.remotePeer.toString() }, "connected to static peer");
    } catch (err) {
      if (!this.#running) return;
      if (isSelfDial(err)) {
        target.self = true;
        this.#logger.debug({ address: target.text }, "static peer is this node; skipping it");
        return;
      }
      target.failures++;
      // The node at this address may have a new identity (its state was wiped): forget the old id.
      if (target.peerId !== undefined && target.failures > 1) target.peerId = undefined;
      const delayMs = target.backoffMs;
      target.backoffMs = Math.min(target.backoffMs * 2, this.#maxBackoffMs);
      const log = target.failures === 1 || target.failures % 10 === 0 ? "info" : "debug";
      this.#logger[log](
        { address: target.text, failures: target.failures, retryInMs: delayMs, err },
        "cannot reach static peer",
      );
      this.#schedule(target, delayMs);
    } finally {
      target.dialing = false;
    }
  }

  #schedule(target: Target, delayMs: number): void {
    if (!this.#running || target.self || target.timer !== undefined) return;
    const jittered = Math.round(delayMs * (1 + BACKOFF_JITTER * (Math.random() * 2 - 1)));
    target.timer = setTimeout(() => {
      target.timer = undefined;
      void this.#dial(target);
    }, jittered);
    target.timer.unref();
  }
}

function withPeerId(address: Multiaddr, peerId: PeerId): Multiaddr {
  const hasPeerId = address.getComponents().some((component) => component.name === "p2p");
  return hasPeerId ? address : address.encapsulate(`/p2p/${peerId.toString()}`);
}

function isSelfDial(err: unknown): boolean {
  const errors = err instanceof AggregateError ? err.errors : [err];
  return errors.some((error) => {
    const message = error instanceof Error ? error.message : String(error);
    return /dial self/i.test(message);
  });
}
