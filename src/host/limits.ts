/** Limits of a channel host. Every one is an option; `0` turns a rate limit off. */
export interface HostLimits {
  /** Per-user token bucket refill, in messages a second (default 20; 0 = off). The owner is exempt. */
  sendRatePerSecond: number;
  /** Per-user token bucket size: how many sends may come in a burst (default 40). */
  sendBurst: number;
  /**
   * Bytes a connection may leave unread before it is dropped (default 8 MiB). Checked before each batch
   * of broadcasts and each request, so one large batch to a reader that keeps up never counts.
   */
  maxQueuedBytes: number;
  /** How long a member's socket may stay over its high-water mark before it is dropped (default 30 s). */
  drainTimeoutMs: number;
  /** Open connections accepted at once; more are answered `TOO_MANY_CONNECTIONS` and closed (default 10000). */
  maxConnections: number;
  /** Longest accepted frame in bytes (default 1 MiB). */
  maxFrameBytes: number;
  /** A connection that has not completed a `CONNECT` within this is closed (default 60 s). */
  unauthenticatedIdleMs: number;
  /** `MEMBERS` reports to the tracker go out at most once per this, per channel (default 1 s). */
  membersReportIntervalMs: number;
  /**
   * Quiet time after which the host sends `PING` on a member's connection and on its tracker link
   * (default 10 s; two missed answers close the link, so a dead one is found within 40 s).
   */
  heartbeatIntervalMs: number;
}

export const DEFAULT_HOST_LIMITS: HostLimits = {
  sendRatePerSecond: 20,
  sendBurst: 40,
  maxQueuedBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxFrameBytes: 1024 * 1024,
  unauthenticatedIdleMs: 60_000,
  membersReportIntervalMs: 1_000,
  heartbeatIntervalMs: 10_000,
};
