// What the agent's protocols need from libp2p, and the hook that decides who is served.
import type { Libp2p } from "@libp2p/interface";

export const RAFT_PROTOCOL = "/conclave/raft/1";
export const RPC_PROTOCOL = "/conclave/rpc/1";

/**
 * Decides, for every inbound stream on a Conclave protocol (and for every later batch of frames
 * on a long-lived one), whether the remote peer is served. The daemon allows Raft members and
 * admitted joiners. It must be cheap and synchronous: it runs on the network path.
 */
export type PeerGate = (peerId: string, protocol: string) => boolean;

/** The part of a libp2p node the protocols use; a real `Libp2p` satisfies it. */
export type Network = Pick<Libp2p, "peerId" | "handle" | "unhandle" | "dialProtocol">;
