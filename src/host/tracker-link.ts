import { Connection } from "../protocol/connection.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import type { Address, View } from "../protocol/tracker-schemas.js";
import { dial } from "../transport/dial.js";
import { type BackoffOptions, RetryLoop } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import type { TrackerKey } from "./history-store.js";

/** How long `host()` waits for the link to come up before it fails (default 10 s). */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

export type TrackerLinkState = "connecting" | "connected" | "closed";

/** What the tracker is told about a channel when it is (re-)registered. */
export interface LinkChannel {
  name: string;
  view: View;
  moderated: boolean;
  /** Visible members right now, for `MEMBERS`. */
  members: number;
}

export interface TrackerLinkOptions {
  tracker: Address;
  /** The owner's current ticket, read on every (re)connect. */
  getTicket(): string;
  /** Where members reach the channels (sent with `HOST`). */
  advertised(): Address;
  /** Every channel to register after a (re)connect. */
  channels(): LinkChannel[];
  /** The tracker's key, from `KEY` and every `HOST` answer. */
  onKey(key: TrackerKey): void;
  /** A channel became listed or unlisted on the tracker. */
  onListed(channel: string, listed: boolean): void;
  membersReportIntervalMs: number;
  backoff?: BackoffOptions;
  readyTimeoutMs?: number;
  logger: Logger;
}

interface Waiter {
  resolve(connection: Connection): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The host's liveness link: one tracker connection, signed in with the owner's ticket, that
 * registers every hosted channel (`HOST`), reports members (`MEMBERS`, at most once per interval)
 * and settings (`VIEW`). When it drops, or the tracker restarts, it reconnects with backoff and
 * registers everything again; while it is down the channels are unlisted.
 */
export class TrackerLink {
  private linkState: TrackerLinkState = "connecting";
  private connection: Connection | undefined;
  /** The connection being signed in and registered, before it becomes `connection`. */
  private attempt: Connection | undefined;
  private readonly loop: RetryLoop;
  private readonly options: TrackerLinkOptions;
  private readonly waiters = new Set<Waiter>();
  private readonly listed = new Set<string>();
  private readonly pendingUnhosts = new Set<string>();
  private readonly pendingMembers = new Map<string, number>();
  private readonly reportedMembers = new Map<string, number>();
  private membersTimer: NodeJS.Timeout | undefined;
  private lastMembersReport = 0;
  private connects = 0;
  private lastError: string | undefined;

  constructor(options: TrackerLinkOptions) {
    this.options = options;
    this.loop = new RetryLoop(() => this.connectOnce(), {
      ...options.backoff,
      onError: (error, delayMs) => {
        this.lastError = error instanceof Error ? error.message : String(error);
        options.logger.info({ err: error, delayMs }, "tracker link failed; retrying");
      },
    });
  }

  get state(): TrackerLinkState {
    return this.linkState;
  }

  /** Read through a getter so checks after an `await` are not narrowed away by the compiler. */
  private get closed(): boolean {
    return this.linkState === "closed";
  }

  isListed(channel: string): boolean {
    return this.listed.has(channel);
  }

  start(): void {
    this.loop.start();
  }

  /** Registers a channel; resolves with the tracker's key, rejects with the tracker's error. */
  async host(channel: LinkChannel): Promise<TrackerKey> {
    this.pendingUnhosts.delete(channel.name);
    const connection = await this.ready();
    return this.register(connection, channel);
  }

  /** Unregisters a channel now, or on the next connect while the link is down. */
  async unhost(channel: string): Promise<void> {
    this.listed.delete(channel);
    this.pendingMembers.delete(channel);
    this.reportedMembers.delete(channel);
    const connection = this.connection;
    if (connection === undefined) {
      this.pendingUnhosts.add(channel);
      return;
    }
    try {
      await this.sendUnhost(connection, channel);
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      this.pendingUnhosts.add(channel);
    }
  }

  /** Tells the tracker a channel's new settings; while the link is down, the next `HOST` carries them. */
  reportView(channel: string, view: View, moderated: boolean): void {
    const connection = this.connection;
    if (connection === undefined || !this.listed.has(channel)) return;
    connection.request("VIEW", { channel, view, moderated }).catch((error: unknown) => {
      this.options.logger.warn({ err: error, channel }, "VIEW to the tracker failed");
    });
  }

  /** Queues a member count; counts go out at most once per `membersReportIntervalMs`. */
  reportMembers(channel: string, count: number): void {
    if (this.reportedMembers.get(channel) === count) {
      this.pendingMembers.delete(channel);
      return;
    }
    this.pendingMembers.set(channel, count);
    this.scheduleMembers();
  }

  debugInfo(): Record<string, unknown> {
    return {
      state: this.linkState,
      tracker: `${this.options.tracker.host}:${this.options.tracker.port}`,
      connects: this.connects,
      listed: [...this.listed],
      pendingUnhosts: [...this.pendingUnhosts],
      pendingMembers: Object.fromEntries(this.pendingMembers),
      lastError: this.lastError ?? null,
    };
  }

