// Which of its addresses a node tells other agents, and which addresses it never dials.
//
// Two kinds of address must not carry agent-to-agent connections:
// - loopback: a peer dialling "127.0.0.1:7420" reaches its own agent, fails Noise's identity
//   check, and wastes a handshake on every dial (one per peer per retry in a 32-BMC rack);
// - the floating VIP: the PoC listens on every address, so it would announce the VIP while it
//   holds it, and a restarted member would connect to the PoC through it. When the VIP moves to
//   that member, its own end of the connection now points at itself and is reset locally, while
//   the old PoC's end never hears of it: everything the old PoC sends on it (Raft answers, RPC
//   calls) vanishes until a ping times out, tens of seconds later. The new PoC then sees a live,
//   voting member as silent.
import { isIPv6 } from "node:net";
import type { Multiaddr } from "@multiformats/multiaddr";

function ipOf(address: Multiaddr): string | undefined {
  const ip = address.getComponents().find((component) => component.name === "ip4" || component.name === "ip6");
  return ip?.value;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/** One spelling per address, so "fd00::0:5" and "fd00::5" compare equal. */
export function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Checks addresses against the floating ones (the VIP), whatever their spelling. */
export class FloatingAddresses {
  readonly #ips: ReadonlySet<string>;

  constructor(ips: readonly string[]) {
    this.#ips = new Set(ips.map(canonicalIp));
  }

  /** True when `address` is on a floating IP. */
  covers(address: Multiaddr): boolean {
    const ip = ipOf(address);
    return ip !== undefined && this.#ips.has(canonicalIp(ip));
  }
}

/**
 * The addresses a node tells others (identify, mDNS): never a floating one, and not its loopback
 * ones when it has others (a node listening on loopback only, a demo or a test, still announces them).
 */
export function announcedAddresses(addresses: readonly Multiaddr[], floating: FloatingAddresses): Multiaddr[] {
  const fixed = addresses.filter((address) => !floating.covers(address));
  const reachable = fixed.filter((address) => {
    const ip = ipOf(address);
    return ip === undefined || !isLoopback(ip);
  });
  return reachable.length > 0 ? reachable : fixed;
}
