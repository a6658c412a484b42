// Password hashes: scrypt (RFC 7914) from node:crypto, written as a PHC string with its
// parameters named, so a hash states how to check it and the cost can rise later without
// invalidating stored hashes:
//
//   $scrypt$ln=14,r=8,p=1$<salt, base64 without padding>$<key, base64 without padding>
//
// Cost: N = 2^14, r = 8 needs 128 * N * r = 16 MiB of memory per hash and took ~50 ms on the
// development machine (x86-64, loaded by other work; scrypt itself runs on libuv's thread pool,
// not the event loop). OWASP's 2^17 would need 128 MiB, more than a BMC's whole budget for the
// agent (96 MB); 2^14 is the largest power that leaves room, and at most
// PASSWORD_CHECKS_CONCURRENT_MAX run at once. A BMC's ARM core is several times slower than
// the development machine: expect a few hundred ms per login there, which is why Basic auth
// remembers a verified credential briefly (see basic-credentials.ts).
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

export const SCRYPT_LOG2_COST = 14;
export const SCRYPT_BLOCK_SIZE = 8;
export const SCRYPT_PARALLELISM = 1;
export const SCRYPT_SALT_BYTES = 16;
export const SCRYPT_KEY_BYTES = 32;
/** Largest parameters a stored hash may ask for (a hash is data: it must not make us allocate 1 GiB). */
export const SCRYPT_LOG2_COST_MAX = 17;
export const SCRYPT_BLOCK_SIZE_MAX = 16;
export const SCRYPT_PARALLELISM_MAX = 4;
/** Longest PHC string accepted. */
export const PASSWORD_HASH_MAX_CHARS = 256;
/** Longest password ever hashed, whatever the policy says (hashing cost grows with it only a little, but bounds are bounds). */
export const PASSWORD_MAX_BYTES_HASHED = 1024;

const PHC_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]{16,64})\$([A-Za-z0-9+/]{32,128})$/;

export interface ScryptParameters {
  readonly log2Cost: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

interface ParsedHash extends ScryptParameters {
  readonly salt: Buffer;
  readonly key: Buffer;
}

const DEFAULT_PARAMETERS: ScryptParameters = Object.freeze({
  log2Cost: SCRYPT_LOG2_COST,
  blockSize: SCRYPT_BLOCK_SIZE,
  parallelism: SCRYPT_PARALLELISM,
});

/** Hashes `password` with a fresh salt. */
export async function hashPassword(
  password: string,
  parameters: ScryptParameters = DEFAULT_PARAMETERS,
): Promise<string> {
  checkPasswordSize(password);
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_KEY_BYTES, parameters);
  return `$scrypt$ln=${parameters.log2Cost},r=${parameters.blockSize},p=${parameters.parallelism}$${unpadded(salt)}$${unpadded(key)}`;
}

/** Whether `password` matches `hash`, compared in constant time. False for a hash that does not parse. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (parsed === undefined || Buffer.byteLength(password) > PASSWORD_MAX_BYTES_HASHED) return false;
  const key = await derive(password, parsed.salt, parsed.key.length, parsed);
  return timingSafeEqual(key, parsed.key);
}

/** True when `hash` is a PHC scrypt string this code can check, with parameters inside the bounds. */
export function isPasswordHash(hash: unknown): hash is string {
  return typeof hash === "string" && parsePasswordHash(hash) !== undefined;
}

function parsePasswordHash(hash: string): ParsedHash | undefined {
  if (hash.length > PASSWORD_HASH_MAX_CHARS) return undefined;
  const match = PHC_PATTERN.exec(hash);
  if (match === null) return undefined;
  const [, ln, r, p, salt, key] = match;
  const parsed = {
    log2Cost: Number(ln),
    blockSize: Number(r),
    parallelism: Number(p),
    salt: Buffer.from(salt as string, "base64"),
    key: Buffer.from(key as string, "base64"),
  };
  if (parsed.log2Cost < 10 || parsed.log2Cost > SCRYPT_LOG2_COST_MAX) return undefined;
  if (parsed.blockSize < 1 || parsed.blockSize > SCRYPT_BLOCK_SIZE_MAX) return undefined;
  if (parsed.parallelism < 1 || parsed.parallelism > SCRYPT_PARALLELISM_MAX) return undefined;
  if (parsed.salt.length < 8 || parsed.key.length < 16) return undefined;
  return parsed;
}

function derive(password: string, salt: Buffer, keyBytes: number, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** parameters.log2Cost,
    r: parameters.blockSize,
    p: parameters.parallelism,
    // scrypt needs 128 * N * r bytes; node's default ceiling (32 MiB) is too tight for N = 2^17.
    maxmem: 256 * 2 ** parameters.log2Cost * parameters.blockSize,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function checkPasswordSize(password: string): void {
  if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES_HASHED) {
    throw new RangeError(`a password longer than ${PASSWORD_MAX_BYTES_HASHED} bytes is not hashed`);
  }
}

function unpadded(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}
