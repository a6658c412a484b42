// The facade's TLS certificate and key: read from the files the config names, checked (the key is
// owner-only, the pair matches, the certificate parses and has not expired) before a listener uses
// them. Read again at every claim of the VIP, so a replaced certificate is served from the next
// claim on; a bad replacement is refused and the last good pair stays in use.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ConfigError } from "../errors.ts";
import { checkSecretFile, describeSecretFileProblem } from "../identity/secure-file.ts";

/** The largest certificate chain or key file read (a chain of a few certificates is a few KiB). */
export const TLS_FILE_BYTES_MAX = 64 * 1024;

export interface FacadeTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface FacadeTlsPair {
  readonly cert: string;
  readonly key: string;
  /** The certificate's subject alternative names, e.g. `IP Address:10.0.0.100, DNS:rack-a`. */
  readonly subjectAltName: string | undefined;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** Reads and checks the pair. Throws ConfigError naming the file and what is wrong with it. */
export function readFacadeTls(files: FacadeTlsFiles, nowMs = Date.now()): FacadeTlsPair {
  const problem = checkSecretFile(files.keyFile);
  if (problem !== undefined) {
    const message =
      problem.kind === "missing"
        ? `the facade's TLS key ${files.keyFile} does not exist (conclave init writes one)`
        : describeSecretFileProblem("the facade's TLS key", files.keyFile, problem).message;
    throw new ConfigError(files.keyFile, [message]);
  }
  const cert = readBounded(files.certFile, "certificate");
  const key = readBounded(files.keyFile, "key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(files.certFile, [`not a PEM certificate: ${String(error)}`], { cause: error });
  }
  if (Date.parse(certificate.validTo) < nowMs) {
    throw new ConfigError(files.certFile, [`the certificate expired on ${certificate.validTo}`]);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(files.keyFile, [`the key does not go with ${files.certFile}: ${String(error)}`], {
      cause: error,
    });
  }
  return {
    cert,
    key,
    subjectAltName: certificate.subjectAltName,
    validTo: certificate.validTo,
    fingerprint256: certificate.fingerprint256,
  };
}

function readBounded(file: string, what: string): string {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new ConfigError(file, [`cannot read the facade's TLS ${what} (${reason})`], { cause: error });
  }
  if (text.byteLength > TLS_FILE_BYTES_MAX) {
    throw new ConfigError(file, [
      `the facade's TLS ${what} is ${text.byteLength} bytes, over the ${TLS_FILE_BYTES_MAX}-byte limit`,
    ]);
  }
  return text.toString("utf8");
}
