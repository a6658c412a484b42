// Parsing `ip -o addr show` and comparing addresses the way the kernel does (IPv6 in canonical form).
import { isIPv4, isIPv6 } from "node:net";

export interface InterfaceAddress {
  readonly address: string;
  readonly prefix: number;
}

/** Default VIP prefix lengths, as the config documents them. */
export const DEFAULT_IPV4_PREFIX = 24;
export const DEFAULT_IPV6_PREFIX = 64;

/** The canonical text of an IP address (`fd00:0::1` -> `fd00::1`), or the input when it is not one. */
export function canonicalAddress(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  // WHATWG URL serialises IPv6 hosts in RFC 5952 form.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

export function sameAddress(a: string, b: string): boolean {
  return canonicalAddress(a) === canonicalAddress(b);
}

/** Every `inet`/`inet6` address in the output of `ip -o addr show dev <iface>`. */
export function parseIpAddrShow(text: string): InterfaceAddress[] {
  const addresses: InterfaceAddress[] = [];
  for (const match of text.matchAll(/\binet6?\s+([0-9A-Fa-f:.]+)\/(\d{1,3})\b/g)) {
    const [, address, prefix] = match;
    if (address !== undefined && prefix !== undefined) addresses.push({ address, prefix: Number(prefix) });
  }
  return addresses;
}

export function defaultPrefix(address: string): number {
  return isIPv6(address) ? DEFAULT_IPV6_PREFIX : DEFAULT_IPV4_PREFIX;
}
