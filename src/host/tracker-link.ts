import { proofBytes } from "../auth/canonical.js";
import type { DeviceKey } from "../auth/device-key.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import type { RelayIncoming } from "../protocol/relay-schemas.js";
import {
  type Address,
  type Reach,
  type Revocation,
  type TrackerRequestBodies,
  trackerLinkSpec,
  type View,
} from "../protocol/tracker-schemas.js";
import { type LinkOptions, ReconnectingClient } from "../transport/reconnecting-client.js";
import type { ServerTrust } from "../transport/trust.js";
import type { TypedConnection } from "../transport/typed-connection.js";
import type { Logger } from "../util/logger.js";
import type { TrackerKey } from "./history-store.js";

export type TrackerLinkState = "connecting" | "connected" | "closed";

/** What the tracker is told about a channel when it is (re-)registered. */
export interface LinkChannel {
  name: string;
  view: View;
  moderated: boolean;
  /** Visible members right now, for `MEMBERS`. */
  members: number;
}

export interface TrackerLinkOptions extends LinkOptions {
  tracker: Address;
  /** Which certificate the tracker must present. */
  trust: ServerTrust;
  /** The owner's current ticket and device key, read on every (re)connect. */
  getCredentials(): OwnerCredentials | undefined;
  /** Where members reach the channels (sent with `HOST`). */
  advertised(): Address;
  /** The fingerprint of the host's certificate (sent with `HOST`, for members to check). */
  fingerprint: string;
  /** Every channel to register after a (re)connect. */
  channels(): LinkChannel[];
  /** The tracker's key, from `KEY` and every `HOST` answer. */
  onKey(key: TrackerKey): void;
  /** A channel became listed or unlisted on the tracker. */
  onListed(channel: string, listed: boolean): void;
  /** Revocations the tracker holds (after each sign-in) or announced since. */
  onRevocations(revocations: Revocation[]): void;
  /** A member waits at the tracker's relay: dial back for it. */
  onRelayIncoming(request: RelayIncoming): void;
  /** Channels unhosted before this link started (a previous run) that the tracker was not told of. */
  pendingUnhosts: readonly string[];
  /**
   * The tracker took a channel's `UNHOST`, or refused it for good: nothing more to send for it.
   * `delayed`: it had waited for a connect (asked while the link was down, or by a previous run).
   */
  onUnhostSettled(channel: string, delayed: boolean): void;
  membersReportIntervalMs: number;
  logger: Logger;
}

/** What the liveness link signs in with: the owner's ticket and the key it certifies. */
export interface OwnerCredentials {
  ticket: string;
  key: DeviceKey;
}

type TrackerSpec = typeof trackerLinkSpec;
type Link = TypedConnection<TrackerRequestBodies, TrackerSpec>;

/**
 * The host's liveness link, on the shared `ReconnectingClient`: signed in with the owner's ticket,
 * it registers every hosted channel (`HOST`), reports members (`MEMBERS`, at most once per
 * interval) and settings (`VIEW`). On every (re)connect it first sends the unhosts still pending,
 * then registers everything again; while it is down the channels are unlisted.
 */
export class TrackerLink {
  private readonly options: TrackerLinkOptions;
  private readonly client: ReconnectingClient<TrackerRequestBodies, TrackerSpec>;
  private closed = false;
  private readonly listed = new Set<string>();
  /** Where the tracker lists the channels, from its last `HOST` answer. */
  private listedAt: Address | undefined;
  /** The connection whose setup (sign-in, registrations) is under way. */
  private settingUp: Link | undefined;
  /** How the tracker found members reach it there, from the same answer. */
  private listedReach: Reach | undefined;
  /** Unhosts to send on the next connect: asked while the link was down, or by a previous run. */
  private readonly pendingUnhosts: Set<string>;
  private readonly pendingMembers = new Map<string, number>();
  private readonly reportedMembers = new Map<string, number>();
  private membersTimer: NodeJS.Timeout | undefined;
  private lastMembersReport = 0;
  private connects = 0;

