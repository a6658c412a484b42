// What resolving a GET gives: a resource to send (with its ETag, Allow and extra headers), or a
// Redfish error. The routes turn it into an HTTP answer; `$expand` resolves links through it too.
import type { RedfishMessage } from "./redfish-error.ts";

export interface ServedResource {
  readonly kind: "resource";
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
  /** The member's ETag for a proxied resource (so If-Match on a forwarded write matches); else computed. */
  readonly etag: string | undefined;
  readonly allow: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** A collection the facade merged over members (query options apply to its members). */
  readonly aggregated: boolean;
}

export interface ServedError {
  readonly kind: "error";
  readonly statusCode: number;
  readonly messages: readonly [RedfishMessage, ...RedfishMessage[]];
  readonly headers: Readonly<Record<string, string>>;
}

export type Served = ServedResource | ServedError;

export const READ_ONLY_ALLOW: readonly string[] = Object.freeze(["GET", "HEAD"]);

export function servedResource(
  body: Record<string, unknown>,
  extra: Partial<Omit<ServedResource, "kind" | "body">> = {},
): ServedResource {
  return {
    kind: "resource",
    statusCode: extra.statusCode ?? 200,
    body,
    etag: extra.etag,
    allow: extra.allow ?? READ_ONLY_ALLOW,
    headers: extra.headers ?? {},
    aggregated: extra.aggregated ?? false,
  };
}

export function servedError(
  statusCode: number,
  first: RedfishMessage,
  headers: Readonly<Record<string, string>> = {},
  ...more: RedfishMessage[]
): ServedError {
  return { kind: "error", statusCode, messages: [first, ...more], headers };
}
