import { Connection } from "../protocol/connection.js";
import { ConnectionError } from "../protocol/errors.js";
import type { EventFrame } from "../protocol/frames.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { addressKey, DEFAULT_CONNECT_TIMEOUT_MS, dial } from "../transport/dial.js";
import { type BackoffOptions, RetryLoop } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import { type HostEvent, parseHostEvent } from "./host-replies.js";

export interface HostSessionOptions {
  /** How long one TCP connect may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a request waits for its response (default 10 s). */
  requestTimeoutMs?: number;
  /** Delays between redials while the host is unreachable. */
  backoff?: BackoffOptions;
  logger: Logger;
}

/** One joined channel's view of the connection it shares with the other channels on that host. */
export interface HostChannelListener {
  /** The connection is open (again): the channel must send CONNECT. */
  up(): void;
  /** The connection dropped, or a dial failed; a redial follows by itself. */
  down(error: unknown): void;
  event(event: HostEvent): void;
}

/**
 * The one connection to a channel host, shared by every channel joined on it. It redials with
 * backoff while any channel is attached, and closes when the last one detaches.
 */
export class HostSession {
  readonly address: Address;
  readonly key: string;
  private readonly options: HostSessionOptions;
  private readonly channels = new Map<string, HostChannelListener>();
  private readonly onIdle: (session: HostSession) => void;
  private connection: Connection | undefined;
  private loop: RetryLoop;
  private closed = false;
  private closing: Promise<void> | undefined;
  private whenClosed: (() => void) | undefined;
  private dials = 0;

  /** `onIdle` runs when the last channel detaches; it is expected to close the session. */
  constructor(address: Address, options: HostSessionOptions, onIdle: (session: HostSession) => void) {
    this.address = address;
    this.key = addressKey(address);
    this.options = options;
    this.onIdle = onIdle;
    this.loop = this.newLoop();
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.closed;
  }

  get channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** Routes a channel's events here and dials if needed; the caller sends CONNECT once `connected`. */
  attach(channel: string, listener: HostChannelListener): void {
    if (this.closed) throw new ConnectionError("CONNECTION_CLOSED", `session to ${this.key} is closed`);
    this.channels.set(channel, listener);
    if (!this.connected) this.loop.start();
  }

  detach(channel: string, listener: HostChannelListener): void {
    if (this.channels.get(channel) !== listener) return;
    this.channels.delete(channel);
    if (this.channels.size === 0) this.onIdle(this);
  }

  /** Dials now instead of waiting out the backoff (the tracker says the host is back). */
  retryNow(): void {
    if (this.closed || this.connected) return;
    this.loop.stop();
    this.loop = this.newLoop();
    this.loop.start();
  }

  request(command: string, body: object): Promise<Record<string, unknown>> {
    if (this.connection === undefined) {
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", `not connected to ${this.key}`));
    }
    return this.connection.request(command, body);
  }

  debugInfo(): Record<string, unknown> {
    return {
      address: this.key,
      connected: this.connected,
      channels: this.channelNames,
      dials: this.dials,
      pendingRequests: this.connection?.pendingRequests ?? 0,
      queuedBytes: this.connection?.queuedBytes ?? 0,
    };
  }

  /** Stops redialing and closes the connection; resolves once it is closed and its requests settled. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.loop.stop();
    const connection = this.connection;
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
    return new RetryLoop(() => this.dial(), {
      ...this.options.backoff,
      onError: (error, delayMs) => {
        this.options.logger.debug({ host: this.key, err: error, delayMs }, "host unreachable, will redial");
        for (const listener of [...this.channels.values()]) listener.down(error);
      },
    });
  }

  private async dial(): Promise<void> {
    this.dials += 1;
    const socket = await dial(this.address, this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    if (this.closed) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      {
        onEvent: (frame) => this.route(frame),
        onClose: (closed, error) => this.lost(closed, error),
      },
      this.options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.options.requestTimeoutMs },
    );
    this.connection = connection;
    for (const listener of [...this.channels.values()]) listener.up();
  }

  private route(frame: EventFrame): void {
    const event = parseHostEvent(frame.event, frame.body);
    if (event === undefined) {
      this.options.logger.debug({ host: this.key, event: frame.event }, "ignored unknown or malformed event");
      return;
    }
    this.channels.get(event.body.channel)?.event(event);
  }

  private lost(connection: Connection, error: Error | undefined): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    if (this.closed) {
      this.whenClosed?.();
      return;
    }
    const reason = error ?? new ConnectionError("CONNECTION_CLOSED", `connection to ${this.key} closed`);
    for (const listener of [...this.channels.values()]) listener.down(reason);
    if (this.channels.size > 0) this.loop.start();
  }
}

/** Host sessions by address: channels on the same host share one connection. */
export class HostSessionPool {
  private readonly sessions = new Map<string, HostSession>();
  /** Idle sessions still closing, so `close` can wait for them too. */
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: HostSessionOptions) {}

  get(address: Address): HostSession {
    const key = addressKey(address);
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = new HostSession(address, this.options, (idle) => {
        if (this.sessions.get(idle.key) === idle) this.sessions.delete(idle.key);
        const closed = idle.close();
        this.closing.add(closed);
        void closed.finally(() => this.closing.delete(closed));
      });
      this.sessions.set(key, session);
    }
    return session;
  }

  all(): HostSession[] {
    return [...this.sessions.values()];
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all([...sessions.map((session) => session.close()), ...this.closing]);
  }
}