  constructor(options: TrackerLinkOptions) {
    this.options = options;
    this.pendingUnhosts = new Set(options.pendingUnhosts);
    this.client = new ReconnectingClient<TrackerRequestBodies, TrackerSpec>({
      ...options,
      server: "tracker",
      address: options.tracker,
      spec: trackerLinkSpec,
      setup: (link) => this.registerAll(link),
      onEvent: (event) => {
        if (event.event === "REVOKED") this.options.onRevocations(event.body.revocations);
        else if (event.event === "RELAY_INCOMING") this.options.onRelayIncoming(event.body);
      },
      onUp: () => {
        this.connects += 1;
        this.options.logger.info({ channels: this.listed.size }, "tracker link up");
        for (const channel of this.options.channels()) this.reportMembers(channel.name, channel.members);
      },
      onDown: (error, wasUp) => {
        clearTimeout(this.membersTimer);
        this.membersTimer = undefined;
        this.reportedMembers.clear();
        this.unlistAll();
        if (wasUp) this.options.logger.warn({ err: error }, "tracker link lost; reconnecting");
        else this.options.logger.info({ err: error }, "tracker link failed; retrying");
      },
    });
  }

  /** The tracker's certificate fingerprint as verified on the link now up; undefined while it is down. */
  get trackerFingerprint(): string | undefined {
    return this.client.link?.serverFingerprint ?? this.settingUp?.serverFingerprint;
  }

  get state(): TrackerLinkState {
    if (this.closed) return "closed";
    return this.client.connected ? "connected" : "connecting";
  }

  /** Where members reach the channels as the tracker lists them (the host may listen on 0.0.0.0). */
  get listedAddress(): Address | undefined {
    return this.listedAt;
  }

  /** How members reach the channels there, as the tracker measured it. */
  get reach(): Reach | undefined {
    return this.listedReach;
  }

  isListed(channel: string): boolean {
    return this.listed.has(channel);
  }

  start(): void {
    this.client.start();
  }

  /**
   * Registers a channel; resolves with the tracker's key, rejects with the tracker's error. A pending
   * unhost of it is not sent meanwhile (the registration replaces it), unless the registration fails.
   */
  async host(channel: LinkChannel): Promise<TrackerKey> {
    const wasPending = this.pendingUnhosts.delete(channel.name);
    try {
      return await this.register(await this.client.whenReady(), channel);
    } catch (error) {
      if (wasPending && !this.closed) this.pendingUnhosts.add(channel.name);
      throw error;
    }
  }

  /** Lists every channel again (the advertised address changed), when the link is up. */
  relist(): void {
    const link = this.client.link;
    if (link === undefined) return;
    for (const channel of this.options.channels()) {
      this.registerOrLog(link, channel).catch((error: unknown) => {
        this.options.logger.warn({ err: error, channel: channel.name }, "listing again failed");
      });
    }
  }

  /**
   * Unregisters a channel now or, while the link is down (or the tracker cannot answer yet), on the
   * next connect; rejects with the tracker's refusal for good (say `NOT_OWNER`).
   */
  async unhost(channel: string): Promise<void> {
    this.listed.delete(channel);
    this.pendingMembers.delete(channel);
    this.reportedMembers.delete(channel);
    const link = this.client.link;
    if (link === undefined) {
      this.pendingUnhosts.add(channel);
      return;
    }
    try {
      await this.sendUnhost(link, channel);
    } catch (error) {
      if (isTransient(error)) {
        this.pendingUnhosts.add(channel);
        return;
      }
      this.options.onUnhostSettled(channel, false);
      throw error;
    }
    this.options.onUnhostSettled(channel, false);
  }

  /** Unhosts not sent to the tracker yet. */
  get unhostsPending(): string[] {
    return [...this.pendingUnhosts];
  }

  /** Tells the tracker a channel's new settings; while the link is down, the next `HOST` carries them. */
  reportView(channel: string, view: View, moderated: boolean): void {
    const link = this.client.link;
    if (link === undefined || !this.listed.has(channel)) return;
    link.request("VIEW", { channel, view, moderated }).catch((error: unknown) => {
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
      ...this.client.debugInfo(),
      state: this.state,
      connects: this.connects,
      listed: [...this.listed],
      pendingUnhosts: [...this.pendingUnhosts],
      pendingMembers: Object.fromEntries(this.pendingMembers),
    };
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.membersTimer);
    this.membersTimer = undefined;
    return this.client.close();
  }

