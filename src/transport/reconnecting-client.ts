import type { Duplex } from "node:stream";
import { Connection, type ConnectionOptions, type RequestOptions } from "../protocol/connection.js";
import { ConnectionError, HychatError, wireError } from "../protocol/errors.js";
import { PROTOCOL_VERSION } from "../protocol/frames.js";
import type { HelloReply } from "../protocol/hello-schemas.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { type BackoffOptions, RetryLoop } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import {
  addressKey,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type DialedSocket,
  dial,
  type ResumableSession,
} from "./dial.js";
import { dialThroughRelay, type RelayRoute } from "./relay-dial.js";
import type { ServerTrust } from "./trust.js";
import {
  type EventOf,
  type LinkSpec,
  parseEvent,
  type ReplyOf,
  TypedConnection,
} from "./typed-connection.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Dial failures that waiting out a backoff will not fix; the redials go on, in case it was a man in the middle. */
const KEY_REFUSALS: ReadonlySet<string> = new Set(["TRACKER_KEY_MISMATCH", "HOST_KEY_MISMATCH"]);

/** Options of the links that hychat dials; tests shorten the heartbeat so a dead link is found fast. */
export interface LinkOptions {
  /** How long one TCP connect may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a request waits for its answer, and for the link to be up (default 10 s). */
  requestTimeoutMs?: number;
  /** Delays between redials while the other side is unreachable. */
  backoff?: BackoffOptions;
  /** Heartbeat and frame limits of each connection (`ConnectionOptions`). */
  connection?: Pick<ConnectionOptions, "heartbeatIntervalMs" | "heartbeatMisses" | "maxFrameBytes">;
}

export interface ReconnectingClientOptions<Bodies extends Record<string, unknown>, S extends LinkSpec<Bodies>>
  extends LinkOptions {
  /** What the other side is, for `HELLO`'s check and for messages: `tracker` or `host`. */
  server: HelloReply["server"];
  address: Address;
  /** Which certificate the server must present (pinned fingerprint, first use, or a CA). */
  trust: ServerTrust;
  /**
   * A server in this same process: a stream to it instead of a dial (no socket, so no TLS; nothing
   * leaves the process). The owner's client uses it for its own host.
   */
  connectLocal?: () => Duplex;
  /**
   * Where to go when `address` cannot be dialed: a relay that splices to the same server, with TLS
   * to it run inside (its key checked by `trust` as on a direct link). Asked on every dial.
   */
  relay?: () => RelayRoute | undefined;
  /** How long a direct dial may take when a relay waits behind it (default `connectTimeoutMs`). */
  directTimeoutMs?: () => number;
  spec: S;
  logger: Logger;
  /**
   * Runs on every new connection, after `HELLO` and before the link counts as up (sign in, register,
   * re-join). A throw drops that connection, and the next dial follows the backoff.
   */
  setup?(link: TypedConnection<Bodies, S>): Promise<void>;
  /** The link is up (again) and set up. */
  onUp?(link: TypedConnection<Bodies, S>): void;
  /** A link that was up dropped (`wasUp`), or a dial or its setup failed (`!wasUp`). */
  onDown?(error: Error, wasUp: boolean): void;
  /** An event from the other side that fits the spec; others are logged and dropped. */
  onEvent?(event: EventOf<S>): void;
  /** Asked after a link drops: false leaves it down (default: always redial). */
  shouldRedial?(): boolean;
}

interface Waiter<Link> {
  resolve(link: Link): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The one way hychat keeps a link to another party: dial, `HELLO`, a setup hook run on every
 * (re)connect, heartbeats (in `Connection`), and redial with backoff and jitter when it drops.
 * Requests are typed by the link's spec and their answers checked. Every socket a peer or host
 * opens to the tracker or to another host goes through here.
 */
export class ReconnectingClient<Bodies extends Record<string, unknown>, S extends LinkSpec<Bodies>> {
  readonly label: string;
  private readonly options: ReconnectingClientOptions<Bodies, S>;
  private loop: RetryLoop;
  private readonly waiters = new Set<Waiter<TypedConnection<Bodies, S>>>();
  private current: TypedConnection<Bodies, S> | undefined;
  /** The connection being set up, before it becomes `current`. */
  private attempt: Connection | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private whenClosed: (() => void) | undefined;
  private dialCount = 0;
  private lastErrorText: string | undefined;
  private downSince: number | undefined;
  /** The last TLS session the server handed out, so a redial resumes instead of a full handshake. */
  private tlsSession: ResumableSession | undefined;
  /** The current link goes through a relay. */
  private viaRelay = false;

  constructor(options: ReconnectingClientOptions<Bodies, S>) {
    this.options = options;
    this.label = `${options.server} ${addressKey(options.address)}`;
    this.loop = this.newLoop();
  }

