// The agent's libp2p host: TCP, a private network (pnet pre-shared key) under Noise and Yamux,
// mDNS and static peers for discovery, identify and ping, and the two Conclave protocols.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { preSharedKey } from "@libp2p/pnet";
import { tcp } from "@libp2p/tcp";
import type { Multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { announcedAddresses, FloatingAddresses } from "./address-policy.ts";
import { discoveredPeerDialer } from "./discovered-peers.ts";
import type { PeerGate } from "./network.ts";
import { quietMdns } from "./quiet-mdns.ts";
import { type RaftTransport, type RaftTransportInit, raftTransport } from "./raft-transport.ts";
import { type RpcInit, type RpcService, rpcService } from "./rpc.ts";
import { type StaticPeerDialer, type StaticPeerDialerInit, staticPeerDialer } from "./static-peers.ts";

/**
 * Connection limits. A group is at most ~32 BMCs, so a node needs about 31 connections, twice that
 * when two nodes dial each other at once; the rest is headroom for joiners and reconnects.
 */
export const MAX_CONNECTIONS = 96;
/** Hard limit at the socket level, above MAX_CONNECTIONS so that libp2p prunes before TCP refuses. */
export const MAX_TCP_CONNECTIONS = 128;
/** Inbound connections still in pnet/Noise/Yamux negotiation at once: a node without the secret stalls here. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 8;
/** New inbound connections per second accepted from one address. */
export const INBOUND_CONNECTIONS_PER_SECOND_PER_HOST = 10;
export const MAX_PARALLEL_DIALS = 16;
export const MAX_DIAL_QUEUE_LENGTH = 64;
export const DIAL_TIMEOUT_MS = 5_000;
/** pnet nonce exchange, Noise handshake and Yamux negotiation of an inbound connection. */
export const INBOUND_UPGRADE_TIMEOUT_MS = 5_000;
/**
 * pnet's nonce exchange: both ends send 24 bytes at once. Milliseconds on an idle BMC; a CPU-starved
 * one answered in over a second (a 32-BMC rack booting on two cores), and each timeout there cost
 * a whole dial and its back-off.
 */
export const PNET_HANDSHAKE_TIMEOUT_MS = 3_000;
/**
 * The library's own mDNS query interval, after the follow-up queries of a node's first half
 * minute (quiet-mdns.ts). Rack-wide, 32 nodes still ask about once every two seconds, and
 * every node hears every answer.
 */
export const MDNS_QUERY_INTERVAL_MS = 60_000;
/**
 * libp2p's connection monitor pings every connection this often and aborts one whose ping takes
 * longer than P2P_PING_TIMEOUT_MIN_MS (its timeout adapts upwards from there). Its defaults (10 s,
 * 5 s) aborted live connections of CPU-starved peers: a 32-BMC rack on two cores lost half its mesh
 * every minute and reconnected in a storm of handshakes. Nothing in Conclave waits for a dead
 * connection to be closed: Raft elects without it, member reads have their own deadlines, and a
 * peer that comes back resets its old connections at their first segment (Raft writes to every
 * member at least every other heartbeat). Each ping opens a stream and negotiates its protocol: at
 * 30 s, the 31 connections of a 32-BMC member cost 6% of its idle CPU; every two minutes, 1.5%.
 */
export const P2P_PING_INTERVAL_MS = 120_000;
export const P2P_PING_TIMEOUT_MIN_MS = 20_000;

export interface ConclaveHostInit {
  readonly privateKey: PrivateKey;
  /** Swarm key bytes, as `readClusterSecret(file).psk` returns them. */
  readonly clusterSecret: Uint8Array;
  readonly clusterName: string;
  readonly listen: readonly string[];
  readonly staticPeers?: readonly string[];
  readonly mdns?: boolean;
  /** IPs that move between nodes (the VIP): never announced, never dialled (see address-policy.ts). */
  readonly floatingAddresses?: readonly string[];
  /** Consulted for every inbound stream on the Conclave protocols; others are reset. */
  readonly isPeerAllowed: PeerGate;
  readonly onRaftMessage: RaftTransportInit["onMessage"];
  readonly raft?: Omit<RaftTransportInit, "onMessage">;
  readonly rpc?: RpcInit;
  readonly staticPeerDialing?: Omit<StaticPeerDialerInit, "addresses">;
  readonly logger?: AgentLogger;
}

export interface ConclaveHost {
  readonly peerId: PeerId;
  /** The peer id as a string: the Raft node id. */
  readonly nodeId: string;
  readonly raft: RaftTransport;
  readonly rpc: RpcService;
  readonly staticPeers: StaticPeerDialer;
  /** The libp2p node, for events (`peer:connect`, `peer:disconnect`, `peer:identify`) and diagnostics. */
  readonly libp2p: Libp2p;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Addresses this host listens on, with its peer id (after start; port 0 is resolved). */
  getMultiaddrs(): Multiaddr[];
  /** Peers with at least one open connection. */
  connectedPeers(): string[];
}

/** The mDNS service name: one per cluster, so unrelated clusters on a link do not even try each other. */
export function mdnsServiceTag(clusterName: string): string {
  return `_conclave-${clusterName}._udp.local`;
}

/** Builds the host, not started: call `start()`. */
export async function createConclaveHost(init: ConclaveHostInit): Promise<ConclaveHost> {
  const logger = init.logger ?? silentLogger;
  const floating = new FloatingAddresses(init.floatingAddresses ?? []);
  const libp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    nodeInfo: { userAgent: "conclave" },
    addresses: { listen: [...init.listen], announceFilter: (addresses) => announcedAddresses(addresses, floating) },
    // A peer store may still hold a floating address (learnt before, or from a static peer list).
    connectionGater: { denyDialMultiaddr: (address) => floating.covers(address) },
    transports: [tcp({ maxConnections: MAX_TCP_CONNECTIONS })],
    connectionProtector: preSharedKey({ psk: init.clusterSecret, timeout: PNET_HANDSHAKE_TIMEOUT_MS }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery:
      init.mdns === true
        ? [quietMdns({ serviceTag: mdnsServiceTag(init.clusterName), interval: MDNS_QUERY_INTERVAL_MS, logger })]
        : [],
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND_PER_HOST,
      maxParallelDials: MAX_PARALLEL_DIALS,
      maxDialQueueLength: MAX_DIAL_QUEUE_LENGTH,
      dialTimeout: DIAL_TIMEOUT_MS,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    connectionMonitor: {
      pingInterval: P2P_PING_INTERVAL_MS,
      pingTimeout: { minTimeout: P2P_PING_TIMEOUT_MIN_MS },
    },
    services: {
      identify: identify(),
      ping: ping(),
    },
  });

  const network = libp2p;
  const raft = raftTransport({ ...init.raft, onMessage: init.onRaftMessage })({
    network,
    isPeerAllowed: init.isPeerAllowed,
    logger,
  });
  const rpc = rpcService(init.rpc)({ network, isPeerAllowed: init.isPeerAllowed, logger });
  const staticPeers = staticPeerDialer({ ...init.staticPeerDialing, addresses: init.staticPeers ?? [] })({
    network,
    logger,
  });

  // mDNS only fills the peer store; connecting (and connecting again) is ours to do.
  const discoveredPeers = discoveredPeerDialer({ maxConnections: MAX_CONNECTIONS }, { network: libp2p, logger });

  let started = false;
  return {
    peerId: libp2p.peerId,
    nodeId: libp2p.peerId.toString(),
    raft,
    rpc,
    staticPeers,
    libp2p,
    async start() {
      if (started) return;
      await libp2p.start();
      await raft.start();
      await rpc.start();
      discoveredPeers.start();
      await staticPeers.start();
      started = true;
      logger.info(
        { nodeId: libp2p.peerId.toString(), listen: libp2p.getMultiaddrs().map(String) },
        "libp2p host started",
      );
    },
    async stop() {
      if (!started) return;
      started = false;
      discoveredPeers.stop();
      await staticPeers.stop();
      await rpc.stop();
      await raft.stop();
      await libp2p.stop();
      logger.info({ nodeId: libp2p.peerId.toString() }, "libp2p host stopped");
    },
    getMultiaddrs: () => libp2p.getMultiaddrs(),
    connectedPeers: () => [...new Set(libp2p.getConnections().map((connection) => connection.remotePeer.toString()))],
  };
}