  /**
   * Signs in as the owner, takes the tracker's key and revocations (and later ones as they come),
   * and lists every channel: the setup of each connect.
   */
  private async registerAll(link: Link): Promise<void> {
    // Channels listed early in the setup may already bring members through the relay.
    this.settingUp = link;
    try {
      const credentials = this.options.getCredentials();
      if (credentials === undefined) {
        throw new ConnectionError("CONNECTION_CLOSED", "the owner is signed out: nothing to sign in with");
      }
      const proof = credentials.key.sign(
        proofBytes({ purpose: "RESUME", fingerprint: link.serverFingerprint, challenge: link.challenge }),
      );
      await link.request("RESUME", { ticket: credentials.ticket, proof });
      this.options.onKey(await link.request("KEY", {}));
      this.options.onRevocations((await link.request("REVOCATIONS", {})).revocations);
      for (const channel of [...this.pendingUnhosts]) await this.sendPendingUnhost(link, channel);
      await Promise.all(this.options.channels().map((channel) => this.registerOrLog(link, channel)));
    } catch (error) {
      this.unlistAll();
      throw error;
    } finally {
      if (this.settingUp === link) this.settingUp = undefined;
    }
  }

  /** Channels listed through a connection that is gone are not listed any more. */
  private unlistAll(): void {
    for (const channel of [...this.listed]) {
      this.listed.delete(channel);
      this.options.onListed(channel, false);
    }
  }

  private async register(link: Link, channel: LinkChannel): Promise<TrackerKey> {
    const address = this.options.advertised();
    const key = await link.request("HOST", {
      channel: channel.name,
      host: address.host,
      port: address.port,
      fingerprint: this.options.fingerprint,
      view: channel.view,
      moderated: channel.moderated,
    });
    this.options.onKey({ publicKey: key.publicKey, issuer: key.issuer });
    this.listedAt = key.address;
    this.listedReach = key.reach;
    this.listed.add(channel.name);
    this.options.onListed(channel.name, true);
    return { publicKey: key.publicKey, issuer: key.issuer };
  }

  /** A channel the tracker refuses (say, someone else took the name) stays served but unlisted. */
  private async registerOrLog(link: Link, channel: LinkChannel): Promise<void> {
    try {
      await this.register(link, channel);
    } catch (error) {
      if (!(error instanceof HychatError)) throw error;
      this.options.logger.warn(
        { err: error, channel: channel.name },
        "the tracker refused to list a channel",
      );
    }
  }

  /**
   * One unhost asked while the link was down: sent before any registration. A lost connection fails
   * the setup (the next connect tries again); a refusal that may pass waits for the next connect; one
   * for good (the name is someone else's) is given up, so it cannot block every later connect.
   */
  private async sendPendingUnhost(link: Link, channel: string): Promise<void> {
    try {
      await this.sendUnhost(link, channel);
    } catch (error) {
      if (error instanceof ConnectionError || !(error instanceof HychatError)) throw error;
      if (isTransient(error)) {
        this.options.logger.warn({ err: error, channel }, "the tracker could not take an UNHOST yet");
        return;
      }
      this.options.logger.warn({ err: error, channel }, "the tracker refused an UNHOST; giving it up");
    }
    if (!this.pendingUnhosts.delete(channel)) return;
    this.options.onUnhostSettled(channel, true);
  }

  private async sendUnhost(link: Link, channel: string): Promise<void> {
    try {
      await link.request("UNHOST", { channel });
    } catch (error) {
      // Already gone from the tracker: that is what was asked.
      if (!(error instanceof HychatError && error.code === "NO_SUCH_CHANNEL")) throw error;
    }
  }

  private scheduleMembers(): void {
    if (this.membersTimer !== undefined || !this.client.connected || this.pendingMembers.size === 0) return;
    const wait = Math.max(0, this.lastMembersReport + this.options.membersReportIntervalMs - Date.now());
    this.membersTimer = setTimeout(() => this.flushMembers(), wait);
  }

  private flushMembers(): void {
    this.membersTimer = undefined;
    const link = this.client.link;
    if (link === undefined) return;
    this.lastMembersReport = Date.now();
    for (const [channel, count] of this.pendingMembers) {
      if (!this.listed.has(channel)) continue;
      this.reportedMembers.set(channel, count);
      link.request("MEMBERS", { channel, count }).catch((error: unknown) => {
        this.options.logger.warn({ err: error, channel }, "MEMBERS to the tracker failed");
      });
    }
    this.pendingMembers.clear();
  }
}

/** A failure an `UNHOST` may get past later: the link went, or the tracker was busy or shutting down. */
function isTransient(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  return error instanceof HychatError && (error.status === "SERVER_ERROR" || error.code === "RATE_LIMITED");
}
