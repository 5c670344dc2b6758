import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { ConnectionError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";

/** The certificate a server presented in the TLS handshake, as a client sees it. */
export interface PresentedCertificate {
  address: Address;
  /** `sha256:` and the SHA-256 of the certificate's DER. */
  fingerprint: string;
  /**
   * The chain verified against the trusted CAs and the certificate names `address.host`: the
   * ordinary check a browser makes. False for every self-signed certificate.
   */
  caVerified: boolean;
}

/** Decides whether a server's certificate is the one this link should talk to; throws if not. */
export interface ServerTrust {
  check(presented: PresentedCertificate): void;
  /** Extra CA certificates (PEM) trusted for `caVerified`, beside the system's. */
  readonly ca?: string[];
  /** The one fingerprint accepted, when the trust pins one (a link in the same process names it). */
  readonly fingerprint?: string;
}

/**
 * Trusts exactly one certificate: a channel host's, as the tracker listed it (`HOST_KEY_MISMATCH`
 * otherwise), or a tracker's known in advance (`TRACKER_KEY_MISMATCH`).
 */
export function pinnedTrust(
  expected: string,
  refusal: "HOST_KEY_MISMATCH" | "TRACKER_KEY_MISMATCH",
  what: string,
): ServerTrust {
  return {
    fingerprint: expected,
    check(presented) {
      if (presented.fingerprint !== expected) {
        throw new ConnectionError(
          refusal,
          `${what} at ${presented.address.host}:${presented.address.port} presented key ${presented.fingerprint}, not ${expected}: someone may be in the middle, so hychat does not talk to it`,
        );
      }
    },
  };
}

/** Whether `certificate` verified against the CAs (`authorized`) names `host`, as `tls` would check it. */
export function namesHost(host: string, authorized: boolean, certificate: PeerCertificate): boolean {
  return authorized && checkServerIdentity(host, certificate) === undefined;
}
