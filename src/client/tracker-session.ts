import { type ProofPurpose, proofBytes } from "../auth/canonical.js";
import { DeviceKey } from "../auth/device-key.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import { GUEST_PREFIX, isGuestName, isIssuableName, nameKey } from "../protocol/names.js";
import {
  type Address,
  type Role,
  type TrackerCommand,
  type TrackerEventBodies,
  type TrackerRequestBodies,
  trackerLinkSpec,
} from "../protocol/tracker-schemas.js";
import { type LinkOptions, ReconnectingClient } from "../transport/reconnecting-client.js";
import type { ServerTrust } from "../transport/trust.js";
import type { ReplyOf, TypedConnection } from "../transport/typed-connection.js";
import type { Logger } from "../util/logger.js";

export interface TrackerSessionOptions extends LinkOptions {
  address: Address;
  /** This device's id, sent with `SIGNIN`: a sign-in again on it revokes its older tickets. */
  deviceId: string;
  /** Which certificate the tracker must present. */
  trust: ServerTrust;
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
  /**
   * The tracker no longer accepts the ticket held (expired, or signed by another key), or another
   * guest holds its guest name now.
   */
  ticketRejected(error: HychatError): void;
  /** A fresh ticket replaced the one held (after `RESUME` on a reconnect, or `RENEW`): worth saving. */
  ticketRenewed(credentials: TrackerCredentials): void;
}

/** The key the tracker signs tickets with, and its issuer: what messages' certificates are checked against. */
export interface TrackerSigningKey {
  publicKey: string;
  issuer: string;
}

/** Who this session is signed in as, the ticket that proves it, and the device key the ticket certifies. */
export interface TrackerCredentials {
  username: string;
  role: Role;
  ticket: string;
  expiresAt: string;
  invisible: boolean;
  key: DeviceKey;
  /** Null until the tracker was asked (`KEY`). */
  trackerKey: TrackerSigningKey | null;
}

export const DEFAULT_TICKET_RENEW_FRACTION = 0.5;
export const DEFAULT_TICKET_RENEW_MIN_DELAY_MS = 1_000;
/**
 * Longest answer accepted from the tracker: `ONLINE` names every user online, so the 1 MiB frame
 * limit of other links could stop it (`LIST` answers in pages far under 1 MiB).
 */
export const MAX_TRACKER_ANSWER_BYTES = 64 * 1024 * 1024;
/** setTimeout fires at once for longer delays; a ticket that lives longer is renewed a bit early. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

type TrackerSpec = typeof trackerLinkSpec;
type TrackerLink = TypedConnection<TrackerRequestBodies, TrackerSpec>;

/**
 * The peer's one connection to the tracker, on the shared `ReconnectingClient`: on every
 * (re)connect it signs back in with `RESUME` and the ticket it holds, so a tracker restart goes
 * unnoticed above it; it renews the ticket before it expires.
 */
