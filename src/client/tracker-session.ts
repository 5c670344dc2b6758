import { z } from "zod";
import { Connection } from "../protocol/connection.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import type { EventFrame } from "../protocol/frames.js";
import type {
  Address,
  Role,
  TrackerCommand,
  TrackerEventBodies,
  TrackerOkBodies,
  TrackerRequestBodies,
} from "../protocol/tracker-schemas.js";
import { addressKey, DEFAULT_CONNECT_TIMEOUT_MS, dial } from "../transport/dial.js";
import { type BackoffOptions, RetryLoop } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";

export interface TrackerSessionOptions {
  address: Address;
  /** How long one TCP connect may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a request waits for its response, and for the tracker to be reachable (default 10 s). */
  requestTimeoutMs?: number;
  /** Delays between redials while the tracker is unreachable. */
  backoff?: BackoffOptions;
  /**
   * The held ticket is renewed (`RENEW`) once this fraction of its remaining lifetime has passed
   * (default 0.5). A tracker that is down then renews it on the next `RESUME` instead.
   */
  ticketRenewFraction?: number;
  /** Earliest a renewal runs after the ticket was taken or the last renewal failed (default 1 s). */
  ticketRenewMinDelayMs?: number;
  logger: Logger;
}

export interface TrackerSessionListener {
  /** `true` once connected (and signed back in when a ticket is held), `false` when the link drops. */
  state(connected: boolean): void;
  channels(change: TrackerEventBodies["CHANNELS"]): void;
  /** The tracker no longer accepts the ticket held (expired, or signed by another key). */
  ticketRejected(error: HychatError): void;
  /** A fresh ticket replaced the one held (after `RESUME` on a reconnect, or `RENEW`): worth saving. */
  ticketRenewed(credentials: TrackerCredentials): void;
}

/** Who this session is signed in as, and the ticket that proves it to hosts. */
export interface TrackerCredentials {
  username: string;
  role: Role;
  ticket: string;
  expiresAt: string;
  invisible: boolean;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_TICKET_RENEW_FRACTION = 0.5;
export const DEFAULT_TICKET_RENEW_MIN_DELAY_MS = 1_000;
/** setTimeout fires at once for longer delays; a ticket that lives longer is renewed a bit early. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const channelsEvent = z.object({
  channel: z.string(),
  online: z.boolean(),
  address: z.object({ host: z.string(), port: z.number().int() }).nullable(),
});

/**
 * The peer's one connection to the tracker. It redials with backoff whenever the link drops and
 * signs back in with `RESUME` and the ticket it holds, so a tracker restart goes unnoticed above it.
 */
export class TrackerSession {
  private readonly options: TrackerSessionOptions;
  private readonly listener: TrackerSessionListener;
  private readonly loop: RetryLoop;
  private readonly waiters = new Set<{ resolve(): void; reject(error: Error): void }>();
  private connection: Connection | undefined;
  private ready = false;
  private closed = false;
  private held: TrackerCredentials | undefined;
  /** Counts identity changes, so a RENEW answer that arrives after one is dropped. */
  private identityGeneration = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private afterClose: (() => void) | undefined;
  /** When the tracker was last lost or first dialled without answer; undefined while connected. */
  private downSince: number | undefined;

  constructor(options: TrackerSessionOptions, listener: TrackerSessionListener) {
    this.options = options;
    this.listener = listener;
    this.loop = new RetryLoop(() => this.dial(), {
      ...options.backoff,
      onError: (error, delayMs) =>
        options.logger.debug(
          { tracker: addressKey(options.address), err: error, delayMs },
          "tracker unreachable",
        ),
    });
  }

  get connected(): boolean {
    return this.ready;
  }

  get credentials(): TrackerCredentials | undefined {
    return this.held;
  }

  /** How long the tracker has been out of reach (0 while connected, or before the first dial). */
  get unreachableForMs(): number {
    return this.ready || this.downSince === undefined ? 0 : Date.now() - this.downSince;
  }

  start(): void {
    this.downSince ??= Date.now();
    this.loop.start();
  }

