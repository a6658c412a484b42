// What a member tells the PoC about itself beyond the core member record travels as labels the
// agent reserves (the record's schema is shared by every agent version; labels are free-form):
// its name, whether it has a BMC to aggregate, and its BMC's host when that is not localhost.
// Operators' own labels never use these keys (the config refuses them).

/** The member's name (config `nodeName`); `conclave drain NAME` resolves it too. */
export const NAME_LABEL = "name";
/** "none" for a member with no BMC to aggregate (a witness on a management host). */
export const BMC_LABEL = "conclave.bmc";
export const NO_BMC_LABEL_VALUE = "none";
/** The host of the member's BMC URL, when it is not a loopback address. */
export const BMC_HOST_LABEL = "conclave.bmc-host";
/** Keys an operator's labels may not start with. */
export const RESERVED_LABEL_PREFIX = "conclave.";

/** The labels shown as the member's own (the topology's), without the reserved ones. */
export function operatorLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (key !== NAME_LABEL && !key.startsWith(RESERVED_LABEL_PREFIX)) out[key] = value;
  }
  return out;
}

/** The BMC host label for a BMC URL: its host, unless it is loopback (then the member's addresses say more). */
export function bmcHostOf(redfishUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(redfishUrl).hostname;
  } catch {
    return undefined;
  }
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (bare === "localhost" || bare === "::1" || bare.startsWith("127.")) return undefined;
  return bare;
}
