// `/conclave/raft/1`: Raft messages between agents. One long-lived outbound stream per peer
// carries length-prefixed frames, each one message in the consensus codec. Sending never blocks
// the Raft loop: frames wait in a bounded per-peer queue that drops the oldest when the peer is
// slow or unreachable, which Raft tolerates (it retries, and newer messages supersede older ones).
import { decodeMessage, encodeMessage, type Message, type NodeId } from "@conclave/consensus";
import type { Connection, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Uint8ArrayList } from "uint8arraylist";
import { NotStartedError, PeerNotAllowedError, ProtocolError } from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { encodeFrame, FrameDecoder } from "./frame.ts";
import { type Network, type PeerGate, RAFT_PROTOCOL } from "./network.ts";
import { OutboundQueue } from "./outbound-queue.ts";

/** Largest frame sent or accepted. Keep Raft's maxMessageBytes and snapshot chunks well below it. */
export const RAFT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Per-peer outbound queue bounds. With 32 peers all stalled, the worst case is 32 x 2 MiB. */
export const RAFT_QUEUE_MAX_MESSAGES = 256;
export const RAFT_QUEUE_MAX_BYTES = 2 * 1024 * 1024;
/** Opening a stream to a peer (dial included) must finish within this. */
export const RAFT_OPEN_TIMEOUT_MS = 2_000;
/** A stream whose peer has not taken data for this long is reset and reopened. */
export const RAFT_DRAIN_TIMEOUT_MS = 5_000;
/** Back-off between attempts to reach an unreachable peer: doubles from the first to the last. */
export const RAFT_RETRY_BACKOFF_INITIAL_MS = 100;
export const RAFT_RETRY_BACKOFF_MAX_MS = 2_000;
/** Distinct peers we keep send state for; Raft only sends to members, so this is a safety net. */
export const RAFT_MAX_PEERS = 128;
/** Each peer keeps one stream to us; a few more allow for a reconnect racing the old stream's close. */
const MAX_INBOUND_STREAMS_PER_CONNECTION = 4;

export interface RaftTransportInit {
  /** Called once per received message, in arrival order per peer. Enqueue it; do not block. */
  readonly onMessage: (message: Message) => void;
  readonly maxFrameBytes?: number;
  readonly queueMaxMessages?: number;
  readonly queueMaxBytes?: number;
  readonly openTimeoutMs?: number;
  readonly drainTimeoutMs?: number;
}

export interface RaftTransportComponents {
  readonly network: Network;
  readonly isPeerAllowed: PeerGate;
  readonly logger?: AgentLogger;
}

export interface RaftPeerStats {
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly sent: number;
  readonly dropped: number;
  readonly connected: boolean;
}

export interface RaftTransportStats {
  readonly sent: number;
  readonly received: number;
  /** Frames dropped before sending: queue overflow, unreachable peer, broken stream, too many peers. */
  readonly dropped: number;
  /** Inbound streams refused by the peer gate. */
  readonly refusedStreams: number;
  /** Inbound frames that were oversize or did not decode, or spoofed their sender; their streams were reset. */
  readonly rejectedFrames: number;
  /** Well-formed messages addressed to another node. */
  readonly misaddressed: number;
  readonly peers: ReadonlyMap<NodeId, RaftPeerStats>;
}

export interface RaftTransport {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Queues `message` for `message.to`. Never blocks and never throws for network reasons. */
  send(message: Message): void;
  /** Drops the send state of a peer that left the cluster. */
  forgetPeer(nodeId: NodeId): void;
  stats(): RaftTransportStats;
}

export function raftTransport(init: RaftTransportInit): (components: RaftTransportComponents) => RaftTransport {
  return (components) => new Libp2pRaftTransport(init, components);
}

interface Settings {
  readonly maxFrameBytes: number;
  readonly queueMaxMessages: number;
  readonly queueMaxBytes: number;
  readonly openTimeoutMs: number;
  readonly drainTimeoutMs: number;
}

class Libp2pRaftTransport implements RaftTransport {
  readonly #init: RaftTransportInit;
  readonly #network: Network;
  readonly #isPeerAllowed: PeerGate;
  readonly #logger: AgentLogger;
  readonly #settings: Settings;
  readonly #senders = new Map<NodeId, PeerSender>();
  readonly #inbound = new Set<Stream>();
  #selfId = "";
  #running = false;
  #received = 0;
  #droppedUntracked = 0;
  #refusedStreams = 0;
  #rejectedFrames = 0;
  #misaddressed = 0;

