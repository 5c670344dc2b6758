import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

/**
 * A user's key on one device: it signs the proofs that go with every use of a ticket and every
 * message the user writes. The private half never leaves the data dir (`session.json`, mode 0600).
 */
export class DeviceKey {
  /** The public key as the tracker certifies it (see `PUBLIC_KEY_PATTERN`). */
  readonly publicKey: string;

  private constructor(private readonly privateKey: KeyObject) {
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    if (typeof jwk.x !== "string") throw new Error("not an Ed25519 key");
    this.publicKey = jwk.x;
  }

  static generate(): DeviceKey {
    return new DeviceKey(generateKeyPairSync("ed25519").privateKey);
  }

  /** Reads a PKCS#8 PEM written by `toPem`; throws when it is not an Ed25519 private key. */
  static fromPem(pem: string): DeviceKey {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ed25519") throw new Error("the device key is not an Ed25519 key");
    return new DeviceKey(key);
  }

  toPem(): string {
    return this.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  /** base64url of the Ed25519 signature over `bytes`. */
  sign(bytes: Buffer): string {
    return sign(null, bytes, this.privateKey).toString("base64url");
  }
}
