// Proves the facade's TLS files: the generated certificate names the VIP and the cluster name, is an ECDSA server certificate valid for years, and its key is written 0600; readFacadeTls accepts the pair and refuses, naming the file, a key readable by others, a missing key, a certificate that is not PEM, an expired one, and a key that does not match; an HTTPS VIP server serves with the pair and takes a replacement for new connections.
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import {
  FACADE_CERTIFICATE_VALID_DAYS,
  generateFacadeCertificate,
  writeFacadeCertificate,
} from "../../src/facade-host/facade-certificate.ts";
import { readFacadeTls } from "../../src/facade-host/facade-tls.ts";
import { createVipServer } from "../../src/facade-host/vip-server.ts";

let dir: string;
const files = () => ({ certFile: join(dir, "facade.crt"), keyFile: join(dir, "facade.key") });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "conclave-facade-tls-"));
  writeFacadeCertificate(
    files(),
    await generateFacadeCertificate({ clusterName: "rack-a", vipAddress: "10.0.0.100" }),
    true,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("accepted");
}

describe("the generated certificate", () => {
  it("names the VIP and the cluster, serves TLS servers, and its key is owner-only", () => {
    const certificate = new X509Certificate(readFileSync(files().certFile));
    expect(certificate.subjectAltName).toBe("IP Address:10.0.0.100, DNS:rack-a");
    expect(certificate.publicKey.asymmetricKeyType).toBe("ec");
    expect(certificate.keyUsage).toContain("1.3.6.1.5.5.7.3.1");
    const years = (Date.parse(certificate.validTo) - Date.now()) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(FACADE_CERTIFICATE_VALID_DAYS / 365 - 0.1);
    expect(statSync(files().keyFile).mode & 0o777).toBe(0o600);
    expect(readFacadeTls(files()).subjectAltName).toBe("IP Address:10.0.0.100, DNS:rack-a");
  });

  it("refuses a VIP that is not an address", async () => {
    await expect(generateFacadeCertificate({ clusterName: "a", vipAddress: "vip.example" })).rejects.toThrow(
      'the VIP "vip.example" is not an IPv4 or IPv6 address',
    );
  });
});

describe("readFacadeTls", () => {
  it("refuses bad files, naming them", async () => {
    const other = await generateFacadeCertificate({ clusterName: "other" });
    const bad = { certFile: join(dir, "bad.crt"), keyFile: join(dir, "bad.key") };
    expect(problemOf(() => readFacadeTls(bad))).toContain(`the facade's TLS key ${bad.keyFile} does not exist`);
    writeFileSync(bad.keyFile, other.key, { mode: 0o644 });
    chmodSync(bad.keyFile, 0o644);
    expect(problemOf(() => readFacadeTls(bad))).toContain("is readable by group or others");
    chmodSync(bad.keyFile, 0o600);
    writeFileSync(bad.certFile, "not a certificate");
    expect(problemOf(() => readFacadeTls(bad))).toContain(`config ${bad.certFile}: not a PEM certificate`);
    writeFileSync(bad.certFile, readFileSync(files().certFile));
    expect(problemOf(() => readFacadeTls(bad))).toContain(`the key does not go with ${bad.certFile}`);
    const expired = await generateFacadeCertificate({ clusterName: "a", nowMs: Date.now() - 4_000 * 86_400_000 });
    writeFileSync(bad.certFile, expired.cert);
    writeFileSync(bad.keyFile, expired.key);
    expect(problemOf(() => readFacadeTls(bad))).toMatch(/the certificate expired on/);
  });
});

describe("the HTTPS VIP server", () => {
  it("serves with the pair, and a replaced pair for new connections", async () => {
    const app = Fastify();
    app.get("/redfish/v1", async () => ({ ok: true }));
    await app.ready();
    const vip = createVipServer(app, readFacadeTls(files()));
    expect(vip.scheme).toBe("https");
    await new Promise<void>((resolve) => vip.server.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (vip.server.address() as { port: number }).port;
    const fetchPeer = () =>
      new Promise<{ body: string; fingerprint: string }>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/redfish/v1", rejectUnauthorized: false, agent: false },
          (res) => {
            const fingerprint = (res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256;
            let body = "";
            res.on("data", (chunk: Buffer) => (body += chunk.toString()));
            res.on("end", () => resolve({ body, fingerprint }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    try {
      const first = await fetchPeer();
      expect(JSON.parse(first.body)).toEqual({ ok: true });
      expect(first.fingerprint).toBe(readFacadeTls(files()).fingerprint256);
      const replacement = await generateFacadeCertificate({ clusterName: "rack-a" });
      const next = { certFile: join(dir, "next.crt"), keyFile: join(dir, "next.key") };
      writeFacadeCertificate(next, replacement, true);
      vip.refreshTls(readFacadeTls(next));
      expect((await fetchPeer()).fingerprint).toBe(readFacadeTls(next).fingerprint256);
    } finally {
      await new Promise((resolve) => vip.server.close(resolve));
      await app.close();
    }
  });
});
