import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { wireError } from "../protocol/errors.js";
import { PUBLIC_KEY_PATTERN, SIGNATURE_PATTERN } from "../protocol/names.js";

/** Public keys imported lately, by their wire form: importing costs more than a tenth of a verify. */
const KEY_CACHE_SIZE = 4096;
const importedKeys = new Map<string, KeyObject>();

function importKey(publicKey: string): KeyObject {
  const cached = importedKeys.get(publicKey);
  if (cached !== undefined) return cached;
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
  if (importedKeys.size >= KEY_CACHE_SIZE) importedKeys.delete(importedKeys.keys().next().value as string);
  importedKeys.set(publicKey, key);
  return key;
}

/** True when `signature` (base64url) is `publicKey`'s Ed25519 signature over `bytes`; false for anything malformed. */
export function verifySignature(publicKey: string, bytes: Buffer, signature: string): boolean {
  if (!PUBLIC_KEY_PATTERN.test(publicKey) || !SIGNATURE_PATTERN.test(signature)) return false;
  try {
    return verify(null, bytes, importKey(publicKey), Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}

/** Throws `BAD_PROOF` unless `proof` is the ticket key's signature over `bytes`. */
export function checkProof(publicKey: string, bytes: Buffer, proof: string, what: string): void {
  if (!verifySignature(publicKey, bytes, proof)) {
    throw wireError(
      "BAD_PROOF",
      `${what}: the proof is not the ticket key's signature over this connection's challenge`,
    );
  }
}
