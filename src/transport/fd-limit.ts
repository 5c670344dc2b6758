import { readFileSync } from "node:fs";

/** Descriptors kept free for everything but accepted sockets: databases, logs, outgoing links. */
const MIN_RESERVED_FDS = 128;
const RESERVED_FRACTION = 0.05;
/** At most this share of the sockets left goes to connections still in their TLS handshake. */
const MAX_HANDSHAKE_SHARE = 0.1;

/** The soft "Max open files" limit in `/proc/self/limits` text; undefined when absent or unlimited. */
export function parseOpenFileLimit(limits: string): number | undefined {
  const line = limits.split("\n").find((entry) => entry.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/**
 * This process's soft limit on open files, read once at a server's start (Linux); undefined where
 * it cannot be read, and then no limit is assumed.
 */
export function readOpenFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return undefined;
  }
}

export interface SocketAllowance {
  /** Connections served at once; beyond it each is answered `TOO_MANY_CONNECTIONS`. */
  maxConnections: number;
  /** Sockets beyond `maxConnections` still let through, so refusals can be told (handshakes). */
  handshakeSlack: number;
  /** The configured `maxConnections` did not fit under the open-file limit and was lowered. */
  lowered: boolean;
}

/**
 * Fits a server's connection cap, and its allowance of sockets over it, under the open-file limit
 * with room left for everything else. Past the limit `accept` fails and clients see timeouts, so
 * the cap must be reached first: then the surplus gets a coded `TOO_MANY_CONNECTIONS`.
 */
export function fitToOpenFileLimit(
  maxConnections: number,
  handshakeSlack: number,
  openFileLimit: number | undefined,
): SocketAllowance {
  if (openFileLimit === undefined) return { maxConnections, handshakeSlack, lowered: false };
  const reserved = Math.max(MIN_RESERVED_FDS, Math.ceil(openFileLimit * RESERVED_FRACTION));
  const usable = Math.max(2, openFileLimit - reserved);
  if (maxConnections + handshakeSlack <= usable) return { maxConnections, handshakeSlack, lowered: false };
  const slack = Math.max(1, Math.min(handshakeSlack, Math.floor(usable * MAX_HANDSHAKE_SHARE)));
  const fitted = Math.max(1, Math.min(maxConnections, usable - slack));
  return { maxConnections: fitted, handshakeSlack: slack, lowered: fitted < maxConnections };
}
