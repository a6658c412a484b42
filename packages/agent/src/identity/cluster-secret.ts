// The cluster secret: a libp2p private-network pre-shared key in the standard swarm key format,
//
//   /key/swarm/psk/1.0.0/
//   /base16/
//   <64 hex digits: 32 random bytes>
//
// the same file on every node. Without it nothing reaches Noise or any protocol: every
// connection is XSalsa20-encrypted with it from the first byte after the nonces.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { ClusterSecretError } from "../errors.ts";
import { checkSecretFile, describeSecretFileProblem } from "./secure-file.ts";

const SWARM_KEY_HEADER = "/key/swarm/psk/1.0.0/";
const SWARM_KEY_ENCODING = "/base16/";
const SWARM_KEY_BYTES = 32;
/** Anything bigger than a swarm key with generous whitespace is not one. */
const MAX_SECRET_FILE_BYTES = 1024;

export interface ClusterSecret {
  /** The canonical swarm key bytes, as `@libp2p/pnet`'s `preSharedKey({ psk })` takes them. */
  readonly psk: Uint8Array;
  /**
   * A short digest that identifies the secret without revealing it: operators compare it across
   * nodes (status, logs) to find one with the wrong secret.
   */
  readonly fingerprint: string;
}

/** A new random cluster secret, as the text of a swarm key file. */
export function generateClusterSecret(): string {
  return formatSwarmKey(randomBytes(SWARM_KEY_BYTES));
}

/**
 * Reads the cluster secret. Refuses a file that group or others can read: anyone holding the
 * secret can join the private network.
 */
export function readClusterSecret(file: string): ClusterSecret {
  const problem = checkSecretFile(file);
  if (problem !== undefined) {
    if (problem.kind === "missing") {
      throw new ClusterSecretError(
        file,
        `cluster secret ${file} does not exist; copy it from another node of the cluster, or run conclave init for a new cluster`,
      );
    }
    const { message, cause } = describeSecretFileProblem("cluster secret", file, problem);
    throw new ClusterSecretError(file, message, cause === undefined ? undefined : { cause });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ClusterSecretError(file, `cannot read cluster secret ${file}: ${String(err)}`, { cause: err });
  }
  return parseClusterSecret(bytes, file);
}

/** Parses swarm key text strictly (pnet's own decoder checks neither header nor encoding). */
export function parseClusterSecret(bytes: Uint8Array, file: string): ClusterSecret {
  const expected = `expected three lines: ${SWARM_KEY_HEADER}, ${SWARM_KEY_ENCODING}, and ${SWARM_KEY_BYTES * 2} hex digits`;
  if (bytes.byteLength > MAX_SECRET_FILE_BYTES) {
    throw new ClusterSecretError(file, `cluster secret ${file} is not a swarm key: too large (${expected})`);
  }
  const lines = Buffer.from(bytes)
    .toString("utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const [header, encoding, key] = lines;
  if (lines.length !== 3 || header !== SWARM_KEY_HEADER || encoding !== SWARM_KEY_ENCODING || key === undefined) {
    throw new ClusterSecretError(file, `cluster secret ${file} is not a swarm key (${expected})`);
  }
  if (!/^[0-9a-fA-F]+$/.test(key) || key.length !== SWARM_KEY_BYTES * 2) {
    throw new ClusterSecretError(
      file,
      `cluster secret ${file} has a malformed key line: expected ${SWARM_KEY_BYTES * 2} hex digits, got ${key.length} characters`,
    );
  }
  const keyBytes = Buffer.from(key, "hex");
  return Object.freeze({
    psk: new TextEncoder().encode(formatSwarmKey(keyBytes)),
    fingerprint: createHash("sha256").update("conclave cluster secret\n").update(keyBytes).digest("hex").slice(0, 16),
  });
}

function formatSwarmKey(keyBytes: Uint8Array): string {
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${Buffer.from(keyBytes).toString("hex")}\n`;
}
