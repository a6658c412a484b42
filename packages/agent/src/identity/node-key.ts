// The node key: an Ed25519 key made on first start and kept in the state directory. Its libp2p
// peer id is the node id everywhere (Raft, membership, the CLI), so it is never replaced silently.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { NodeKeyError } from "../errors.ts";
import { checkSecretFile, describeSecretFileProblem, writeFileAtomic } from "./secure-file.ts";

export const NODE_KEY_FILE_NAME = "node.key";
const NODE_KEY_MODE = 0o600;
const STATE_DIR_MODE = 0o700;

export interface NodeIdentity {
  readonly privateKey: PrivateKey;
  readonly peerId: PeerId;
  /** The peer id as a string: the Raft node id. */
  readonly nodeId: string;
  readonly keyFile: string;
  /** True when this call generated the key (first start). */
  readonly created: boolean;
}

/**
 * Loads the node key from `stateDir`, or generates and stores one when there is none. An existing
 * file that cannot be used (unreadable, corrupt, readable by others) is an error naming the file:
 * regenerating it would give this node a new id and orphan its Raft membership.
 */
export async function loadOrCreateNodeKey(stateDir: string): Promise<NodeIdentity> {
  const keyFile = join(stateDir, NODE_KEY_FILE_NAME);
  const problem = checkSecretFile(keyFile);
  if (problem === undefined) return { ...readNodeKey(keyFile), created: false };
  if (problem.kind !== "missing") {
    const { message, cause } = describeSecretFileProblem("node key", keyFile, problem);
    throw new NodeKeyError(keyFile, message, cause === undefined ? undefined : { cause });
  }

  mkdirSync(stateDir, { recursive: true, mode: STATE_DIR_MODE });
  const privateKey = await generateKeyPair("Ed25519");
  try {
    writeFileAtomic(keyFile, privateKeyToProtobuf(privateKey), NODE_KEY_MODE, true);
  } catch (err) {
    // Another process created it between our check and our write: use theirs, never ours.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { ...readNodeKey(keyFile), created: false };
    throw new NodeKeyError(keyFile, `cannot write node key ${keyFile}: ${String(err)}`, { cause: err });
  }
  const peerId = peerIdFromPrivateKey(privateKey);
  return { privateKey, peerId, nodeId: peerId.toString(), keyFile, created: true };
}

function readNodeKey(keyFile: string): Omit<NodeIdentity, "created"> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(keyFile);
  } catch (err) {
    throw new NodeKeyError(keyFile, `cannot read node key ${keyFile}: ${String(err)}`, { cause: err });
  }
  let privateKey: PrivateKey;
  try {
    privateKey = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new NodeKeyError(
      keyFile,
      `node key ${keyFile} is corrupt (${err instanceof Error ? err.message : String(err)}); restore it from a backup, or delete it to give this node a new identity (it must then be removed from the cluster and join again)`,
      { cause: err },
    );
  }
  if (privateKey.type !== "Ed25519") {
    throw new NodeKeyError(keyFile, `node key ${keyFile} is a ${privateKey.type} key; Conclave uses Ed25519`);
  }
  const peerId = peerIdFromPrivateKey(privateKey);
  return { privateKey, peerId, nodeId: peerId.toString(), keyFile };
}
