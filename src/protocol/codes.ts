/**
 * Every wire status and error code, in one place. `docs/protocol.md` must describe each of them;
 * a test reads this file and the doc and fails when one is missing.
 */

export const STATUSES = ["OK", "REQUEST_ERROR", "SERVER_ERROR", "UNAUTHORIZED"] as const;
export type Status = (typeof STATUSES)[number];
export type ErrorStatus = Exclude<Status, "OK">;

/** Wire error codes with the status each one is sent with. */
export const ERROR_CODES = {
  // framing and dispatch
  FRAME_TOO_LARGE: "REQUEST_ERROR",
  BAD_FRAME: "REQUEST_ERROR",
  UNKNOWN_COMMAND: "REQUEST_ERROR",
  BAD_REQUEST: "REQUEST_ERROR",
  NOT_SIGNED_IN: "UNAUTHORIZED",
  RATE_LIMITED: "REQUEST_ERROR",
  TOO_MANY_CONNECTIONS: "SERVER_ERROR",
  AUTH_TIMEOUT: "REQUEST_ERROR",
  IDLE_TIMEOUT: "REQUEST_ERROR",
  INTERNAL_ERROR: "SERVER_ERROR",
  SHUTTING_DOWN: "SERVER_ERROR",
  BUSY: "SERVER_ERROR",
  UNSUPPORTED_VERSION: "REQUEST_ERROR",
  // accounts and identity
  USERNAME_TAKEN: "REQUEST_ERROR",
  NAME_CONFUSABLE: "REQUEST_ERROR",
  INVALID_USERNAME: "REQUEST_ERROR",
  WEAK_PASSWORD: "REQUEST_ERROR",
  BAD_CREDENTIALS: "UNAUTHORIZED",
  BAD_TICKET: "UNAUTHORIZED",
  GUESTS_CANNOT_HOST: "UNAUTHORIZED",
  GUESTS_CANNOT_HIDE: "UNAUTHORIZED",
  BAD_PROOF: "UNAUTHORIZED",
  BAD_SIGNATURE: "REQUEST_ERROR",
  // channels
  CHANNEL_TAKEN: "REQUEST_ERROR",
  CHANNEL_QUOTA: "REQUEST_ERROR",
  NO_SUCH_CHANNEL: "REQUEST_ERROR",
  NOT_OWNER: "UNAUTHORIZED",
  PRIVATE_CHANNEL: "UNAUTHORIZED",
  NOT_JOINED: "REQUEST_ERROR",
  GUEST_READ_ONLY: "UNAUTHORIZED",
  NOT_AUTHORIZED: "UNAUTHORIZED",
  TEXT_TOO_LONG: "REQUEST_ERROR",
  EMPTY_TEXT: "REQUEST_ERROR",
  CANNOT_AUTHORIZE_GUEST: "REQUEST_ERROR",
  // the relay
  RELAY_UNAVAILABLE: "SERVER_ERROR",
  RELAY_LIMIT: "SERVER_ERROR",
  BAD_RELAY_SESSION: "REQUEST_ERROR",
} as const satisfies Record<string, ErrorStatus>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes carried by a `REMOVED` event: why a connection no longer receives a channel. */
export const REMOVAL_CODES = ["PRIVATE_CHANNEL", "REVOKED", "CHANNEL_CLOSED", "TICKET_REVOKED"] as const;
export type RemovalCode = (typeof REMOVAL_CODES)[number];

/** Codes a client raises locally, never sent on the wire. */
export const LOCAL_CODES = [
  "TIMEOUT",
  "CONNECTION_CLOSED",
  "DATA_DIR_IN_USE",
  "DAMAGED_DATA",
  "CANCELLED",
  "BAD_REPLY",
  "TLS_FAILED",
  "TRACKER_KEY_MISMATCH",
  "HOST_KEY_MISMATCH",
  "TRACKER_TRUSTED",
  "OWNER_CHANGED",
  "MESSAGES_DROPPED",
] as const;
export type LocalCode = (typeof LOCAL_CODES)[number];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
