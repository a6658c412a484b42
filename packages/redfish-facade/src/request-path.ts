// Turning a request's raw URL into checked path segments and query options. Anything odd
// (traversal, encoded slashes, control characters, overlong paths, bad percent-encoding) is
// refused here, before any routing, so no such path ever reaches a member.
import { MAX_PATH_BYTES, MAX_PATH_SEGMENTS, MAX_QUERY_BYTES } from "./facade-limits.ts";

export interface RequestPath {
  /** Decoded segments after `/redfish/v1` (empty for the service root). */
  readonly segments: readonly string[];
  /** The canonical path: `/redfish/v1/...` with no trailing slash, segments re-encoded. */
  readonly path: string;
  /** Query options in order of appearance, decoded. */
  readonly query: readonly (readonly [string, string])[];
  /** True for `/redfish` itself (the version document), not a resource under `/redfish/v1`. */
  readonly versionDocument: boolean;
}

export type PathProblem =
  | { readonly kind: "too-long"; readonly what: "path" | "query" }
  | { readonly kind: "bad-segment"; readonly segment: string }
  | { readonly kind: "not-redfish" }
  | { readonly kind: "bad-query"; readonly text: string };

// Control characters, and the characters a decoded segment must never carry into a member's path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const FORBIDDEN_IN_SEGMENT = /[\u0000-\u001f\u007f/\\]/;

/** Encodes one segment for a path, keeping the sub-delimiters RFC 3986 allows in a segment. */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(24|26|2B|2C|3B|3D|3A|40|21|27|28|29|2A)/g, (match) =>
    decodeURIComponent(match),
  );
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, "%20"));
  } catch {
    return undefined;
  }
}

export function parseRequestUrl(url: string): RequestPath | PathProblem {
  const cut = url.indexOf("?");
  const rawPath = cut === -1 ? url : url.slice(0, cut);
  const rawQuery = cut === -1 ? "" : url.slice(cut + 1);
  if (Buffer.byteLength(rawPath) > MAX_PATH_BYTES) return { kind: "too-long", what: "path" };
  if (Buffer.byteLength(rawQuery) > MAX_QUERY_BYTES) return { kind: "too-long", what: "query" };
  if (rawPath.includes("#")) return { kind: "bad-segment", segment: rawPath.slice(rawPath.indexOf("#")) };

  const raw = rawPath.split("/");
  // "/redfish/v1/" and "/redfish/v1" are the same resource; any other empty segment is a doubled slash.
  if (raw.length > 1 && raw.at(-1) === "") raw.pop();
  if (raw[0] !== "") return { kind: "not-redfish" };
  const segments: string[] = [];
  for (const piece of raw.slice(1)) {
    const segment = decodeURIComponentStrict(piece);
    if (segment === undefined || segment === "" || segment === "." || segment === "..") {
      return { kind: "bad-segment", segment: piece };
    }
    if (FORBIDDEN_IN_SEGMENT.test(segment)) return { kind: "bad-segment", segment: piece };
    segments.push(segment);
  }
  if (segments.length > MAX_PATH_SEGMENTS + 2) return { kind: "too-long", what: "path" };
  if (segments[0] !== "redfish") return { kind: "not-redfish" };
  if (segments.length === 1) return { segments: [], path: "/redfish", query: [], versionDocument: true };
  if (segments[1] !== "v1") return { kind: "not-redfish" };

  const query: [string, string][] = [];
  if (rawQuery !== "") {
    for (const part of rawQuery.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = decode(eq === -1 ? part : part.slice(0, eq));
      const value = decode(eq === -1 ? "" : part.slice(eq + 1));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters in a query option are refused.
      if (name === undefined || value === undefined || /[\u0000-\u001f\u007f]/.test(name + value)) {
        return { kind: "bad-query", text: part };
      }
      query.push([name, value]);
    }
  }
  const rest = segments.slice(2);
  return {
    segments: rest,
    path: ["/redfish/v1", ...rest.map(encodeSegment)].join("/"),
    query,
    versionDocument: false,
  };
}

function decodeURIComponentStrict(piece: string): string | undefined {
  try {
    return decodeURIComponent(piece);
  } catch {
    return undefined;
  }
}

export function isPathProblem(value: RequestPath | PathProblem): value is PathProblem {
  return "kind" in value;
}