  constructor(init: RaftTransportInit, components: RaftTransportComponents) {
    this.#init = init;
    this.#network = components.network;
    this.#isPeerAllowed = components.isPeerAllowed;
    this.#logger = components.logger ?? silentLogger;
    this.#settings = {
      maxFrameBytes: init.maxFrameBytes ?? RAFT_MAX_FRAME_BYTES,
      queueMaxMessages: init.queueMaxMessages ?? RAFT_QUEUE_MAX_MESSAGES,
      queueMaxBytes: init.queueMaxBytes ?? RAFT_QUEUE_MAX_BYTES,
      openTimeoutMs: init.openTimeoutMs ?? RAFT_OPEN_TIMEOUT_MS,
      drainTimeoutMs: init.drainTimeoutMs ?? RAFT_DRAIN_TIMEOUT_MS,
    };
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#selfId = this.#network.peerId.toString();
    await this.#network.handle(RAFT_PROTOCOL, (stream, connection) => this.#accept(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
      maxOutboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
    });
    this.#running = true;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#network.unhandle(RAFT_PROTOCOL);
    for (const sender of this.#senders.values()) sender.close();
    this.#senders.clear();
    for (const stream of this.#inbound) stream.abort(new Error("raft transport stopped"));
    this.#inbound.clear();
  }

  send(message: Message): void {
    if (!this.#running) throw new NotStartedError("raft transport");
    let sender = this.#senders.get(message.to);
    if (sender === undefined) {
      if (this.#senders.size >= RAFT_MAX_PEERS || message.to === this.#selfId) {
        this.#droppedUntracked++;
        return;
      }
      sender = new PeerSender(message.to, this.#network, this.#settings, this.#logger);
      this.#senders.set(message.to, sender);
    }
    const frame = encodeFrame(encodeMessage(message));
    if (frame.byteLength > this.#settings.maxFrameBytes) {
      this.#droppedUntracked++;
      this.#logger.error(
        { peer: message.to, type: message.type, frameBytes: frame.byteLength },
        "raft message larger than the frame limit dropped: lower Raft's maxMessageBytes",
      );
      return;
    }
    sender.enqueue(frame);
  }

  forgetPeer(nodeId: NodeId): void {
    const sender = this.#senders.get(nodeId);
    if (sender === undefined) return;
    this.#droppedUntracked += sender.queue.length + sender.dropped;
    sender.close();
    this.#senders.delete(nodeId);
  }

  stats(): RaftTransportStats {
    const peers = new Map<NodeId, RaftPeerStats>();
    let sent = 0;
    let dropped = this.#droppedUntracked;
    for (const [nodeId, sender] of this.#senders) {
      const peerStats = sender.stats();
      peers.set(nodeId, peerStats);
      sent += peerStats.sent;
      dropped += peerStats.dropped;
    }
    return {
      sent,
      received: this.#received,
      dropped,
      refusedStreams: this.#refusedStreams,
      rejectedFrames: this.#rejectedFrames,
      misaddressed: this.#misaddressed,
      peers,
    };
  }

  #accept(stream: Stream, connection: Connection): void {
    const remote = connection.remotePeer.toString();
    if (!this.#running || !this.#isPeerAllowed(remote, RAFT_PROTOCOL)) {
      this.#refusedStreams++;
      this.#logger.warn({ peer: remote, protocol: RAFT_PROTOCOL }, "refused a stream from a peer that is not allowed");
      stream.abort(new PeerNotAllowedError(remote, RAFT_PROTOCOL));
      return;
    }
    this.#inbound.add(stream);
    const decoder = new FrameDecoder(this.#settings.maxFrameBytes);
    const reject = (err: Error) => {
      this.#rejectedFrames++;
      this.#logger.warn({ peer: remote, err }, "reset a raft stream carrying a bad frame");
      stream.abort(err);
    };
    stream.addEventListener("message", (event) => {
      // Membership changes while a stream is open: a removed member loses it at its next frame.
      if (!this.#isPeerAllowed(remote, RAFT_PROTOCOL)) {
        this.#refusedStreams++;
        stream.abort(new PeerNotAllowedError(remote, RAFT_PROTOCOL));
        return;
      }
      this.#deliver(remote, decoder, event.data, reject);
    });
    stream.addEventListener("remoteCloseWrite", () => {
      stream.close().catch(() => {});
    });
    stream.addEventListener("close", () => {
      this.#inbound.delete(stream);
    });
  }

  #deliver(remote: string, decoder: FrameDecoder, data: Uint8Array | Uint8ArrayList, reject: (err: Error) => void) {
    let frames: Uint8Array[];
    try {
      frames = decoder.push(data);
    } catch (err) {
      reject(err instanceof Error ? err : new ProtocolError(String(err)));
      return;
    }
    for (const frame of frames) {
      let message: Message;
      try {
        message = decodeMessage(frame, { maxMessageBytes: this.#settings.maxFrameBytes });
      } catch (err) {
        reject(new ProtocolError(`undecodable raft message: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      // Noise authenticated the connection's peer; a message must not claim to be from another.
      if (message.from !== remote) {
        reject(new ProtocolError(`raft message claims to be from ${message.from} on a stream from ${remote}`));
        return;
      }
      if (message.to !== this.#selfId) {
        this.#misaddressed++;
        continue;
      }
      this.#received++;
      try {
        this.#init.onMessage(message);
      } catch (err) {
        this.#logger.error({ err, peer: remote }, "raft message handler threw");
      }
    }
  }
}

/** The outbound side for one peer: its queue, its stream, and the pump that moves one to the other. */
class PeerSender {
  readonly queue: OutboundQueue;
  readonly #peer: NodeId;
  readonly #network: Network;
  readonly #settings: Settings;
  readonly #logger: AgentLogger;
  readonly #closed = new AbortController();
  #stream: Stream | undefined;
  #pumping = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs = RAFT_RETRY_BACKOFF_INITIAL_MS;
  #sent = 0;
  #lostInFlight = 0;

  constructor(peer: NodeId, network: Network, settings: Settings, logger: AgentLogger) {
    this.#peer = peer;
    this.#network = network;
    this.#settings = settings;
    this.#logger = logger;
    this.queue = new OutboundQueue({ maxMessages: settings.queueMaxMessages, maxBytes: settings.queueMaxBytes });
  }

  get dropped(): number {
    return this.queue.dropped + this.#lostInFlight;
  }

  stats(): RaftPeerStats {
    return {
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.bytes,
      sent: this.#sent,
      dropped: this.dropped,
      connected: this.#stream !== undefined,
    };
  }

  enqueue(frame: Uint8Array): void {
    this.queue.push(frame);
    if (!this.#pumping && this.#retryTimer === undefined) void this.#pump();
  }

  close(): void {
    this.#closed.abort();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#stream?.abort(new Error("raft peer closed"));
    this.#stream = undefined;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.queue.length > 0 && !this.#closed.signal.aborted) {
        const stream = this.#stream ?? (await this.#open());
        if (stream === undefined) return;
        if (stream.writableNeedsDrain && !(await this.#waitForDrain(stream))) continue;
        const frame = this.queue.shift();
        if (frame === undefined) break;
        try {
          stream.send(frame);
          this.#sent++;
        } catch (err) {
          this.#lostInFlight++;
          this.#logger.debug({ peer: this.#peer, err }, "raft stream broke while sending");
          this.#dropStream(stream, err);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #open(): Promise<Stream | undefined> {
    const signal = AbortSignal.any([this.#closed.signal, AbortSignal.timeout(this.#settings.openTimeoutMs)]);
    try {
      const stream = await this.#network.dialProtocol(peerIdFromString(this.#peer), RAFT_PROTOCOL, { signal });
      if (this.#closed.signal.aborted) {
        stream.abort(new Error("raft peer closed"));
        return undefined;
      }
      stream.addEventListener("close", () => {
        if (this.#stream === stream) this.#stream = undefined;
      });
      this.#stream = stream;
      this.#backoffMs = RAFT_RETRY_BACKOFF_INITIAL_MS;
      return stream;
    } catch (err) {
      if (this.#closed.signal.aborted) return undefined;
      // Stale messages to a peer we cannot reach are worthless: Raft resends what matters.
      const dropped = this.queue.clear();
      this.#logger.debug(
        { peer: this.#peer, err, dropped, retryInMs: this.#backoffMs },
        "cannot open a raft stream to peer",
      );
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.queue.length > 0 && !this.#pumping) void this.#pump();
      }, this.#backoffMs);
      this.#retryTimer.unref();
      this.#backoffMs = Math.min(this.#backoffMs * 2, RAFT_RETRY_BACKOFF_MAX_MS);
      return undefined;
    }
  }

  /** Waits for the stream to take more data; false when it broke or stalled (it is then dropped). */
  async #waitForDrain(stream: Stream): Promise<boolean> {
    const signal = AbortSignal.any([this.#closed.signal, AbortSignal.timeout(this.#settings.drainTimeoutMs)]);
    try {
      await stream.onDrain({ signal });
      return true;
    } catch (err) {
      if (!this.#closed.signal.aborted) {
        this.#logger.debug({ peer: this.#peer, err }, "raft stream stalled; resetting it");
        this.#dropStream(stream, err);
      }
      return false;
    }
  }

  #dropStream(stream: Stream, reason: unknown): void {
    if (this.#stream === stream) this.#stream = undefined;
    stream.abort(reason instanceof Error ? reason : new Error(String(reason)));
  }
}
