import { DEFAULT_PASSWORD_HASH, type PasswordHashOptions } from "../auth/password.js";
import { DEFAULT_TICKET_TTL_S } from "../auth/tickets.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/framer.js";
import type { Logger } from "../util/logger.js";
import type { TrackerStore } from "./store.js";

export const DEFAULT_TRACKER_PORT = 22236;

export interface TrackerOptions {
  /** Holds the SQLite database (`tracker.db`) and the signing key pair; created when missing. */
  dataDir: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 22236; 0 = the OS picks). */
  port?: number;
  /** Lifetime of the tickets this tracker signs, in seconds (default one day). */
  ticketTtlS?: number;
  /** scrypt cost of new password hashes (default N = 2^17, r = 8, p = 1). */
  passwordHash?: PasswordHashOptions;
  /** Open connections beyond this are answered `TOO_MANY_CONNECTIONS` and closed (default 20,000). */
  maxConnections?: number;
  /**
   * A connection that has not signed in is closed after this long without a request other than
   * `PING` (default 60 s): heartbeats keep a link alive, not an anonymous one open.
   */
  unauthenticatedIdleMs?: number;
  /**
   * Quiet time after which the tracker sends `PING` (default 10 s; two missed answers close the
   * link, so a vanished host's channels go offline within 40 s).
   */
  heartbeatIntervalMs?: number;
  /** TCP keep-alive probe delay, so a vanished host's channels go offline (default 30 s). */
  keepAliveMs?: number;
  /** Failed SIGNINs allowed per username per minute (default 5; 0 = no limit). */
  signinFailuresPerUser?: number;
  /** Failed SIGNINs allowed per address per minute (default 20; 0 = no limit). */
  signinFailuresPerAddress?: number;
  /** Guests that one address may create per second, also the burst size (default 100; 0 = no limit). */
  guestsPerSecondPerAddress?: number;
  /** Longest accepted frame in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /**
   * Devices signed in at once per account (default 32; 0 = no limit). A SIGNIN from one more device
   * signs the least recently used one out: its tickets are revoked.
   */
  maxDevicesPerAccount?: number;
  /**
   * Least time between two records of a device's use (for least recently used; default 1 h): each is
   * a synced write, and a tracker restart brings a RESUME from every peer.
   */
  deviceTouchIntervalMs?: number;
  /**
   * A certificate (PEM, with its chain) and key issued for the tracker's host name, say by a CA.
   * Default: a key and self-signed certificate the tracker creates in `dataDir` on first start.
   */
  tlsCert?: string;
  tlsKey?: string;
  /** Default: warnings and errors to standard error. */
  logger?: Logger;
  /** Default: `SqliteTrackerStore` on `dataDir/tracker.db`. The tracker closes it on `close()`. */
  store?: TrackerStore;
}

export type ResolvedTrackerOptions = Required<
  Omit<TrackerOptions, "logger" | "store" | "tlsCert" | "tlsKey">
> &
  Pick<TrackerOptions, "tlsCert" | "tlsKey">;

export const DEFAULT_TRACKER_OPTIONS: Omit<ResolvedTrackerOptions, "dataDir" | "tlsCert" | "tlsKey"> = {
  host: "127.0.0.1",
  port: DEFAULT_TRACKER_PORT,
  ticketTtlS: DEFAULT_TICKET_TTL_S,
  passwordHash: DEFAULT_PASSWORD_HASH,
  maxConnections: 20_000,
  unauthenticatedIdleMs: 60_000,
  heartbeatIntervalMs: 10_000,
  keepAliveMs: 30_000,
  signinFailuresPerUser: 5,
  signinFailuresPerAddress: 20,
  guestsPerSecondPerAddress: 100,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxDevicesPerAccount: 32,
  deviceTouchIntervalMs: 60 * 60 * 1000,
};

/** Window of the failed-SIGNIN limits. */
export const SIGNIN_FAILURE_WINDOW_MS = 60_000;

/** Fills in defaults; an option given as `undefined` counts as not given. */
export function resolveTrackerOptions(options: TrackerOptions): ResolvedTrackerOptions {
  const given = Object.fromEntries(
    Object.entries(options).filter(
      ([key, value]) => value !== undefined && key !== "logger" && key !== "store",
    ),
  );
  return { ...DEFAULT_TRACKER_OPTIONS, ...given } as ResolvedTrackerOptions;
}