  /** Resolves once the tracker is reachable (and signed back in); rejects with TIMEOUT after `timeoutMs`. */
  whenReady(timeoutMs: number = this.requestTimeoutMs): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.closed)
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", "tracker session closed"));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.reject(
          new ConnectionError(
            "TIMEOUT",
            `tracker ${addressKey(this.options.address)} unreachable for ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async request<C extends TrackerCommand>(
    command: C,
    body: TrackerRequestBodies[C],
  ): Promise<TrackerOkBodies[C]> {
    await this.whenReady();
    const connection = this.connection;
    if (connection === undefined) throw new ConnectionError("CONNECTION_CLOSED", "tracker connection closed");
    return (await connection.request(command, body)) as unknown as TrackerOkBodies[C];
  }

  async signUp(username: string, password: string): Promise<TrackerCredentials> {
    await this.request("SIGNUP", { username, password });
    return this.signIn(username, password);
  }

  async signIn(username: string, password: string): Promise<TrackerCredentials> {
    const reply = await this.request("SIGNIN", { username, password });
    return this.hold({ ...reply, role: "user" });
  }

  async guest(name?: string): Promise<TrackerCredentials> {
    const reply = await this.request("GUEST", name === undefined ? {} : { username: name });
    return this.hold({ ...reply, role: "guest", invisible: false });
  }

  /**
   * Signs in with a saved ticket; `invisible` is the setting last seen, which RESUME does not report.
   * The fresh ticket in the answer is held from then on (a tracker without it leaves the old one).
   */
  async resume(ticket: string, invisible: boolean): Promise<TrackerCredentials> {
    const reply = await this.request("RESUME", { ticket });
    const fresh = freshTicket(reply) ?? { ticket, expiresAt: reply.expiresAt };
    return this.hold({ username: reply.username, role: reply.role, ...fresh, invisible });
  }

  /**
   * Takes credentials saved earlier as the identity held without asking the tracker, which is out of
   * reach: the next connect signs in with `RESUME` and that ticket (a refusal is `ticketRejected`).
   */
  adopt(credentials: TrackerCredentials): void {
    this.hold(credentials);
    const connection = this.connection;
    if (connection === undefined || !this.ready || this.closed) return;
    // The tracker answered meanwhile, on a connection not signed in: sign in on it, and hold
    // requests back until then. A failure drops the connection, and the redial signs in.
    this.ready = false;
    this.resumeHeld(connection).then(
      () => this.becameReady(connection),
      (error: unknown) => this.options.logger.debug({ err: error }, "RESUME with the adopted ticket failed"),
    );
  }

  async setInvisible(invisible: boolean): Promise<boolean> {
    const reply = await this.request("INVISIBLE", { invisible });
    if (this.held !== undefined) this.held = { ...this.held, invisible: reply.invisible };
    return reply.invisible;
  }

  /**
   * Drops the identity: the connection is replaced by a fresh, anonymous one. That is no outage,
   * so the listener is not told the tracker went away (requests wait for the new connection).
   */
  forget(): void {
    this.drop();
    const connection = this.connection;
    if (connection === undefined || this.closed) return;
    // Detached first, so no request goes out on the signed-in connection while it closes.
    this.connection = undefined;
    this.ready = false;
    connection.close();
    this.loop.start();
  }

  debugInfo(): Record<string, unknown> {
    return {
      address: addressKey(this.options.address),
      connected: this.ready,
      signedInAs: this.held?.username ?? null,
      ticketExpiresAt: this.held?.expiresAt ?? null,
      pendingRequests: this.connection?.pendingRequests ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.loop.stop();
    this.drop();
    for (const waiter of [...this.waiters]) {
      waiter.reject(new ConnectionError("CONNECTION_CLOSED", "tracker session closed"));
    }
    const connection = this.connection;
    if (connection === undefined || connection.closed) return;
    await new Promise<void>((resolve) => {
      this.afterClose = resolve;
      connection.close();
    });
  }

  private get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  private async dial(): Promise<void> {
    const socket = await dial(
      this.options.address,
      this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    if (this.closed) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      { onEvent: (frame) => this.route(frame), onClose: (closed) => this.lost(closed) },
      { requestTimeoutMs: this.requestTimeoutMs },
    );
    this.connection = connection;
    await this.resumeHeld(connection);
    if (!this.becameReady(connection))
      throw new ConnectionError("CONNECTION_CLOSED", "tracker closed the connection");
  }

  /**
   * Signs in on `connection` with `RESUME` and the ticket held, if any. A refused ticket is dropped
   * and reported (the connection stays, anonymous); any other failure destroys the connection.
   */
  private async resumeHeld(connection: Connection): Promise<void> {
    const held = this.held;
    if (held === undefined) return;
    const generation = this.identityGeneration;
    try {
      const fresh = freshTicket(await connection.request("RESUME", { ticket: held.ticket }));
      if (fresh !== undefined && generation === this.identityGeneration) this.renewed(fresh);
    } catch (error) {
      if (error instanceof HychatError && error.code === "BAD_TICKET") {
        this.drop();
        this.listener.ticketRejected(error);
      } else {
        connection.destroy();
        throw error;
      }
    }
  }

  /** Marks `connection` ready and tells the waiters and the listener; false when it is gone already. */
  private becameReady(connection: Connection): boolean {
    if (connection.closed || this.connection !== connection || this.closed) return false;
    this.ready = true;
    this.downSince = undefined;
    this.scheduleRenewal(this.renewDelay());
    for (const waiter of [...this.waiters]) waiter.resolve();
    this.listener.state(true);
    return true;
  }

  /** Takes new credentials as the identity held, and plans their renewal. */
  private hold(credentials: TrackerCredentials): TrackerCredentials {
    this.identityGeneration += 1;
    this.held = credentials;
    this.scheduleRenewal(this.renewDelay());
    return credentials;
  }

  private drop(): void {
    this.identityGeneration += 1;
    this.held = undefined;
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Swaps the held ticket for a fresh one of the same identity, tells the listener, plans the next renewal. */
  private renewed(fresh: { ticket: string; expiresAt: string }): void {
    if (this.held === undefined) return;
    this.held = { ...this.held, ...fresh };
    this.scheduleRenewal(this.renewDelay());
    this.listener.ticketRenewed(this.held);
  }

  /** The configured fraction of the held ticket's remaining lifetime, but not less than the minimum delay. */
  private renewDelay(): number {
    const expiresAt = Date.parse(this.held?.expiresAt ?? "");
    const remaining = Number.isNaN(expiresAt) ? 0 : expiresAt - Date.now();
    const fraction = this.options.ticketRenewFraction ?? DEFAULT_TICKET_RENEW_FRACTION;
    const minimum = this.options.ticketRenewMinDelayMs ?? DEFAULT_TICKET_RENEW_MIN_DELAY_MS;
    return Math.min(MAX_TIMER_DELAY_MS, Math.max(minimum, remaining * fraction));
  }

  private scheduleRenewal(delayMs: number): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    if (this.closed || this.held === undefined) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      void this.renew();
    }, delayMs);
  }

  /**
   * Asks for a fresh ticket on the open connection. While disconnected nothing is sent: the
   * `RESUME` of the next reconnect brings one. A failure other than a refused identity tries again later.
   */
  private async renew(): Promise<void> {
    const connection = this.connection;
    if (!this.ready || connection === undefined || this.held === undefined) return;
    const generation = this.identityGeneration;
    try {
      const reply = await connection.request("RENEW", {});
      const fresh = freshTicket(reply);
      if (generation !== this.identityGeneration || this.connection !== connection) return;
      if (fresh === undefined) throw new Error("RENEW answered without a ticket");
      this.renewed(fresh);
    } catch (error) {
      if (generation !== this.identityGeneration || this.closed) return;
      if (error instanceof HychatError && error.code === "BAD_TICKET") {
        // The tracker no longer accepts this identity (the account is gone): sign out here too.
        this.forget();
        this.listener.ticketRejected(error);
        return;
      }
      if (error instanceof HychatError && error.code === "UNKNOWN_COMMAND") {
        this.options.logger.info("the tracker does not know RENEW; the ticket is renewed on reconnects only");
        return;
      }
      this.options.logger.debug({ err: error }, "ticket renewal failed; will try again");
      if (this.connection === connection) this.scheduleRenewal(this.renewDelay());
    }
  }

  private route(frame: EventFrame): void {
    if (frame.event !== "CHANNELS") return;
    const parsed = channelsEvent.safeParse(frame.body);
    if (parsed.success) this.listener.channels(parsed.data);
    else this.options.logger.debug({ body: frame.body }, "ignored malformed CHANNELS event");
  }

  private lost(connection: Connection): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    const wasReady = this.ready;
    this.ready = false;
    // Renewal waits for the reconnect, whose RESUME brings a fresh ticket.
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    if (this.closed) {
      this.afterClose?.();
      return;
    }
    this.downSince ??= Date.now();
    if (wasReady) this.listener.state(false);
    this.loop.start();
  }
}

/** The fresh ticket in a RESUME or RENEW answer; undefined from a tracker that sends none. */
function freshTicket(reply: Record<string, unknown>): { ticket: string; expiresAt: string } | undefined {
  const { ticket, expiresAt } = reply;
  if (typeof ticket !== "string" || ticket.length === 0 || typeof expiresAt !== "string") return undefined;
  return { ticket, expiresAt };
}
