import {
  DEFAULT_PASSWORD_HASH,
  DEFAULT_PASSWORD_HASH_QUEUE,
  type PasswordHashOptions,
} from "../auth/password.js";
import { DEFAULT_TICKET_TTL_S } from "../auth/tickets.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/framer.js";
import { LIST_PAGE_MAX } from "../protocol/tracker-schemas.js";
import {
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_PARTIAL_LINE_BUDGET_BYTES,
  DEFAULT_PRE_AUTH_MAX_FRAME_BYTES,
} from "../transport/admission.js";
import type { Logger } from "../util/logger.js";
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from "./relay-broker.js";
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
   * A connection not signed in this long after it was accepted (or after a `SIGNOUT`) is answered
   * `AUTH_TIMEOUT` and closed, however busy it is (default 20 s; 0 = none).
   */
  authDeadlineMs?: number;
  /**
   * A guest connection is answered `IDLE_TIMEOUT` and closed after this long without a request other
   * than `PING` (default 30 min; 0 = never): guests cost nothing to make.
   */
  guestIdleMs?: number;
  /**
   * Connections not signed in, and guests, at once from one address (IPv6: one /64); one more is
   * answered `TOO_MANY_CONNECTIONS` and closed (default 64; 0 = no cap). Loopback counts too.
   */
  maxConnectionsPerAddress?: number;
  /** Longest line accepted from a connection not signed in as a user (default 16 KiB). */
  preAuthMaxFrameBytes?: number;
  /**
   * Bytes that connections not signed in as a user may hold in lines not ended yet, all together
   * (default 64 MiB; 0 = no budget); past it the one holding the most gets `FRAME_TOO_LARGE`.
   */
  partialLineBudgetBytes?: number;
  /**
   * Quiet time after which the tracker sends `PING` (default 10 s; two missed answers close the
   * link, so a vanished host's channels go offline within 40 s).
   */
  heartbeatIntervalMs?: number;
  /** TCP keep-alive probe delay, so a vanished host's channels go offline (default 30 s). */
  keepAliveMs?: number;
  /** Failed SIGNINs allowed per username from one address per minute (default 5; 0 = no limit). */
  signinFailuresPerUserAddress?: number;
  /** Failed SIGNINs allowed per address per minute (default 20; 0 = no limit). */
  signinFailuresPerAddress?: number;
  /**
   * Failed SIGNINs of one username per hour from all addresses (default 50; 0 = no limit). Past it
   * only addresses that failed for that name are refused: never one that has not, as the owner's.
   */
  signinFailuresPerUserPerHour?: number;
  /** SIGNUPs that reach hashing per address (IPv6: one /64) per hour, also the burst (default 20; 0 = no limit). */
  signupsPerAddressPerHour?: number;
  /** SIGNUPs that reach hashing per minute from all addresses, also the burst (default 60; 0 = no limit). */
  signupsPerMinute?: number;
  /** Password hashes and checks run at once (default 2): each takes 128·N·r bytes while it runs. */
  passwordHashConcurrency?: number;
  /**
   * Password jobs waiting for a turn (default 32; sign-ins go first). One more is answered
   * `SERVER_ERROR` `BUSY` (a sign-in takes the place of the newest waiting sign-up instead).
   */
  passwordHashQueueLength?: number;
  /** Guests that one address may create per second, also the burst size (default 100; 0 = no limit). */
  guestsPerSecondPerAddress?: number;
  /** Channels one user may have registered (default 100; 0 = no limit): one more `HOST` is `CHANNEL_QUOTA`. */
  maxChannelsPerUser?: number;
  /** Channels registered on the tracker in all (default 50,000; 0 = no limit): one more is `CHANNEL_QUOTA`. */
  maxChannels?: number;
  /**
   * `HOST`s per second per user that register a channel or change a listing held by a live link
   * (default 1; 0 = no limit); past it `RATE_LIMITED`. Bringing an offline channel back online is free.
   */
  hostsPerSecondPerUser?: number;
  /** The burst of `hostsPerSecondPerUser` (default 100: one user's channel quota at once). */
  hostBurstPerUser?: number;
  /** Channels in one `LIST` page when the request asks for none or more (default and most: 500). */
  listPageSize?: number;
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
  /**
   * Relay for hosts the tracker cannot dial (default on; `--no-relay` turns it off): members reach
   * them through the tracker's own port, with TLS end to end inside (docs/protocol.md, "Relay").
   */
  relay?: boolean;
  /** Limits of the relay; each one not given keeps its default. */
  relayLimits?: Partial<RelayLimits>;
  /** How long the tracker's dial to a new host's address may take before it counts as unreachable (default 3 s). */
  reachabilityTimeoutMs?: number;
  /** Default: warnings and errors to standard error. */
  logger?: Logger;
  /** Default: `SqliteTrackerStore` on `dataDir/tracker.db`. The tracker closes it on `close()`. */
  store?: TrackerStore;
}

