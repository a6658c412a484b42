// Session tokens: 32 random bytes (256 bits), base64url, handed to the client once in
// X-Auth-Token. The cluster stores only their SHA-256: a token has full entropy, so a fast hash
// is enough (nobody can guess a preimage), and a stolen copy of the state holds no usable token.
import { createHash, randomBytes } from "node:crypto";

export const SESSION_TOKEN_BYTES = 32;
/** Length of a token as sent (base64url of 32 bytes, no padding). */
export const SESSION_TOKEN_CHARS = 43;
/** Session ids: 16 random bytes, hex. Public (they are in URIs), unrelated to the token. */
export const SESSION_ID_BYTES = 16;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(SESSION_TOKEN_BYTES).toString("base64url");
}

export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString("hex");
}

/** SHA-256 of the token, base64url: what the state stores and looks tokens up by. */
export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

/** Whether a header value can be a token at all (anything else is refused before hashing). */
export function looksLikeSessionToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}
