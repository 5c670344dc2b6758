import {
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_PRE_AUTH_MAX_FRAME_BYTES,
} from "../transport/admission.js";

/** Limits of a channel host. Every one is an option; `0` turns a rate limit off. */
export interface HostLimits {
  /** Per-user token bucket refill, in messages a second (default 20; 0 = off). The owner is exempt. */
  sendRatePerSecond: number;
  /** Per-user token bucket size: how many sends (`MESSAGE` or `CACHE` requests) may come in a burst (default 40). */
  sendBurst: number;
  /**
   * Per-user bucket of messages, refilled at `sendRatePerSecond` too: how many messages (one token
   * each, `MESSAGE` and every `CACHE` entry) may be stored in a burst, as when an outbox is replayed
   * (default 250). A larger `CACHE` stores this many and the client sends the rest again.
   */
  cacheBurst: number;
  /**
   * Bytes of messages a channel keeps (default 256 MiB; 0 = no quota). Beyond it the oldest messages
   * are deleted as new ones are stored, so a channel never fills up; the newest one always stays.
   */
  channelQuotaBytes: number;
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
  /**
   * A connection that has not completed a `CONNECT` this long after it was accepted is answered
   * `AUTH_TIMEOUT` and closed, however busy it is (default 20 s).
   */
  unauthenticatedIdleMs: number;
  /**
   * Connections without a `CONNECT`, and guests', at once from one address (IPv6: one /64); one more
   * is answered `TOO_MANY_CONNECTIONS` and closed (default 64; 0 = no cap). Loopback counts too; the
   * owner's in-process link does not.
   */
  maxConnectionsPerAddress: number;
  /** Longest line accepted from a connection without a user's `CONNECT` (default 16 KiB). */
  preAuthMaxFrameBytes: number;
  /**
   * Bytes that connections without a user's `CONNECT` may hold in lines not ended yet, all together
   * (default 16 MiB; 0 = no budget); past it the one holding the most gets `FRAME_TOO_LARGE`.
   */
  partialLineBudgetBytes: number;
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
  cacheBurst: 250,
  channelQuotaBytes: 256 * 1024 * 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxFrameBytes: 1024 * 1024,
  unauthenticatedIdleMs: 20_000,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  preAuthMaxFrameBytes: DEFAULT_PRE_AUTH_MAX_FRAME_BYTES,
  partialLineBudgetBytes: 16 * 1024 * 1024,
  membersReportIntervalMs: 1_000,
  heartbeatIntervalMs: 10_000,
};
