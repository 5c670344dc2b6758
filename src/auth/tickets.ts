import { createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { z } from "zod";
import { wireError } from "../protocol/errors.js";
import { DEVICE_ID_PATTERN, PUBLIC_KEY_PATTERN, SIGNATURE_PATTERN } from "../protocol/names.js";

/**
 * What a ticket says: who, as what, with which device key (`key`, `dev`, and `gen`, which the
 * tracker raises to revoke the device's older tickets), from when until when, signed by which
 * tracker. A ticket is also the certificate of its key: messages carry it.
 */
export const ticketPayloadSchema = z.object({
  v: z.literal(2),
  sub: z.string().min(1).max(64),
  role: z.enum(["user", "guest"]),
  key: z.string().regex(PUBLIC_KEY_PATTERN),
  dev: z.string().regex(DEVICE_ID_PATTERN),
  gen: z.number().int().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string().min(1).max(128),
});
export type TicketPayload = z.infer<typeof ticketPayloadSchema>;

const TICKET_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export const DEFAULT_TICKET_TTL_S = 24 * 60 * 60;

/** True when `text` is the one base64url spelling (no padding) of the bytes it decodes to. */
export function isCanonicalBase64url(text: string): boolean {
  return Buffer.from(text, "base64url").toString("base64url") === text;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `base64url(JSON payload) + "." + base64url(Ed25519 signature over the first part)`. */
export function signTicket(payload: TicketPayload, privateKey: KeyObject): string {
  const encoded = Buffer.from(JSON.stringify(payload)).toString("base64url");
  const signature = sign(null, Buffer.from(encoded, "ascii"), privateKey).toString("base64url");
  return `${encoded}.${signature}`;
}

/** Checks signature, expiry and issuer; throws `BAD_TICKET` with the reason otherwise. */
export function verifyTicket(
  ticket: string,
  publicKey: KeyObject,
  issuer: string,
  now: number = nowSeconds(),
): TicketPayload {
  const payload = readTicket(ticket, publicKey, issuer);
  if (payload.exp <= now) throw wireError("BAD_TICKET", "ticket has expired");
  return payload;
}

/**
 * Checks signature, shape and issuer, not expiry: a message's certificate is judged against the
 * time the message was written. Throws `BAD_TICKET` with the reason.
 */
export function readTicket(ticket: string, publicKey: KeyObject, issuer: string): TicketPayload {
  // Only base64url characters: Node's decoders would read other characters by their low byte,
  // so many strings would otherwise pass for one ticket.
  if (!TICKET_PATTERN.test(ticket)) throw wireError("BAD_TICKET", "ticket is malformed");
  const dot = ticket.indexOf(".");
  const encoded = ticket.slice(0, dot);
  const signatureText = ticket.slice(dot + 1);
  // Canonical spellings only: decoders ignore the unused low bits of the last character (and a
  // lone trailing one), so one signature would otherwise have 16 spellings, one ticket 16 strings.
  if (!SIGNATURE_PATTERN.test(signatureText) || !isCanonicalBase64url(encoded)) {
    throw wireError("BAD_TICKET", "ticket is not in canonical base64url");
  }
  const signature = Buffer.from(signatureText, "base64url");
  let valid = false;
  try {
    valid = verify(null, Buffer.from(encoded, "ascii"), publicKey, signature);
  } catch {
    valid = false;
  }
  if (!valid) throw wireError("BAD_TICKET", "ticket signature does not verify");
  let payload: TicketPayload;
  try {
    payload = ticketPayloadSchema.parse(JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")));
  } catch {
    throw wireError("BAD_TICKET", "ticket payload is malformed");
  }
  if (payload.iss !== issuer) throw wireError("BAD_TICKET", "ticket was issued by another tracker");
  return payload;
}

/** Reads a public key as served by `KEY`: base64 of its SPKI DER encoding. */
export function publicKeyFromBase64(spkiDer: string): KeyObject {
  return createPublicKey({ key: Buffer.from(spkiDer, "base64"), format: "der", type: "spki" });
}

export function publicKeyToBase64(key: KeyObject): string {
  return key.export({ format: "der", type: "spki" }).toString("base64");
}
