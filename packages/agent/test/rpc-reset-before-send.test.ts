// A callee that resets an rpc stream before the caller writes makes `send` throw. The call must
// fail with RpcUnavailableError and leave nothing behind: its pending read used to reject later,
// at the timeout, unhandled — which ends a Node process (a 32-BMC rack lost an agent this way).
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { describe, expect, it } from "vitest";
import { RpcUnavailableError } from "../src/index.ts";
import { rpcService } from "../src/p2p/rpc.ts";

const TIMEOUT_MS = 50;

describe("rpc call on a stream reset before the request is sent", () => {
  it("rejects with RpcUnavailableError and no unhandled rejection follows at the timeout", async () => {
    const self = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const peer = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const stream = Object.assign(new EventTarget(), {
        status: "reset",
        send: () => {
          throw new Error("stream reset by the remote");
        },
        abort: () => {},
        close: async () => {},
      });
      const network = {
        peerId: self,
        handle: async () => {},
        unhandle: async () => {},
        dialProtocol: async () => stream,
      };
      // biome-ignore lint/suspicious/noExplicitAny: a scripted network with the one stream this test needs
      const rpc = rpcService({ defaultTimeoutMs: TIMEOUT_MS })({ network: network as any, isPeerAllowed: () => true });
      await rpc.start();
      await expect(rpc.call(peer.toString(), "conclave.test")).rejects.toBeInstanceOf(RpcUnavailableError);
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 4));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
