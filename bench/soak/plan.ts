/**
 * What `npm run soak` runs: who attacks from which address, how hard, and the bounds the
 * legitimate clients' figures must stay within.
 *
 * Every per-address limit counts loopback like any address, so each attack comes from an address
 * of its own on 127.0.0.0/8 (Linux answers on all of it), as attackers across the internet would,
 * and the legitimate clients come from one more. The setup (accounts, the hosting peer's own links)
 * comes from 127.0.0.1.
 */
export const ADDRESSES = {
  partialLines: "127.0.0.2",
  slowDrips: "127.0.0.3",
  guests: "127.0.0.4",
  /** SIGNUP floods and wrong passwords, one link each from each of these. */
  credentials: ["127.0.0.5", "127.0.0.6"],
  connectionFlood: "127.0.0.7",
  /** Signed-in attackers (HOST and CACHE floods): their limits are per user, not per address. */
  signedIn: "127.0.0.8",
  legitimate: "127.0.0.9",
} as const;

/** Connections an attack holds per address: past the default cap of 64, so the cap is met. */
export const HELD_CONNECTIONS = 72;

/**
 * Offered rates at intensity 1 (`--intensity` scales them), each several times what the defaults
 * let through, so every limit is met all the time while the whole mix stays within what the
 * attackers' own share of a small machine can send.
 */
export const RATES = {
  /** GUESTs a second from the guest address, over its held connections (the allowance: 100). */
  guestsPerSecond: 300,
  /** SIGNUPs a second from each credentials address (allowance: 20 an hour each, 60 a minute in all). */
  signupsPerSecond: 50,
  /** Wrong-password SIGNINs a second from each credentials address (allowance: 5 a minute for a name). */
  wrongPasswordsPerSecond: 20,
  /** New connections a second to each server (64 may be held, not signed in, at once). */
  connectionsPerSecond: 100,
  /** HOSTs a second from each of the HOST flood's users (allowance: 1 a second, burst 100). */
  hostsPerSecond: 50,
  /** CACHE requests a second of `CACHE_BATCH` messages (allowance: 20 messages a second). */
  cachesPerSecond: 20,
} as const;

/** Messages per CACHE of the flood: the most a CACHE may carry. */
export const CACHE_BATCH = 500;
/** Users of the HOST flood. */
export const HOST_FLOOD_USERS = 2;

/** The legitimate clients' pace. */
export const LEGITIMATE = {
  signInIntervalMs: 1_000,
  /** Well under the host's 20 a second per user. */
  messageIntervalMs: 200,
} as const;

/**
 * The bounds. Sign-in runs scrypt at the shipped cost (N = 2^17, about 0.4 s to 0.9 s a run here)
 * behind the password queue: 2 s is a few runs' wait, and what a person accepts for a sign-in (or
 * twice the same run's quiet p99, when a busy machine makes even that slower). A
 * chat message should arrive within a second. The tracker's RSS holds up to two scrypt runs at once
 * (the password queue's concurrency, 128 MiB each, 268 MB together), so its bound is those and
 * 232 MB for all else; the host has no such cost, and its bound is 300 MB (with 1,000 idle members
 * it holds under 200 MB, README's memory row). MB are 10^6 bytes, as in `npm run bench`.
 */
export const BOUNDS = {
  signInP99Ms: 2_000,
  messageP99Ms: 1_000,
  trackerRssMB: 500,
  hostRssMB: 300,
} as const;