  /** Up and set up. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  get link(): TypedConnection<Bodies, S> | undefined {
    return this.current;
  }

  get dials(): number {
    return this.dialCount;
  }

  /** The link is up through a relay, not at the server's own address. */
  get relayed(): boolean {
    return this.current !== undefined && this.viaRelay;
  }

  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  /** How long the other side has been out of reach (0 while up, or before the first dial). */
  get unreachableForMs(): number {
    return this.current !== undefined || this.downSince === undefined ? 0 : Date.now() - this.downSince;
  }

  get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Dials unless a dial is running, waiting, or the link is up. */
  start(): void {
    if (this.closed || this.current !== undefined) return;
    this.downSince ??= Date.now();
    this.loop.start();
  }

  /** Dials now instead of waiting out the backoff (say, the tracker lists the host again). */
  retryNow(): void {
    if (this.closed || this.current !== undefined || this.attempt !== undefined) return;
    this.loop.stop();
    this.loop = this.newLoop();
    this.start();
  }

  /**
   * Replaces the connection with a fresh one, whose setup runs again (a new identity to sign in
   * with). That is no outage: `onDown` is not called, and requests wait for the new link.
   */
  reconnect(): void {
    if (this.closed) return;
    const link = this.current;
    this.current = undefined;
    link?.connection.close();
    this.attempt?.destroy();
    this.start();
  }

