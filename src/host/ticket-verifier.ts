import type { KeyObject } from "node:crypto";
import { publicKeyFromBase64, type TicketPayload, verifyTicket } from "../auth/tickets.js";
import { wireError } from "../protocol/errors.js";
import type { TrackerKey } from "./history-store.js";

/** Checks tickets against the tracker's public key and issuer (learned from `KEY`/`HOST`, cached in host.db). */
export class TicketVerifier {
  private current: { key: TrackerKey; publicKey: KeyObject } | undefined;

  constructor(cached: TrackerKey | undefined) {
    if (cached !== undefined) this.update(cached);
  }

  get key(): TrackerKey | undefined {
    return this.current?.key;
  }

  /** Adopts a key; returns true when it differs from the one held. */
  update(key: TrackerKey): boolean {
    if (this.current?.key.publicKey === key.publicKey && this.current.key.issuer === key.issuer) return false;
    this.current = {
      key: { publicKey: key.publicKey, issuer: key.issuer },
      publicKey: publicKeyFromBase64(key.publicKey),
    };
    return true;
  }

  /** Signature, expiry and issuer; throws `BAD_TICKET`. */
  verify(ticket: string): TicketPayload {
    if (this.current === undefined) {
      throw wireError(
        "BAD_TICKET",
        "this host has not yet learned the tracker's key, so it cannot check tickets",
      );
    }
    return verifyTicket(ticket, this.current.publicKey, this.current.key.issuer);
  }
}
