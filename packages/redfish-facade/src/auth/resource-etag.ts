// ETags of the auth resources: a digest of the JSON served, so any change to what a client sees
// changes the tag. GET answers carry it (and 304 for a matching If-None-Match); a PATCH with an
// If-Match that no longer matches is refused 412 PreconditionFailed before anything is committed.
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";

/** Characters of the digest kept: 120 bits, plenty to tell versions of one resource apart. */
const ETAG_DIGEST_CHARS = 20;

export function etagOf(body: unknown): string {
  return `"${createHash("sha256").update(JSON.stringify(body)).digest("base64url").slice(0, ETAG_DIGEST_CHARS)}"`;
}

/** Whether a list header (If-Match, If-None-Match) names `etag` or `*`; weak and strong forms compare equal. */
export function etagListMatches(header: string, etag: string): boolean {
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

/** False when the request has an If-Match that does not match the resource as it is now. */
export function ifMatchHolds(request: FastifyRequest, current: unknown): boolean {
  const header = request.headers["if-match"];
  if (header === undefined) return true;
  return etagListMatches(Array.isArray(header) ? header.join(",") : header, etagOf(current));
}
