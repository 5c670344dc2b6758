import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DamagedDataError, DataFileError } from "../util/damaged-data.js";

export interface TrackerIdentity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The `iss` of every ticket this tracker signs. */
  issuer: string;
}

export interface LoadIdentityOptions {
  /**
   * The tracker's data says the key and id were made before (its database holds accounts): a
   * missing one is refused rather than replaced, which would void every ticket given out.
   */
  expected?: boolean;
  /** What to do about a missing or damaged file, in the refusal. */
  remedy?: string;
}

export const TRACKER_KEY_FILE = "tracker-key.pem";
export const TRACKER_ID_FILE = "tracker-id";

/** The form `tracker-id` is made in: `hychat-tracker-` and a random UUID. */
const ISSUER_PATTERN = /^hychat-tracker-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const DEFAULT_REMEDY = "restore it from a backup of the tracker's data dir";

/**
 * Loads the tracker's signing key and id from its data dir, creating them (mode 0600) on first
 * start. A key that does not parse, or an id not in the form it is made in, is refused
 * (`DAMAGED_DATA`): a tracker signing with either would give out tickets no host accepts.
 */
export function loadOrCreateIdentity(dataDir: string, options: LoadIdentityOptions = {}): TrackerIdentity {
  const remedy = options.remedy ?? DEFAULT_REMEDY;
  const keyPath = join(dataDir, TRACKER_KEY_FILE);
  const issuerPath = join(dataDir, TRACKER_ID_FILE);
  for (const path of [keyPath, issuerPath]) {
    if (options.expected === true && !existsSync(path)) {
      throw new DamagedDataError(path, "is missing, but the tracker's database holds accounts", remedy);
    }
  }
  if (!existsSync(keyPath)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(keyPath, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  }
  if (!existsSync(issuerPath)) writeFileSync(issuerPath, `hychat-tracker-${randomUUID()}\n`, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  chmodSync(issuerPath, 0o600);
  const privateKey = readPrivateKey(keyPath, remedy);
  return { privateKey, publicKey: createPublicKey(privateKey), issuer: readIssuer(issuerPath, remedy) };
}

function readPrivateKey(path: string, remedy: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new DataFileError(path, error);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new DamagedDataError(path, "is not a readable private key (PEM)", remedy);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new DamagedDataError(
      path,
      `holds a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`,
      remedy,
    );
  }
  return key;
}

function readIssuer(path: string, remedy: string): string {
  let issuer: string;
  try {
    issuer = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new DataFileError(path, error);
  }
  if (!ISSUER_PATTERN.test(issuer)) {
    throw new DamagedDataError(path, "is not a tracker id (hychat-tracker-<uuid>)", remedy);
  }
  return issuer;
}
