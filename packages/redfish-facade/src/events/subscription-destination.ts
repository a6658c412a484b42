// Whether a push Destination points into a private network. BMC management networks are private,
// so by default any destination is accepted; a site that keeps the facade's pushes off its
// internal hosts sets `allowPrivateDestinations: false`, and then a Destination whose host is a
// loopback, link-local, private (RFC 1918, IPv6 ULA) or unspecified address, or a name that
// resolves to one (any of its addresses), is refused when created. Delivery checks again when it
// connects (publicOnlyLookup), so a name that later resolves to a private address is not reached.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { lookup as dnsLookupAsync } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

export interface SubscriptionPolicy {
  /** Whether a Destination may be on a loopback, link-local or private network (default true). */
  readonly allowPrivateDestinations: boolean;
}

export const DEFAULT_SUBSCRIPTION_POLICY: SubscriptionPolicy = Object.freeze({ allowPrivateDestinations: true });

/** How long resolving a Destination's name may take when a subscription is created. */
export const DESTINATION_LOOKUP_TIMEOUT_MS = 2_000;

/** Resolves a host name to every address it has. */
export type DestinationLookup = (hostname: string) => Promise<readonly string[]>;

const PRIVATE_NETWORKS: readonly (readonly [string, number, "ipv4" | "ipv6", string])[] = [
  ["0.0.0.0", 8, "ipv4", "an unspecified"],
  ["127.0.0.0", 8, "ipv4", "a loopback"],
  ["10.0.0.0", 8, "ipv4", "a private"],
  ["172.16.0.0", 12, "ipv4", "a private"],
  ["192.168.0.0", 16, "ipv4", "a private"],
  ["169.254.0.0", 16, "ipv4", "a link-local"],
  ["::", 128, "ipv6", "an unspecified"],
  ["::1", 128, "ipv6", "a loopback"],
  ["fe80::", 10, "ipv6", "a link-local"],
  ["fc00::", 7, "ipv6", "a private (unique local)"],
];

/** One BlockList per kind, so the refusal can say which kind (IPv4-mapped IPv6 addresses included). */
const NETWORKS_BY_KIND: ReadonlyMap<string, BlockList> = (() => {
  const byKind = new Map<string, BlockList>();
  for (const [network, prefix, family, kind] of PRIVATE_NETWORKS) {
    const list = byKind.get(kind) ?? new BlockList();
    list.addSubnet(network, prefix, family);
    byKind.set(kind, list);
  }
  return byKind;
})();

/** "a loopback", "a private", ... for an address in one of those networks; undefined otherwise. */
export function privateAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  for (const [kind, list] of NETWORKS_BY_KIND) {
    if (list.check(address, family === 4 ? "ipv4" : "ipv6")) return kind;
  }
  return undefined;
}

/** A URL's host as an address (IPv6 without its brackets), or undefined when it is a name. */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : bare;
}

export const systemLookup: DestinationLookup = async (hostname) =>
  (await dnsLookupAsync(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Why `destination` (an http(s) URL) is refused under a policy without private destinations, or
 * undefined when every address of its host is public. A name that does not resolve (in
 * DESTINATION_LOOKUP_TIMEOUT_MS) is refused too: whether it is private cannot be known.
 */
export async function privateDestinationReason(
  destination: string,
  lookup: DestinationLookup = systemLookup,
): Promise<string | undefined> {
  const { hostname } = new URL(destination);
  const literal = literalAddress(hostname);
  if (literal !== undefined) {
    const kind = privateAddressKind(literal);
    return kind === undefined ? undefined : `${literal} is ${kind} address`;
  }
  let addresses: readonly string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    addresses = await Promise.race([
      lookup(hostname),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), DESTINATION_LOOKUP_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    return `${hostname} does not resolve (${(error as Error).message})`;
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) return `${hostname} does not resolve`;
  for (const address of addresses) {
    const kind = privateAddressKind(address);
    if (kind !== undefined) return `${hostname} resolves to ${address}, ${kind} address`;
  }
  return undefined;
}

/** Whether `destination`'s host is itself a private address (no lookup: delivery's quick check). */
export function isPrivateLiteralDestination(destination: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(destination).hostname;
  } catch {
    return false;
  }
  const literal = literalAddress(hostname);
  return literal !== undefined && privateAddressKind(literal) !== undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect (undici's `connect` options) that fails when the name resolves to a
 * private address: what delivery connects to is checked when it connects, not only when created.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, entries) => {
    if (error !== null) {
      callback(error, "", undefined);
      return;
    }
    const refused = entries.find((entry) => privateAddressKind(entry.address) !== undefined);
    if (refused !== undefined) {
      const denied: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${refused.address}, ${privateAddressKind(refused.address)} address`,
      );
      denied.code = "EADDRNOTAVAIL";
      callback(denied, "", undefined);
      return;
    }
    const first = entries[0];
    if (options.all === true) callback(null, entries);
    else if (first === undefined)
      callback(Object.assign(new Error(`${hostname} does not resolve`), { code: "ENOTFOUND" }), "", undefined);
    else callback(null, first.address, first.family);
  });
}
