import { join } from "node:path";
import type {
  ChannelInfo,
  DebugInfo,
  HistoryPage,
  HostedChannel,
  Identity,
  JoinedChannel,
  OutboxEntry,
  PeerApi,
  PeerEvent,
  PeerEventListener,
  SendOutcome,
} from "../api/index.js";
import { SignatureVerifierPool } from "../auth/verify-pool.js";
import { HostConnectionPool } from "../client/host-connection.js";
import { TrackerSession } from "../client/tracker-session.js";
import { KNOWN_TRACKERS_FILE, TrackerTrust } from "../client/tracker-trust.js";
import { wireError } from "../protocol/errors.js";
import { DEFAULT_PAGE, type MemberInfo } from "../protocol/host-schemas.js";
import type { ChannelListing, Role, View } from "../protocol/tracker-schemas.js";
import { createLogger } from "../util/logger.js";
import { JoinedChannels } from "./channels.js";
import type { PeerContext, PeerOptions, UserState } from "./context.js";
import { Directory } from "./directory.js";
import { EventHub } from "./event-hub.js";
import { Hosting } from "./hosting.js";
import { MessageLifecycle } from "./message-lifecycle.js";
import { loadOrCreateDeviceId } from "./session-file.js";
import { UserSession } from "./user-session.js";

export type { PeerOptions } from "./context.js";

/**
 * The facade the CLI and the GUI drive: one tracker session, one connection per channel host, the
 * on-disk outbox and this user's own channel host, behind one API and one event stream. It only
 * composes its parts: the directory, the joined channels, the message lifecycle, hosting and the
 * user's session.
 */
export class Peer implements PeerApi {
  private readonly context: PeerContext;
  private readonly hub: EventHub;
  private readonly directory: Directory;
  private readonly lifecycle: MessageLifecycle;
  private readonly channels: JoinedChannels;
  private readonly hosting: Hosting;
  private readonly session: UserSession;
  private closing: Promise<void> | undefined;

