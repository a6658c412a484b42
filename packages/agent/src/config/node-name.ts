// The member name: what the facade prefixes this node's Redfish resources with (`<name>_<id>`,
// bmcweb's convention) and what operators type in `conclave drain NAME`. One name per node,
// unique in the cluster; by default the host name, made to fit.
import { hostname } from "node:os";

/** What a name may be: letters, digits and inner hyphens, no `_` (it separates prefix and id). */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
export const NODE_NAME_MAX_CHARS = 63;
/** The name of a node whose host name has nothing usable in it. */
export const FALLBACK_NODE_NAME = "bmc";

/**
 * Makes `raw` a valid node name: the first label of a host name, characters outside the pattern
 * turned into hyphens, runs of hyphens folded, leading and trailing hyphens dropped, cut to length.
 * The same input always gives the same name.
 */
export function sanitizeNodeName(raw: string): string {
  const firstLabel = raw.split(".")[0] ?? "";
  const cleaned = firstLabel
    .replace(/[^A-Za-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+/, "")
    .slice(0, NODE_NAME_MAX_CHARS)
    .replace(/-+$/, "");
  return cleaned === "" ? FALLBACK_NODE_NAME : cleaned;
}

/** This host's name as a node name (the default of `nodeName`). */
export function defaultNodeName(): string {
  return sanitizeNodeName(hostname());
}
