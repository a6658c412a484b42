// Test helpers: real libp2p hosts on 127.0.0.1, port 0, with a shared or a wrong cluster secret.

import type { Message } from "@conclave/consensus";
import { generateKeyPair } from "@libp2p/crypto/keys";
import {
  type ConclaveHost,
  type ConclaveHostInit,
  createConclaveHost,
  generateClusterSecret,
  parseClusterSecret,
} from "../src/index.ts";

export interface TestHost {
  readonly host: ConclaveHost;
  readonly received: Message[];
  /** Peer ids this host serves; tests edit it. `undefined` serves everyone. */
  allowed: Set<string> | undefined;
  /** Address to dial, with the peer id. */
  readonly address: string;
}

export function newSecret(): Uint8Array {
  return parseClusterSecret(Buffer.from(generateClusterSecret()), "test").psk;
}

export async function startHost(
  secret: Uint8Array,
  options: { staticPeers?: string[]; overrides?: Partial<ConclaveHostInit> } = {},
): Promise<TestHost> {
  const received: Message[] = [];
  const state: { allowed: Set<string> | undefined } = { allowed: undefined };
  const host = await createConclaveHost({
    privateKey: await generateKeyPair("Ed25519"),
    clusterSecret: secret,
    clusterName: "test",
    listen: ["/ip4/127.0.0.1/tcp/0"],
    staticPeers: options.staticPeers ?? [],
    mdns: false,
    isPeerAllowed: (peerId) => state.allowed === undefined || state.allowed.has(peerId),
    onRaftMessage: (message) => received.push(message),
    staticPeerDialing: { initialBackoffMs: 100, maxBackoffMs: 1_000 },
    ...options.overrides,
  });
  await host.start();
  const address = host.getMultiaddrs()[0]!.toString();
  return {
    host,
    received,
    address,
    get allowed() {
      return state.allowed;
    },
    set allowed(value) {
      state.allowed = value;
    },
  };
}

/** Polls `condition` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function heartbeat(from: string, to: string, commit = 0): Message {
  return { type: "heartbeat", from, to, term: 1, commit, leaseTick: 7, readRound: 0 };
}

/** An address without the trailing /p2p/<id>, as an identical config would list it. */
export function withoutPeerId(address: string): string {
  return address.replace(/\/p2p\/[^/]+$/, "");
}
