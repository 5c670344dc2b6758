import "reflect-metadata";
import { createHash, createPrivateKey, type KeyObject, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { DamagedDataError, DataFileError } from "../util/damaged-data.js";

/** What a TLS server presents: its key and certificate (PEM) and the certificate's fingerprint. */
export interface TlsIdentity {
  key: string;
  cert: string;
  /** `sha256:` and the SHA-256 of the certificate's DER, 64 lowercase hex digits. */
  fingerprint: string;
}

export const TLS_KEY_FILE = "tls-key.pem";
export const TLS_CERT_FILE = "tls-cert.pem";

/** ECDSA P-256: a handshake costs one cheap signature, which keeps reconnect storms cheap. */
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Self-signed certificates are identified by fingerprint, not by expiry: a long validity. */
const VALIDITY_DAYS = 100 * 365;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export function fingerprintOf(der: Uint8Array): string {
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

/** A PKCS #8 private key (DER) as PEM. */
export function privateKeyPem(pkcs8: ArrayBuffer): string {
  const lines =
    Buffer.from(pkcs8)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

/**
 * Loads the key and self-signed certificate kept in `dir`, creating them (mode 0600) on first
 * start, so the fingerprint survives restarts.
 */
export async function loadOrCreateTlsIdentity(dir: string, commonName: string): Promise<TlsIdentity> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, TLS_KEY_FILE);
  const certPath = join(dir, TLS_CERT_FILE);
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + VALIDITY_DAYS * 86_400_000),
      keys,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    const keyPem = privateKeyPem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    // The key is written under a temporary name first, so a crash never leaves a key without its certificate.
    writeFileSync(`${keyPath}.tmp`, keyPem, { mode: 0o600 });
    writeFileSync(certPath, certificate.toString("pem"), { mode: 0o600 });
    renameSync(`${keyPath}.tmp`, keyPath);
  }
  chmodSync(keyPath, 0o600);
  return loadTlsIdentityFiles(
    certPath,
    keyPath,
    `remove ${TLS_KEY_FILE} and ${TLS_CERT_FILE} from ${dir} to make a new key (whoever pinned the old fingerprint must then accept the new one)`,
  );
}

/**
 * A certificate (with its chain, PEM) and key from files, say issued by a CA for the host's name.
 * Files that do not parse, or a key that is not the certificate's, are refused naming the file.
 */
export function loadTlsIdentityFiles(
  certFile: string,
  keyFile: string,
  remedy = "give a PEM certificate and its own private key",
): TlsIdentity {
  const cert = readText(certFile);
  const key = readText(keyFile);
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new DamagedDataError(certFile, "holds no readable certificate (PEM)", remedy);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new DamagedDataError(keyFile, "holds no readable private key (PEM)", remedy);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new DamagedDataError(keyFile, `is not the key of the certificate in ${certFile}`, remedy);
  }
  return { cert, key, fingerprint: fingerprintOf(certificate.raw) };
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new DataFileError(file, error);
  }
}

/** The fingerprint of the certificate in `file`, or undefined when there is none to read. */
export function certificateFileFingerprint(file: string): string | undefined {
  try {
    return fingerprintOf(new X509Certificate(readFileSync(file)).raw);
  } catch {
    return undefined;
  }
}
