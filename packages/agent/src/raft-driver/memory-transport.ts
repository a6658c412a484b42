// An in-memory implementation of the RaftTransport interface, for tests and simulations of
// the agent: every node attached to one MemoryRaftNetwork, with links that can be cut.
import type { Message, NodeId } from "@conclave/consensus";
import { NotStartedError } from "../errors.ts";
import type { RaftPeerStats, RaftTransport, RaftTransportStats } from "../p2p/raft-transport.ts";

export interface MemoryRaftNetworkOptions {
  /**
   * `async` (default) delivers in a later macrotask, in order, as a real network would;
   * `immediate` delivers inside send(), for tests that drive time by hand.
   */
  readonly delivery?: "async" | "immediate";
  /** Called with every message sent, before delivery (tests that check what a node said). */
  readonly onSend?: (message: Message) => void;
}

interface Endpoint {
  readonly onMessage: (message: Message) => void;
  running: boolean;
  sent: number;
  received: number;
  dropped: number;
}

export class MemoryRaftNetwork {
  readonly #delivery: "async" | "immediate";
  readonly #onSend: ((message: Message) => void) | undefined;
  readonly #endpoints = new Map<NodeId, Endpoint>();
  /** Directed links that are down, as "from>to". */
  readonly #cut = new Set<string>();
  /** Messages waiting for a node that reads nothing (a stalled process's socket buffers). */
  readonly #held = new Map<NodeId, Message[]>();
  #queue: Message[] = [];
  #flushScheduled = false;

  constructor(options: MemoryRaftNetworkOptions = {}) {
    this.#delivery = options.delivery ?? "async";
    this.#onSend = options.onSend;
  }

  /** A transport for `nodeId`; `onMessage` is called for each message delivered to it. Replaces an earlier one. */
  attach(nodeId: NodeId, onMessage: (message: Message) => void): RaftTransport {
    const endpoint: Endpoint = { onMessage, running: false, sent: 0, received: 0, dropped: 0 };
    this.#endpoints.set(nodeId, endpoint);
    const network = this;
    return {
      async start() {
        endpoint.running = true;
      },
      async stop() {
        endpoint.running = false;
      },
      send(message: Message) {
        if (!endpoint.running) throw new NotStartedError("memory raft transport");
        endpoint.sent++;
        network.#send(message);
      },
      forgetPeer() {},
      stats(): RaftTransportStats {
        return {
          sent: endpoint.sent,
          received: endpoint.received,
          dropped: endpoint.dropped,
          refusedStreams: 0,
          rejectedFrames: 0,
          misaddressed: 0,
          peers: new Map<NodeId, RaftPeerStats>(),
        };
      },
    };
  }

  /** Cuts every link to and from `nodeId`. */
  isolate(nodeId: NodeId): void {
    for (const other of this.#endpoints.keys()) {
      if (other === nodeId) continue;
      this.#cut.add(`${nodeId}>${other}`);
      this.#cut.add(`${other}>${nodeId}`);
    }
  }

  /** Cuts the one-way link from `from` to `to`. */
  cut(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** Messages to `nodeId` wait, in order, until `release` (a process that does not read its sockets). */
  hold(nodeId: NodeId): void {
    if (!this.#held.has(nodeId)) this.#held.set(nodeId, []);
  }

  /** Delivers what waited for `nodeId`, in order, and lets later messages through. Returns how many. */
  release(nodeId: NodeId): number {
    const waiting = this.#held.get(nodeId) ?? [];
    this.#held.delete(nodeId);
    for (const message of waiting) this.#deliver(message);
    return waiting.length;
  }

  #send(message: Message): void {
    this.#onSend?.(message);
    if (this.#delivery === "immediate") {
      this.#deliver(message);
      return;
    }
    this.#queue.push(message);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        const queue = this.#queue;
        this.#queue = [];
        for (const queued of queue) this.#deliver(queued);
      });
    }
  }

  #deliver(message: Message): void {
    const held = this.#held.get(message.to);
    if (held !== undefined) {
      held.push(message);
      return;
    }
    const source = this.#endpoints.get(message.from);
    const target = this.#endpoints.get(message.to);
    if (target === undefined || !target.running || this.#cut.has(`${message.from}>${message.to}`)) {
      if (source) source.dropped++;
      return;
    }
    target.received++;
    target.onMessage(message);
  }
}