  private constructor(options: PeerOptions) {
    const logger = options.logger ?? createLogger({ name: "peer" });
    this.hub = new EventHub(logger);
    const link = {
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.heartbeatIntervalMs === undefined
        ? {}
        : { connection: { heartbeatIntervalMs: options.heartbeatIntervalMs } }),
      backoff: options.backoff ?? {},
    };
    const pool = new HostConnectionPool({
      ...link,
      logger,
      relay: () => {
        const relay = this.context.tracker.relayAt;
        const credentials = this.context.tracker.credentials;
        return relay === undefined || credentials === undefined
          ? undefined
          : { ...relay, ticket: credentials.ticket, key: credentials.key };
      },
    });
    const trackerTrust = new TrackerTrust({
      knownFile: join(options.dataDir, KNOWN_TRACKERS_FILE),
      ...(options.trackerFingerprint === undefined ? {} : { pinned: options.trackerFingerprint }),
      ...(options.trackerCa === undefined ? {} : { ca: options.trackerCa }),
      onFirstUse: (address, fingerprint) =>
        this.hub.emit({
          type: "notice",
          level: "info",
          code: "TRACKER_TRUSTED",
          text: `trusting the tracker at ${address} on first use: ${fingerprint} (check it against the tracker's "tls fingerprint" line)`,
        }),
    });
    const tracker = new TrackerSession(
      {
        address: options.tracker,
        deviceId: loadOrCreateDeviceId(options.dataDir),
        trust: trackerTrust,
        ...link,
        ticketRenewFraction: options.ticketRenewFraction,
        ticketRenewMinDelayMs: options.ticketRenewMinDelayMs,
        logger,
      },
      {
        state: (connected) => this.directory.trackerState(connected),
        channels: (change) => this.directory.changed(change),
        ticketRejected: (error) => this.session.ticketRejected(error),
        ticketRenewed: (credentials) => this.session.ticketRenewed(credentials),
      },
    );
    this.context = {
      options,
      logger,
      tracker,
      trackerTrust,
      pool,
      verifierPool: new SignatureVerifierPool(),
      emit: (event: PeerEvent) => this.hub.emit(event),
      user: () => this.session.current,
      requireUser: () => this.requireUser(),
    };
    this.directory = new Directory(this.context);
    this.lifecycle = new MessageLifecycle(this.context, this.directory);
    this.channels = new JoinedChannels(this.context, this.directory, this.lifecycle);
    this.hosting = new Hosting(this.context, this.directory, this.channels);
    this.session = new UserSession(this.context, {
      directory: this.directory,
      channels: this.channels,
      hosting: this.hosting,
      lifecycle: this.lifecycle,
    });
  }

  /** Starts connecting to the tracker (retrying in the background while it is down). */
  static async open(options: PeerOptions): Promise<Peer> {
    const peer = new Peer(options);
    peer.context.tracker.start();
    return peer;
  }

  get identity(): Identity | null {
    return this.session.identity;
  }

  subscribe(listener: PeerEventListener): () => void {
    return this.hub.subscribe(listener);
  }

  signUp(username: string, password: string): Promise<Identity> {
    this.assertOpen();
    return this.session.signUp(username, password);
  }

  signIn(username: string, password: string): Promise<Identity> {
    this.assertOpen();
    return this.session.signIn(username, password);
  }

  guest(name?: string): Promise<Identity> {
    this.assertOpen();
    return this.session.guest(name);
  }

  /** Signs in with the saved ticket (see `UserSession.resume`); null when none is saved or it expired. */
  resume(username?: string): Promise<Identity | null> {
    this.assertOpen();
    return this.session.resume(username);
  }

  signOut(): Promise<void> {
    return this.session.signOut();
  }

  listChannels(): Promise<ChannelListing[]> {
    return this.directory.refresh();
  }

  async onlineUsers(): Promise<{ username: string; role: Role }[]> {
    return (await this.context.tracker.request("ONLINE", {})).users;
  }

  setInvisible(invisible: boolean): Promise<void> {
    return this.session.setInvisible(invisible);
  }

  host(channel: string, settings?: { view?: View; moderated?: boolean }): Promise<HostedChannel> {
    return this.hosting.host(channel, settings);
  }

  unhost(channel: string): Promise<void> {
    return this.hosting.unhost(channel);
  }

  hostedChannels(): HostedChannel[] {
    return this.hosting.hostedChannels();
  }

  join(channel: string): Promise<JoinedChannel> {
    return this.channels.join(channel);
  }

  leave(channel: string): Promise<void> {
    return this.channels.leave(channel);
  }

  joinedChannels(): JoinedChannel[] {
    return this.channels.list();
  }

  markRead(channel: string): void {
    this.channels.markRead(channel);
  }

  send(channel: string, text: string): Promise<SendOutcome> {
    return this.lifecycle.send(channel, text);
  }

  outbox(channel?: string): OutboxEntry[] {
    return this.lifecycle.outbox(channel);
  }

  async cancelPending(msgId: string): Promise<void> {
    this.lifecycle.cancel(msgId);
  }

  async history(channel: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const link = this.channels.require(channel);
    const before = options.before ?? link.oldestSeen;
    const page = await link.request("HISTORY", {
      channel: link.name,
      ...(before === undefined ? {} : { before }),
      limit: options.limit ?? DEFAULT_PAGE,
    });
    link.noteOlder(page.messages);
    return { ...page, messages: await link.verified(page.messages) };
  }

  members(channel: string): MemberInfo[] {
    const user = this.session.current;
    return user === undefined ? [] : (this.channels.find(user, channel)?.memberList() ?? []);
  }

  async setView(
    channel: string,
    view: View,
    moderated?: boolean,
  ): Promise<{ view: View; moderated: boolean }> {
    const link = this.channels.require(channel);
    return link.request("VIEW", {
      channel: link.name,
      view,
      ...(moderated === undefined ? {} : { moderated }),
    });
  }

  async authorize(channel: string, username: string, grant: boolean): Promise<string[]> {
    const link = this.channels.require(channel);
    return (await link.request("AUTHORIZE", { channel: link.name, username, grant })).authorized;
  }

  async channelInfo(channel: string): Promise<ChannelInfo> {
    const link = this.channels.require(channel);
    return link.request("RET_INFO", { channel: link.name });
  }

  async debugInfo(): Promise<DebugInfo> {
    const { tracker, pool } = this.context;
    const user = this.session.current;
    const client: Record<string, unknown> = {
      identity: this.identity,
      dataDir: user?.dir ?? null,
      tracker: tracker.debugInfo(),
      hostConnections: pool.all().map((connection) => connection.debugInfo()),
      channels: Object.fromEntries([...(user?.links ?? [])].map(([name, link]) => [name, link.debugInfo()])),
      outbox: this.lifecycle.pendingCounts(),
      pendingSends: this.lifecycle.pendingSends,
    };
    const host = user?.channelHost?.debugInfo() ?? { running: false };
    let trackerInfo: DebugInfo["tracker"];
    try {
      trackerInfo = await tracker.request("RET_INFO", {});
    } catch (error) {
      trackerInfo = { error: error instanceof Error ? error.message : String(error) };
    }
    return { client, host, tracker: trackerInfo };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.session.end(false);
      await this.context.tracker.close();
      await this.context.pool.close();
      await this.context.verifierPool.close();
      this.hub.clear();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new Error("peer is closed");
  }

  private requireUser(): UserState {
    this.assertOpen();
    const user = this.session.current;
    if (user === undefined) throw wireError("NOT_SIGNED_IN", "sign in first");
    return user;
  }
}
