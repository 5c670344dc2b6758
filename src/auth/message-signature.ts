import type { KeyObject } from "node:crypto";
import { wireError } from "../protocol/errors.js";
import { messageBytes, type SignedMessageFields } from "./canonical.js";
import type { DeviceKey } from "./device-key.js";
import { verifySignature } from "./signatures.js";
import { readTicket, type TicketPayload } from "./tickets.js";
import type { SignatureCheck, SignatureVerifierPool } from "./verify-pool.js";

/** How far a message's `sentAt` may lie past its certificate's expiry (clocks differ). */
export const CERTIFICATE_SKEW_S = 5 * 60;
const CERTIFICATE_CACHE_SIZE = 4096;

export function signMessage(key: DeviceKey, fields: SignedMessageFields): string {
  return key.sign(messageBytes(fields));
}

/** Why a message was not accepted as its author's. */
export type UnverifiedReason = "unsigned" | "uncertified" | "forged";

export interface SignedMessage extends Omit<SignedMessageFields, "sentAt"> {
  sentAt: string | null;
  sig: string | null;
  cert: string | null;
}

/**
 * Checks messages against the tracker's key: the certificate (a ticket of this tracker, for the
 * author, a user, in force when the message was written) and then the author's signature over the
 * canonical bytes. Certificates are checked once each: a member's messages share one.
 */
export class MessageVerifier {
  private readonly certificates = new Map<string, TicketPayload | null>();

  constructor(
    private readonly trackerKey: KeyObject,
    private readonly issuer: string,
  ) {}

  /** The certificate's payload, or throws `BAD_SIGNATURE` saying why it is not one. */
  certificate(cert: string): TicketPayload {
    let payload = this.certificates.get(cert);
    if (payload === undefined) {
      try {
        payload = readTicket(cert, this.trackerKey, this.issuer);
      } catch {
        payload = null;
      }
      if (this.certificates.size >= CERTIFICATE_CACHE_SIZE) {
        this.certificates.delete(this.certificates.keys().next().value as string);
      }
      this.certificates.set(cert, payload);
    }
    if (payload === null) {
      throw wireError("BAD_SIGNATURE", "the certificate is not signed by this tracker");
    }
    return payload;
  }

  /**
   * The certificate's payload when it may vouch for `from` writing at `sentAt`; throws
   * `BAD_SIGNATURE` otherwise.
   */
  certifies(cert: string, from: string, sentAt: string): TicketPayload {
    const payload = this.certificate(cert);
    if (payload.role !== "user") throw wireError("BAD_SIGNATURE", "guests cannot sign messages");
    if (payload.sub.toLowerCase() !== from.toLowerCase()) {
      throw wireError("BAD_SIGNATURE", `the certificate is ${payload.sub}'s, not ${from}'s`);
    }
    const written = Date.parse(sentAt);
    if (Number.isNaN(written) || written / 1000 > payload.exp + CERTIFICATE_SKEW_S) {
      throw wireError("BAD_SIGNATURE", "the message was written after its certificate expired");
    }
    return payload;
  }

  /** Null when the message is its author's, signed for `channel`; else why not. */
  check(message: SignedMessage, channel: string): UnverifiedReason | null {
    const prepared = this.prepare(message, channel);
    if (typeof prepared === "string") return prepared;
    return verifySignature(prepared.key, prepared.bytes, prepared.sig) ? null : "forged";
  }

  /** `check` for a page of messages, the signatures spread over `pool`'s threads. */
  async checkAll(
    messages: readonly SignedMessage[],
    channel: string,
    pool: SignatureVerifierPool,
  ): Promise<(UnverifiedReason | null)[]> {
    const prepared = messages.map((message) => this.prepare(message, channel));
    const checks = prepared.filter((entry): entry is SignatureCheck => typeof entry !== "string");
    const verdicts = await pool.verifyAll(checks);
    let next = 0;
    return prepared.map((entry) => {
      if (typeof entry === "string") return entry;
      return verdicts[next++] === true ? null : "forged";
    });
  }

  /** The reason when the certificate already fails; else the signature check that decides. */
  private prepare(message: SignedMessage, channel: string): UnverifiedReason | SignatureCheck {
    const { sig, cert, sentAt } = message;
    if (sig === null || cert === null || sentAt === null) return "unsigned";
    let payload: TicketPayload;
    try {
      payload = this.certifies(cert, message.from, sentAt);
    } catch {
      return "uncertified";
    }
    return { key: payload.key, bytes: messageBytes({ ...message, sentAt, channel }), sig };
  }
}
