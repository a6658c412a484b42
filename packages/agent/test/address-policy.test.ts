// What a node announces and what it refuses to dial: never the floating VIP (a connection through
// it dies silently on one side when the VIP moves), and no loopback when it has other addresses.
import { createServer } from "node:net";
import { multiaddr } from "@multiformats/multiaddr";
import { afterEach, describe, expect, it } from "vitest";
import { announcedAddresses, canonicalIp, FloatingAddresses } from "../src/p2p/address-policy.ts";
import { newSecret, startHost, type TestHost, waitFor, withoutPeerId } from "./hosts.ts";

const VIP = "127.0.0.2";

describe("announced addresses", () => {
  const lan = multiaddr("/ip4/10.1.2.3/tcp/7420");
  const vip = multiaddr("/ip4/10.1.2.100/tcp/7420");
  const loopback = multiaddr("/ip4/127.0.0.1/tcp/7420");
  const loopback6 = multiaddr("/ip6/::1/tcp/7420");
  const none = new FloatingAddresses([]);

  it("leave out loopback when the node has another address, and keep it when it is all there is", () => {
    expect(announcedAddresses([loopback, lan, loopback6], none).map(String)).toEqual([String(lan)]);
    expect(announcedAddresses([loopback, loopback6], none).map(String)).toEqual([String(loopback), String(loopback6)]);
  });

  it("never include the VIP, even when it would be the only address left", () => {
    const floating = new FloatingAddresses(["10.1.2.100"]);
    expect(announcedAddresses([lan, vip, loopback], floating).map(String)).toEqual([String(lan)]);
    expect(announcedAddresses([vip, loopback], floating).map(String)).toEqual([String(loopback)]);
  });

  it("recognise an IPv6 VIP however it is written", () => {
    expect(canonicalIp("FD00:0::0:5")).toBe("fd00::5");
    const floating = new FloatingAddresses(["fd00:0:0::5"]);
    expect(floating.covers(multiaddr("/ip6/fd00::5/tcp/7420"))).toBe(true);
    expect(floating.covers(multiaddr("/ip6/fd00::6/tcp/7420"))).toBe(false);
    expect(floating.covers(multiaddr("/ip4/10.1.2.3/tcp/7420"))).toBe(false);
  });
});

describe("a host with a floating address", () => {
  const hosts: TestHost[] = [];
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((test) => test.host.stop()));
  });

  /** A free port on the VIP (another loopback address here). */
  async function freePortOnVip(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, VIP, resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it("listens on the VIP but never announces it, and a peer never dials it", async () => {
    const secret = newSecret();
    const vipPort = await freePortOnVip();
    const poc = await startHost(secret, {
      overrides: { listen: ["/ip4/127.0.0.1/tcp/0", `/ip4/${VIP}/tcp/${vipPort}`], floatingAddresses: [VIP] },
    });
    hosts.push(poc);
    expect(poc.host.getMultiaddrs().map(String)).toEqual([poc.address]);
    expect(poc.address).toContain("/ip4/127.0.0.1/");

    const member = await startHost(secret, { overrides: { floatingAddresses: [VIP] } });
    hosts.push(member);
    const throughVip = multiaddr(`/ip4/${VIP}/tcp/${vipPort}/p2p/${poc.host.nodeId}`);
    await expect(member.host.libp2p.dial(throughVip)).rejects.toThrow();
    expect(member.host.connectedPeers()).toEqual([]);

    // Through the fixed address it connects, and identify tells it nothing about the VIP.
    const identified = new Promise<string[]>((resolve) => {
      member.host.libp2p.addEventListener("peer:identify", (event) => {
        if (event.detail.peerId.equals(poc.host.peerId)) resolve(event.detail.listenAddrs.map(String));
      });
    });
    await member.host.libp2p.dial(multiaddr(poc.address));
    await waitFor("the connection", () => member.host.connectedPeers().includes(poc.host.nodeId));
    expect(await identified).toEqual([withoutPeerId(poc.address)]);
    const record = await member.host.libp2p.peerStore.get(poc.host.peerId);
    const known = record.addresses.map((address) => address.multiaddr.toString());
    expect(known.some((address) => address.includes(`/ip4/${VIP}/`))).toBe(false);
  });
});