  close(): void {
    if (this.linkState === "closed") return;
    this.linkState = "closed";
    this.loop.stop();
    clearTimeout(this.membersTimer);
    this.membersTimer = undefined;
    for (const waiter of [...this.waiters]) {
      this.settleWaiter(waiter, new ConnectionError("CONNECTION_CLOSED", "the host is closing"));
    }
    this.attempt?.destroy();
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
  }

  private async connectOnce(): Promise<void> {
    const socket = await dial(this.options.tracker);
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setKeepAlive(true);
    const connection = new Connection(socket, { onClose: (closed) => this.onClosed(closed) });
    this.attempt = connection;
    try {
      await connection.request("RESUME", { ticket: this.options.getTicket() });
      this.options.onKey(parseKey(await connection.request("KEY", {})));
      for (const channel of [...this.pendingUnhosts]) {
        await this.sendUnhost(connection, channel);
        this.pendingUnhosts.delete(channel);
      }
      const channels = this.options.channels();
      await Promise.all(channels.map((channel) => this.registerOrLog(connection, channel)));
      if (connection.closed) throw new ConnectionError("CONNECTION_CLOSED", "the tracker closed the link");
      if (this.closed) {
        connection.close();
        return;
      }
    } catch (error) {
      connection.destroy();
      this.unlistAll();
      throw error;
    } finally {
      this.attempt = undefined;
    }
    this.connection = connection;
    this.linkState = "connected";
    this.connects += 1;
    this.lastError = undefined;
    this.options.logger.info({ channels: this.listed.size }, "tracker link up");
    for (const channel of this.options.channels()) this.reportMembers(channel.name, channel.members);
    for (const waiter of [...this.waiters]) this.settleWaiter(waiter, connection);
  }

  private onClosed(connection: Connection): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    clearTimeout(this.membersTimer);
    this.membersTimer = undefined;
    this.reportedMembers.clear();
    if (this.linkState === "closed") return;
    this.linkState = "connecting";
    this.options.logger.warn("tracker link lost; reconnecting");
    this.unlistAll();
    this.loop.start();
  }

  /** Channels listed through a connection that is gone are not listed any more. */
  private unlistAll(): void {
    for (const channel of [...this.listed]) {
      this.listed.delete(channel);
      this.options.onListed(channel, false);
    }
  }

  private async register(connection: Connection, channel: LinkChannel): Promise<TrackerKey> {
    const address = this.options.advertised();
    const body = await connection.request("HOST", {
      channel: channel.name,
      host: address.host,
      port: address.port,
      view: channel.view,
      moderated: channel.moderated,
    });
    const key = parseKey(body);
    this.options.onKey(key);
    this.listed.add(channel.name);
    this.options.onListed(channel.name, true);
    return key;
  }

  /** A channel the tracker refuses (say, someone else took the name) stays served but unlisted. */
  private async registerOrLog(connection: Connection, channel: LinkChannel): Promise<void> {
    try {
      await this.register(connection, channel);
    } catch (error) {
      if (!(error instanceof HychatError)) throw error;
      this.options.logger.warn(
        { err: error, channel: channel.name },
        "the tracker refused to list a channel",
      );
    }
  }

  private async sendUnhost(connection: Connection, channel: string): Promise<void> {
    try {
      await connection.request("UNHOST", { channel });
    } catch (error) {
      // Already gone from the tracker: that is what was asked.
      if (!(error instanceof HychatError && error.code === "NO_SUCH_CHANNEL")) throw error;
    }
  }

  private ready(): Promise<Connection> {
    if (this.connection !== undefined) return Promise.resolve(this.connection);
    if (this.linkState === "closed") {
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", "the tracker link is closed"));
    }
    const timeoutMs = this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settleWaiter(
            waiter,
            new ConnectionError(
              "TIMEOUT",
              `the tracker was not reachable within ${timeoutMs} ms${this.lastError === undefined ? "" : ` (${this.lastError})`}`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private settleWaiter(waiter: Waiter, outcome: Connection | Error): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  private scheduleMembers(): void {
    if (this.membersTimer !== undefined || this.connection === undefined || this.pendingMembers.size === 0)
      return;
    const wait = Math.max(0, this.lastMembersReport + this.options.membersReportIntervalMs - Date.now());
    this.membersTimer = setTimeout(() => this.flushMembers(), wait);
  }

  private flushMembers(): void {
    this.membersTimer = undefined;
    const connection = this.connection;
    if (connection === undefined) return;
    this.lastMembersReport = Date.now();
    for (const [channel, count] of this.pendingMembers) {
      if (!this.listed.has(channel)) continue;
      this.reportedMembers.set(channel, count);
      connection.request("MEMBERS", { channel, count }).catch((error: unknown) => {
        this.options.logger.warn({ err: error, channel }, "MEMBERS to the tracker failed");
      });
    }
    this.pendingMembers.clear();
  }
}

function parseKey(body: Record<string, unknown>): TrackerKey {
  const { publicKey, issuer } = body;
  if (typeof publicKey !== "string" || typeof issuer !== "string") {
    throw new Error("the tracker answered without its public key and issuer");
  }
  return { publicKey, issuer };
}