  /** Resolves with the link once it is up; rejects with `TIMEOUT` after `timeoutMs`. */
  whenReady(timeoutMs: number = this.requestTimeoutMs): Promise<TypedConnection<Bodies, S>> {
    if (this.current !== undefined) return Promise.resolve(this.current);
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter<TypedConnection<Bodies, S>> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const why = this.lastErrorText === undefined ? "" : ` (${this.lastErrorText})`;
          this.settle(
            waiter,
            new ConnectionError("TIMEOUT", `${this.label} unreachable for ${timeoutMs} ms${why}`),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Sends a request once the link is up, waiting for it up to `waitMs` (default: the request
   * timeout; 0 fails at once with `CONNECTION_CLOSED` while it is down).
   */
  async request<C extends keyof Bodies & string>(
    command: C,
    body: Bodies[C],
    options: RequestOptions & { waitMs?: number } = {},
  ): Promise<ReplyOf<S, C>> {
    let link = this.current;
    if (link === undefined) {
      if (options.waitMs === 0)
        throw new ConnectionError("CONNECTION_CLOSED", `not connected to ${this.label}`);
      link = await this.whenReady(options.waitMs);
    }
    return link.request(command, body, options);
  }

  debugInfo(): Record<string, unknown> {
    return {
      address: addressKey(this.options.address),
      connected: this.connected,
      dials: this.dialCount,
      lastError: this.lastErrorText ?? null,
      relayed: this.relayed,
      pendingRequests: this.current?.connection.pendingRequests ?? 0,
      queuedBytes: this.current?.connection.queuedBytes ?? 0,
    };
  }

  /** Stops redialing and closes the link; resolves once it is closed and its requests settled. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.loop.stop();
    for (const waiter of [...this.waiters]) this.settle(waiter, this.closedError());
    this.attempt?.destroy();
    const connection = this.current?.connection;
    this.closing =
      connection === undefined || connection.closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.whenClosed = resolve;
            connection.close();
          });
    return this.closing;
  }

  private newLoop(): RetryLoop {
    return new RetryLoop(() => this.dialOnce(), {
      ...this.options.backoff,
      onError: (error, delayMs) => {
        this.lastErrorText = error instanceof Error ? error.message : String(error);
        this.options.logger.debug({ link: this.label, err: error, delayMs }, "link failed; will redial");
        this.options.onDown?.(error instanceof Error ? error : new Error(String(error)), false);
      },
    });
  }

  private async dialOnce(): Promise<void> {
    this.dialCount += 1;
    let dialed: { socket: Duplex; fingerprint: string; relayed: boolean };
    try {
      dialed = this.localDial() ?? (await this.dialRemote());
    } catch (error) {
      // A server with the wrong key will not become the right one by waiting: say so to whoever waits.
      if (error instanceof ConnectionError && KEY_REFUSALS.has(error.code)) {
        this.tlsSession = undefined;
        for (const waiter of [...this.waiters]) this.settle(waiter, error);
      }
      throw error;
    }
    const { socket } = dialed;
    if (this.closed) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      {
        onEvent: (frame) => this.route(frame.event, frame.body),
        onClose: (closed, error) => this.lost(closed, error),
      },
      { requestTimeoutMs: this.requestTimeoutMs, ...this.options.connection },
    );
    const link = new TypedConnection<Bodies, S>(connection, this.options.spec, dialed.fingerprint);
    this.viaRelay = dialed.relayed;
    this.attempt = connection;
    try {
      await this.hello(link);
      await this.options.setup?.(link);
      if (connection.closed) throw new ConnectionError("CONNECTION_CLOSED", `${this.label} closed the link`);
    } catch (error) {
      connection.destroy();
      throw error;
    } finally {
      if (this.attempt === connection) this.attempt = undefined;
    }
    if (this.closed) {
      connection.close();
      return;
    }
    this.current = link;
    this.downSince = undefined;
    this.lastErrorText = undefined;
    for (const waiter of [...this.waiters]) this.settle(waiter, link);
    this.options.onUp?.(link);
  }

  /** A stream to a server in this process, which is the one the trust pins. */
  private localDial(): (Pick<DialedSocket, "fingerprint"> & { socket: Duplex; relayed: false }) | undefined {
    const socket = this.options.connectLocal?.();
    if (socket === undefined) return undefined;
    return { socket, fingerprint: this.options.trust.fingerprint ?? "", relayed: false };
  }

  /**
   * The server's own address first; when that fails and a relay leads there too, TLS to the server
   * inside a stream through the relay. A key refusal is never retried through the relay: the same
   * server must present the same key either way.
   */
  private async dialRemote(): Promise<DialedSocket & { relayed: boolean }> {
    const connectTimeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const route = this.options.relay?.();
    try {
      const direct = await dial(this.options.address, {
        trust: this.options.trust,
        timeoutMs:
          route === undefined ? connectTimeoutMs : (this.options.directTimeoutMs?.() ?? connectTimeoutMs),
        ...(this.tlsSession === undefined ? {} : { session: this.tlsSession }),
        onSession: (session) => {
          this.tlsSession = session;
        },
      });
      return { ...direct, relayed: false };
    } catch (error) {
      if (
        route === undefined ||
        this.closed ||
        (error instanceof ConnectionError && KEY_REFUSALS.has(error.code))
      )
        throw error;
      this.options.logger.debug({ link: this.label, err: error }, "direct dial failed; trying the relay");
    }
    const stream = await dialThroughRelay(route, connectTimeoutMs);
    const relayed = await dial(this.options.address, {
      trust: this.options.trust,
      timeoutMs: connectTimeoutMs,
      over: stream,
    });
    return { ...relayed, relayed: true };
  }

  /**
   * Checks the version the other side speaks (one from before `HELLO` existed speaks version 1)
   * and keeps the connection's challenge.
   */
  private async hello(link: TypedConnection<Bodies, S>): Promise<void> {
    let reply: HelloReply;
    try {
      const hello = "HELLO" as keyof Bodies & string;
      reply = (await link.request(hello, {
        version: PROTOCOL_VERSION,
      } as Bodies[typeof hello])) as HelloReply;
    } catch (error) {
      if (error instanceof HychatError && error.code === "UNKNOWN_COMMAND")
        reply = { version: 1, server: this.options.server };
      else throw error;
    }

    if (reply.version !== PROTOCOL_VERSION) {
      throw wireError(
        "UNSUPPORTED_VERSION",
        `${this.label} speaks protocol version ${reply.version}, this hychat ${PROTOCOL_VERSION}: run the same release on both sides`,
      );
    }
    if (reply.server !== this.options.server) {
      throw new ConnectionError(
        "BAD_REPLY",
        `${addressKey(this.options.address)} is a ${reply.server}, not a ${this.options.server}`,
      );
    }
    if (reply.challenge === undefined) {
      throw new ConnectionError("BAD_REPLY", `${this.label} sent no challenge with HELLO`);
    }
    link.challenge = reply.challenge;
  }

  private route(event: string, body: unknown): void {
    const parsed = parseEvent(this.options.spec, event, body);
    if (parsed === undefined) {
      this.options.logger.debug({ link: this.label, event }, "ignored unknown or malformed event");
      return;
    }
    this.options.onEvent?.(parsed);
  }

  private lost(connection: Connection, error: Error | undefined): void {
    if (this.current?.connection !== connection) return;
    this.current = undefined;
    if (this.closed) {
      this.whenClosed?.();
      return;
    }
    this.downSince ??= Date.now();
    const reason = error ?? new ConnectionError("CONNECTION_CLOSED", `${this.label} closed the link`);
    this.lastErrorText = reason.message;
    this.options.onDown?.(reason, true);
    if (this.options.shouldRedial?.() ?? true) this.start();
  }

  private settle(
    waiter: Waiter<TypedConnection<Bodies, S>>,
    outcome: TypedConnection<Bodies, S> | Error,
  ): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  private closedError(): ConnectionError {
    return new ConnectionError("CONNECTION_CLOSED", `link to ${this.label} closed`);
  }
}