export type ResolvedTrackerOptions = Required<
  Omit<TrackerOptions, "logger" | "store" | "tlsCert" | "tlsKey" | "relayLimits">
> &
  Pick<TrackerOptions, "tlsCert" | "tlsKey"> & { relayLimits: RelayLimits };

export const DEFAULT_TRACKER_OPTIONS: Omit<ResolvedTrackerOptions, "dataDir" | "tlsCert" | "tlsKey"> = {
  host: "127.0.0.1",
  port: DEFAULT_TRACKER_PORT,
  ticketTtlS: DEFAULT_TICKET_TTL_S,
  passwordHash: DEFAULT_PASSWORD_HASH,
  maxConnections: 20_000,
  unauthenticatedIdleMs: 60_000,
  authDeadlineMs: 20_000,
  guestIdleMs: 30 * 60 * 1000,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  preAuthMaxFrameBytes: DEFAULT_PRE_AUTH_MAX_FRAME_BYTES,
  partialLineBudgetBytes: DEFAULT_PARTIAL_LINE_BUDGET_BYTES,
  heartbeatIntervalMs: 10_000,
  keepAliveMs: 30_000,
  signinFailuresPerUserAddress: 5,
  signinFailuresPerAddress: 20,
  signinFailuresPerUserPerHour: 50,
  signupsPerAddressPerHour: 20,
  signupsPerMinute: 60,
  passwordHashConcurrency: DEFAULT_PASSWORD_HASH_QUEUE.concurrency,
  passwordHashQueueLength: DEFAULT_PASSWORD_HASH_QUEUE.maxQueued,
  guestsPerSecondPerAddress: 100,
  maxChannelsPerUser: 100,
  maxChannels: 50_000,
  hostsPerSecondPerUser: 1,
  hostBurstPerUser: 100,
  listPageSize: LIST_PAGE_MAX,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxDevicesPerAccount: 32,
  deviceTouchIntervalMs: 60 * 60 * 1000,
  relay: true,
  relayLimits: DEFAULT_RELAY_LIMITS,
  reachabilityTimeoutMs: 3_000,
};

/** Window of the failed-SIGNIN limits per username and address, and per address. */
export const SIGNIN_FAILURE_WINDOW_MS = 60_000;
/** Window of the failed-SIGNIN limit per username from all addresses. */
export const SIGNIN_NAME_FAILURE_WINDOW_MS = 60 * 60_000;

/** Fills in defaults; an option given as `undefined` counts as not given. */
export function resolveTrackerOptions(options: TrackerOptions): ResolvedTrackerOptions {
  const given = Object.fromEntries(
    Object.entries(options).filter(
      ([key, value]) => value !== undefined && key !== "logger" && key !== "store",
    ),
  );
  return {
    ...DEFAULT_TRACKER_OPTIONS,
    ...given,
    relayLimits: { ...DEFAULT_RELAY_LIMITS, ...options.relayLimits },
  } as ResolvedTrackerOptions;
}
