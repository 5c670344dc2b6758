import type { KeyObject } from "node:crypto";
import { proofBytes } from "../auth/canonical.js";
import { MessageVerifier } from "../auth/message-signature.js";
import { checkProof } from "../auth/signatures.js";
import { nowSeconds, publicKeyFromBase64, type TicketPayload, verifyTicket } from "../auth/tickets.js";
import { wireError } from "../protocol/errors.js";
import { nameKey } from "../protocol/names.js";
import type { Revocation } from "../protocol/tracker-schemas.js";
import type { TrackerKey } from "./history-store.js";

/** What `CONNECT` presents: the ticket, and the proof that its holder has the ticket's key. */
export interface ConnectCredentials {
  ticket: string;
  proof: string;
  /** The `HELLO` challenge of the connection it came on. */
  challenge: string;
  channel: string;
}

function revocationKey(username: string, device: string): string {
  return `${nameKey(username)}\n${device}`;
}

/**
 * Checks tickets against the tracker's public key and issuer (learned from `KEY`/`HOST`, cached in
 * host.db), the proof of possession that must come with each, and the revocations the tracker
 * announced. Also checks the certificates of the messages members send.
 */
export class TicketVerifier {
  private current: { key: TrackerKey; publicKey: KeyObject; messages: MessageVerifier } | undefined;
  private readonly revoked = new Map<string, Revocation>();

  /** `fingerprint`: this host's own certificate, which every proof it accepts must name. */
  constructor(
    cached: TrackerKey | undefined,
    private readonly fingerprint: string,
  ) {
    if (cached !== undefined) this.update(cached);
  }

  get key(): TrackerKey | undefined {
    return this.current?.key;
  }

  /** Adopts a key; returns true when it differs from the one held. */
  update(key: TrackerKey): boolean {
    if (this.current?.key.publicKey === key.publicKey && this.current.key.issuer === key.issuer) return false;
    const publicKey = publicKeyFromBase64(key.publicKey);
    this.current = {
      key: { publicKey: key.publicKey, issuer: key.issuer },
      publicKey,
      messages: new MessageVerifier(publicKey, key.issuer),
    };
    return true;
  }

  /** Holds revocations (a later one of the same device widens the earlier); drops those over. */
  revoke(revocations: readonly Revocation[], now: number = nowSeconds()): void {
    for (const entry of revocations) {
      const key = revocationKey(entry.username, entry.device);
      const held = this.revoked.get(key);
      this.revoked.set(key, {
        ...entry,
        minGen: Math.max(entry.minGen, held?.minGen ?? 0),
        until: Math.max(entry.until, held?.until ?? 0),
      });
    }
    for (const [key, entry] of this.revoked) if (entry.until <= now) this.revoked.delete(key);
  }

  /** True when a revocation covers tickets of this user, device and generation. */
  isRevoked(payload: Pick<TicketPayload, "sub" | "dev" | "gen">): boolean {
    const entry = this.revoked.get(revocationKey(payload.sub, payload.dev));
    return entry !== undefined && payload.gen < entry.minGen && entry.until > nowSeconds();
  }

  /** Signature, expiry and issuer of the ticket; throws `BAD_TICKET`. */
  verify(ticket: string): TicketPayload {
    if (this.current === undefined) {
      throw wireError(
        "BAD_TICKET",
        "this host has not yet learned the tracker's key, so it cannot check tickets",
      );
    }
    return verifyTicket(ticket, this.current.publicKey, this.current.key.issuer);
  }

  /**
   * The ticket (as `verify`), its proof of possession for this host, connection and channel
   * (`BAD_PROOF`), and that it was not revoked (`BAD_TICKET`).
   */
  verifyConnect(credentials: ConnectCredentials): TicketPayload {
    const payload = this.verify(credentials.ticket);
    checkProof(
      payload.key,
      proofBytes({
        purpose: "CONNECT",
        fingerprint: this.fingerprint,
        challenge: credentials.challenge,
        channel: credentials.channel,
      }),
      credentials.proof,
      "CONNECT",
    );
    if (this.isRevoked(payload)) {
      throw wireError("BAD_TICKET", "this ticket was revoked: its device signed in again or signed out");
    }
    return payload;
  }

  /**
   * Throws `BAD_SIGNATURE` unless `cert` is a certificate of this tracker for `from`, in force at
   * `sentAt`. The host checks only this; members check each message's signature.
   */
  checkCertificate(cert: string, from: string, sentAt: string): void {
    if (this.current === undefined) {
      throw wireError("BAD_SIGNATURE", "this host has not yet learned the tracker's key");
    }
    this.current.messages.certifies(cert, from, sentAt);
  }
}
