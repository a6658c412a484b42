// The self-signed certificate `conclave init` writes for the facade: one key pair for the VIP,
// the same files on every node (whichever node is PoC presents the same certificate, so a console
// that pinned it keeps trusting the VIP across failovers). SAN: the VIP address (when known) and
// the cluster name. Operators replace both files with a certificate from their own CA.
import { isIP } from "node:net";
import { generate } from "selfsigned";
import { writeFileAtomic } from "../identity/secure-file.ts";

/** How long the generated certificate is valid: long, since a BMC group is rarely re-initialised. */
export const FACADE_CERTIFICATE_VALID_DAYS = 3_650;
/** ECDSA P-256: small, fast on a BMC's CPU, accepted by every Redfish client library. */
export const FACADE_CERTIFICATE_CURVE = "P-256";
const DAY_MS = 86_400_000;
const KEY_MODE = 0o600;
/** The certificate is public. */
const CERT_MODE = 0o644;

export interface FacadeCertificateInit {
  readonly clusterName: string;
  /** The VIP (IPv4 or IPv6), when init knows it. */
  readonly vipAddress?: string;
  readonly nowMs?: number;
}

export interface FacadeCertificate {
  readonly cert: string;
  readonly key: string;
}

export async function generateFacadeCertificate(init: FacadeCertificateInit): Promise<FacadeCertificate> {
  if (init.vipAddress !== undefined && isIP(init.vipAddress) === 0) {
    throw new RangeError(`the VIP "${init.vipAddress}" is not an IPv4 or IPv6 address`);
  }
  const nowMs = init.nowMs ?? Date.now();
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [];
  if (init.vipAddress !== undefined) altNames.push({ type: 7, ip: init.vipAddress });
  altNames.push({ type: 2, value: init.clusterName });
  const pems = await generate([{ name: "commonName", value: init.vipAddress ?? init.clusterName }], {
    keyType: "ec",
    curve: FACADE_CERTIFICATE_CURVE,
    algorithm: "sha256",
    // A minute back: a member whose clock is a little behind must not see a certificate from the future.
    notBeforeDate: new Date(nowMs - 60_000),
    notAfterDate: new Date(nowMs + FACADE_CERTIFICATE_VALID_DAYS * DAY_MS),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Writes the pair atomically: the key 0600, the certificate 0644. `exclusive` refuses existing files. */
export function writeFacadeCertificate(
  files: { readonly certFile: string; readonly keyFile: string },
  pair: FacadeCertificate,
  exclusive: boolean,
): void {
  writeFileAtomic(files.keyFile, pair.key, KEY_MODE, exclusive);
  writeFileAtomic(files.certFile, pair.cert, CERT_MODE, exclusive);
}
