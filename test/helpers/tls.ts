import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  loadOrCreateTlsIdentity,
  privateKeyPem,
  type TlsIdentity,
} from "../../src/transport/tls-identity.js";
import type { ServerTrust } from "../../src/transport/trust.js";

/** Accepts any certificate: for tests of something other than who the server is. */
export const TRUST_ANY: ServerTrust = { check() {} };

let shared: Promise<TlsIdentity> | undefined;

/** One key and self-signed certificate per test process, for fake servers that must speak TLS. */
export function testTlsIdentity(): Promise<TlsIdentity> {
  shared ??= loadOrCreateTlsIdentity(mkdtempSync(join(tmpdir(), "hychat-tls-")), "hychat test");
  return shared;
}

/** A test certificate authority and one server certificate it issued for `hostName`. */
export interface TestCa {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Makes a CA and a certificate it signs for `hostName` (a DNS name in subjectAltName). */
export async function issueFromTestCa(hostName: string): Promise<TestCa> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
  const caKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=hychat test CA",
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
    ...validity,
  });
  const leafKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=${hostName}`,
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: hostName }])],
    ...validity,
  });
  const keyPem = privateKeyPem(await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey));
  return { caPem: ca.toString("pem"), certPem: `${leaf.toString("pem")}\n${ca.toString("pem")}\n`, keyPem };
}
