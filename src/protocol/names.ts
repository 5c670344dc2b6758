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

/** Names made only of `.`, `_` and `-` are refused: `.` and `..` would name directories on disk. */
const LETTER_OR_DIGIT = /[A-Za-z0-9]/;

/** True when `name` fits the username pattern and holds a letter or digit: a name a tracker gives out. */
export function isAllowedUsername(name: string): boolean {
  return USERNAME_PATTERN.test(name) && LETTER_OR_DIGIT.test(name);
}

/**
 * True for an allowed username, or `guest-` and one: a name a tracker signs in as today, and so
 * one a peer may make a directory of. The wire schemas stay wider, for names given out before.
 */
export function isIssuableName(name: string): boolean {
  return isAllowedUsername(isGuestName(name) ? name.slice(GUEST_PREFIX.length) : name);
}

/** The key under which names are unique regardless of case. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

export const usernameSchema = z
  .string()
  .regex(USERNAME_PATTERN, "must match ^[A-Za-z0-9_.-]{1,32}$")
  .refine(isAllowedUsername, "must hold a letter or digit");
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

/**
 * An Ed25519 public key on the wire: base64url (no padding) of its 32 raw bytes, canonical only.
 * The last of the 43 characters carries 4 bits and 2 unused ones, which must be 0: decoders ignore
 * them, so without this one key would have 4 spellings.
 */
export const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/**
 * An Ed25519 signature on the wire: base64url (no padding) of its 64 bytes, canonical only (the
 * last of the 86 characters carries 2 bits; its 4 unused ones must be 0, or one signature would
 * have 16 spellings).
 */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{85}[AQgw]$/;
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

/** A TLS certificate's identity: `sha256:` and the SHA-256 of its DER in lowercase hex. */
export const fingerprintSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);
