import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TrackerIdentity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The `iss` of every ticket this tracker signs. */
  issuer: string;
}

const KEY_FILE = "tracker-key.pem";
const ISSUER_FILE = "tracker-id";

/** Loads the tracker's signing key and id from its data dir, creating them (mode 0600) on first start. */
export function loadOrCreateIdentity(dataDir: string): TrackerIdentity {
  const keyPath = join(dataDir, KEY_FILE);
  const issuerPath = join(dataDir, ISSUER_FILE);
  if (!existsSync(keyPath)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(keyPath, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  }
  if (!existsSync(issuerPath)) writeFileSync(issuerPath, `hychat-tracker-${randomUUID()}\n`, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  const privateKey = createPrivateKey(readFileSync(keyPath));
  return {
    privateKey,
    publicKey: createPublicKey(privateKey),
    issuer: readFileSync(issuerPath, "utf8").trim(),
  };
}
