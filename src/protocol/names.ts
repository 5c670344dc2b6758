import { z } from "zod";

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
export const GUEST_PREFIX = "guest-";
export const CHANNEL_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** 1..64 printable ASCII characters. */
export const MSG_ID_PATTERN = /^[\x20-\x7e]{1,64}$/;
export const MAX_TEXT_CODE_POINTS = 4000;

export function isGuestName(username: string): boolean {
  return username.toLowerCase().startsWith(GUEST_PREFIX);
}

/** The key under which names are unique regardless of case. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

export const usernameSchema = z.string().regex(USERNAME_PATTERN, "must match ^[A-Za-z0-9_.-]{1,32}$");
/** A user or guest name as it may appear on the wire (`guest-` + a username for guests). */
export const anyUsernameSchema = z
  .string()
  .min(1)
  .max(GUEST_PREFIX.length + 32)
  .refine(
    (name) =>
      USERNAME_PATTERN.test(name) ||
      (isGuestName(name) && USERNAME_PATTERN.test(name.slice(GUEST_PREFIX.length))),
    "is not a valid user or guest name",
  );
export const channelNameSchema = z.string().regex(CHANNEL_PATTERN, "must match ^[A-Za-z0-9_.-]{1,64}$");
export const msgIdSchema = z.string().regex(MSG_ID_PATTERN, "must be 1 to 64 printable ASCII characters");

/** An Ed25519 public key on the wire: base64url (no padding) of its 32 raw bytes. */
export const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** An Ed25519 signature on the wire: base64url (no padding) of its 64 bytes. */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** A device's id, chosen by its peer: 1 to 64 letters, digits, `_` or `-`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A `HELLO` challenge: base64url of 32 random bytes. */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const publicKeySchema = z
  .string()
  .regex(PUBLIC_KEY_PATTERN, "must be an Ed25519 public key in base64url");
export const signatureSchema = z
  .string()
  .regex(SIGNATURE_PATTERN, "must be an Ed25519 signature in base64url");
export const deviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, "must match ^[A-Za-z0-9_-]{1,64}$");
/** A ticket: base64url, a dot, base64url (checked in full where it is verified). */
export const ticketSchema = z.string().min(1).max(4096);