export class TrackerSession {
  private readonly options: TrackerSessionOptions;
  private readonly listener: TrackerSessionListener;
  private readonly client: ReconnectingClient<TrackerRequestBodies, TrackerSpec>;
  /** The tracker's fingerprint on the last link up, for the relay while the link is down. */
  private lastFingerprint: string | undefined;
  private closed = false;
  private held: TrackerCredentials | undefined;
  /** Counts identity changes, so a RENEW or RESUME answer that arrives after one is dropped. */
  private identityGeneration = 0;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(options: TrackerSessionOptions, listener: TrackerSessionListener) {
    this.options = options;
    this.listener = listener;
    this.client = new ReconnectingClient<TrackerRequestBodies, TrackerSpec>({
      ...options,
      connection: { maxFrameBytes: MAX_TRACKER_ANSWER_BYTES, ...options.connection },
      server: "tracker",
      spec: trackerLinkSpec,
      setup: (link) => this.resumeHeld(link),
      onUp: () => {
        this.scheduleRenewal(this.renewDelay());
        this.listener.state(true);
      },
      onDown: (_error, wasUp) => {
        // Renewal waits for the reconnect, whose RESUME brings a fresh ticket.
        this.clearRenewal();
        if (wasUp) this.listener.state(false);
      },
      onEvent: (event) => {
        if (event.event === "CHANNELS") this.listener.channels(event.body);
      },
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  get credentials(): TrackerCredentials | undefined {
    return this.held;
  }

  /**
   * The tracker's relay as members dial it: the tracker's address, and the key the relay must
   * present (the one verified on this session's link, or the last one). Undefined before any link.
   */
  get relayAt(): { address: Address; fingerprint: string } | undefined {
    const fingerprint = this.client.link?.serverFingerprint ?? this.lastFingerprint;
    this.lastFingerprint = fingerprint;
    return fingerprint === undefined ? undefined : { address: this.options.address, fingerprint };
  }

  /** How long the tracker has been out of reach (0 while connected, or before the first dial). */
  get unreachableForMs(): number {
    return this.client.unreachableForMs;
  }

  start(): void {
    this.client.start();
  }

  /** Resolves once the tracker is reachable (and signed back in); rejects with TIMEOUT after `timeoutMs`. */
  async whenReady(timeoutMs?: number): Promise<void> {
    await this.client.whenReady(timeoutMs);
  }

  request<C extends TrackerCommand>(
    command: C,
    body: TrackerRequestBodies[C],
  ): Promise<ReplyOf<TrackerSpec, C>> {
    return this.client.request(command, body);
  }

  async signUp(username: string, password: string): Promise<TrackerCredentials> {
    await this.request("SIGNUP", { username, password });
    return this.signIn(username, password);
  }

  /** Signs in with a password and a new device key, which the ticket then certifies. */
  async signIn(username: string, password: string): Promise<TrackerCredentials> {
    const key = DeviceKey.generate();
    const link = await this.client.whenReady();
    const reply = await link.request("SIGNIN", {
      username,
      password,
      device: this.options.deviceId,
      publicKey: key.publicKey,
      proof: proveTo(link, key, "SIGNIN"),
    });
    this.expectName("SIGNIN", reply.username, nameKey(username));
    return this.hold({ ...reply, role: "user", key, trackerKey: await this.trackerKey(link) });
  }

  async guest(name?: string): Promise<TrackerCredentials> {
    const key = DeviceKey.generate();
    const link = await this.client.whenReady();
    const reply = await link.request("GUEST", {
      ...(name === undefined ? {} : { username: name }),
      publicKey: key.publicKey,
      proof: proveTo(link, key, "GUEST"),
    });
    const asked =
      name === undefined ? undefined : nameKey(isGuestName(name) ? name : `${GUEST_PREFIX}${name}`);
    this.expectName("GUEST", reply.username, asked);
    return this.hold({
      ...reply,
      role: "guest",
      invisible: false,
      key,
      trackerKey: await this.trackerKey(link),
    });
  }

  /**
   * Signs in with a saved ticket and its key; `invisible` is the setting last seen, which RESUME
   * does not report. The fresh ticket in the answer is held from then on.
   */
  async resume(saved: TrackerCredentials): Promise<TrackerCredentials> {
    const link = await this.client.whenReady();
    const reply = await link.request("RESUME", {
      ticket: saved.ticket,
      proof: proveTo(link, saved.key, "RESUME"),
    });
    this.expectName("RESUME", reply.username, nameKey(saved.username));
    return this.hold({
      username: reply.username,
      role: reply.role,
      ticket: reply.ticket,
      expiresAt: reply.expiresAt,
      invisible: saved.invisible,
      key: saved.key,
      trackerKey: await this.trackerKey(link),
    });
  }

  /**
   * Revokes this device's tickets at the tracker (`SIGNOUT`) when it is reachable within
   * `timeoutMs`; false when it was not (the ticket then lives until it expires).
   */
  async revoke(timeoutMs: number): Promise<boolean> {
    if (this.held === undefined) return false;
    try {
      await this.client.request("SIGNOUT", {}, { waitMs: timeoutMs });
      return true;
    } catch (error) {
      this.options.logger.debug({ err: error }, "SIGNOUT failed");
      return false;
    }
  }

  /**
   * Takes credentials saved earlier as the identity held without asking the tracker, which is out of
   * reach: the next connect signs in with `RESUME` and that ticket (a refusal is `ticketRejected`).
   * A link that came up meanwhile, not signed in, is replaced by one that is.
   */
  adopt(credentials: TrackerCredentials): void {
    this.hold(credentials);
    if (this.client.connected) this.client.reconnect();
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
    this.client.reconnect();
  }

  debugInfo(): Record<string, unknown> {
    return {
      ...this.client.debugInfo(),
      signedInAs: this.held?.username ?? null,
      ticketExpiresAt: this.held?.expiresAt ?? null,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
    await this.client.close();
  }

  /**
   * Signs in on a new link with `RESUME` and the ticket held, if any. A refused ticket, or a guest
   * name another guest holds now, is dropped and reported (the link stays, anonymous); any other
   * failure drops the link, and the redial retries.
   */
  private async resumeHeld(link: TrackerLink): Promise<void> {
    const held = this.held;
    if (held === undefined) return;
    const generation = this.identityGeneration;
    try {
      const reply = await link.request("RESUME", {
        ticket: held.ticket,
        proof: proveTo(link, held.key, "RESUME"),
      });
      if (nameKey(reply.username) !== nameKey(held.username)) {
        throw new ConnectionError("BAD_REPLY", `the tracker resumed ${held.username} as ${reply.username}`);
      }
      const trackerKey = await this.trackerKey(link);
      if (generation !== this.identityGeneration) return;
      if (this.held !== undefined) this.held = { ...this.held, trackerKey };
      this.renewed(reply);
    } catch (error) {
      if (!(error instanceof HychatError && (error.code === "BAD_TICKET" || error.code === "USERNAME_TAKEN")))
        throw error;
      if (generation !== this.identityGeneration) return;
      this.drop();
      this.listener.ticketRejected(error);
    }
  }

  /**
   * The name a sign-in answer gives becomes a directory of the data dir, so only the one asked for
   * is taken (`asked`, lowercased; undefined: any guest name), and only one a tracker gives out
   * (`isIssuableName`: `..` and the like are not). Otherwise the link, signed in as someone this
   * peer did not ask to be, is replaced (a held identity resumes on the new one) and `BAD_REPLY`
   * thrown.
   */
  private expectName(command: string, answered: string, asked: string | undefined): void {
    const fits = asked === undefined ? isGuestName(answered) : nameKey(answered) === asked;
    if (fits && isIssuableName(answered)) return;
    this.client.reconnect();
    throw new ConnectionError(
      "BAD_REPLY",
      `the tracker answered ${command} for ${JSON.stringify(answered)}${asked === undefined ? "" : `, not ${asked}`}: refused`,
    );
  }

  private async trackerKey(link: TrackerLink): Promise<TrackerSigningKey> {
    const reply = await link.request("KEY", {});
    return { publicKey: reply.publicKey, issuer: reply.issuer };
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
    this.clearRenewal();
  }

  /** Swaps the held ticket for a fresh one of the same identity, tells the listener, plans the next renewal. */
  private renewed(fresh: { ticket: string; expiresAt: string }): void {
    if (this.held === undefined) return;
    this.held = { ...this.held, ticket: fresh.ticket, expiresAt: fresh.expiresAt };
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

  private clearRenewal(): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  private scheduleRenewal(delayMs: number): void {
    this.clearRenewal();
    if (this.closed || this.held === undefined || !this.client.connected) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      void this.renew();
    }, delayMs);
  }

  /**
   * Asks for a fresh ticket on the open link. While disconnected nothing is sent: the `RESUME` of
   * the next reconnect brings one. A failure other than a refused identity tries again later.
   */
  private async renew(): Promise<void> {
    const link = this.client.link;
    if (link === undefined || this.held === undefined) return;
    const generation = this.identityGeneration;
    try {
      const reply = await link.request("RENEW", {});
      if (generation !== this.identityGeneration || this.client.link !== link) return;
      this.renewed(reply);
    } catch (error) {
      if (generation !== this.identityGeneration || this.closed) return;
      if (error instanceof HychatError && error.code === "BAD_TICKET") {
        // The tracker no longer accepts this identity (the account is gone): sign out here too.
        this.forget();
        this.listener.ticketRejected(error);
        return;
      }
      this.options.logger.debug({ err: error }, "ticket renewal failed; will try again");
      if (this.client.link === link) this.scheduleRenewal(this.renewDelay());
    }
  }
}

/** The proof of possession for `purpose` on this tracker connection (docs/protocol.md, "Proof of possession"). */
function proveTo(link: TrackerLink, key: DeviceKey, purpose: ProofPurpose): string {
  return key.sign(proofBytes({ purpose, fingerprint: link.serverFingerprint, challenge: link.challenge }));
}
