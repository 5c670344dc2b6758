import { existsSync } from "node:fs";
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
import { ChannelLink, type ChannelLinkContext, type LinkIdentity } from "../client/channel-link.js";
import { ClientStore } from "../client/client-store.js";
import { parseAuthorizeReply, parseHistoryReply, parseViewReply } from "../client/host-replies.js";
import { HostSessionPool } from "../client/host-session.js";
import type { FlushListener } from "../client/outbox-flusher.js";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  type TrackerCredentials,
  TrackerSession,
} from "../client/tracker-session.js";
import { ChannelHost } from "../host/channel-host.js";
import { HOST_DB_FILE } from "../host/history-store.js";
import type { HostLimits } from "../host/limits.js";
import { checkText } from "../host/sending.js";
import type { RemovalCode } from "../protocol/codes.js";
import { ConnectionError, errorFromWire, HychatError, wireError } from "../protocol/errors.js";
import { DEFAULT_PAGE, type MemberInfo } from "../protocol/host-schemas.js";
import { CHANNEL_PATTERN, nameKey } from "../protocol/names.js";
import type { Address, ChannelListing, Role, View } from "../protocol/tracker-schemas.js";
import type { BackoffOptions } from "../util/backoff.js";
import { createLogger, type Logger } from "../util/logger.js";
import { EventHub } from "./event-hub.js";
import { acquireInstanceLock, type InstanceLock } from "./instance-lock.js";
import {
  CLIENT_DB_FILE,
  deleteSession,
  ensureUserDir,
  loadLastUser,
  loadSession,
  offlineCredentials,
  saveLastUser,
  saveSession,
  userDir,
} from "./session-file.js";

export interface PeerOptions {
  tracker: Address;
  /** Per-user state lives in `<dataDir>/<username lowercased>/`: client.db, host.db, session.json. */
  dataDir: string;
  /**
   * Where this peer's hosted channels listen (default 127.0.0.1, port 0: the port of the previous
   * run when it is free, else one the OS picks).
   */
  hostListen?: Address;
  /** Delays between reconnect attempts to the tracker and to hosts. */
  backoff?: BackoffOptions;
  /** How long a request waits for its response, and for the tracker to be reachable (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * How long `resume` waits for an unreachable tracker before it starts offline with the saved,
   * unexpired ticket (default: `requestTimeoutMs`). Time the tracker has already been out of reach counts.
   */
  offlineAfterMs?: number;
  /** Fraction of the ticket's remaining lifetime after which it is renewed (default 0.5). */
  ticketRenewFraction?: number;
  /** Earliest a ticket renewal runs after the last one (default 1 s). */
  ticketRenewMinDelayMs?: number;
  logger?: Logger;
  hostLimits?: Partial<HostLimits>;
}

/** Everything that belongs to the signed-in user, opened at sign-in and closed at sign-out. */
interface UserState {
  username: string;
  role: Role;
  dir: string;
  /** Keeps a second peer off this user directory while this one is signed in. */
  lock: InstanceLock;
  store: ClientStore;
  links: Map<string, ChannelLink>;
  /** Links opened by a `join` that has not settled: a refusal is that call's error, not a `left` event. */
  joining: Set<ChannelLink>;
  linkContext: ChannelLinkContext;
  channelHost?: ChannelHost;
  hostStarting?: Promise<ChannelHost>;
}

interface DeliveryWaiter {
  channel: string;
  resolve(outcome: SendOutcome): void;
  reject(error: Error): void;
}

const DEFAULT_HOST_LISTEN: Address = { host: "127.0.0.1", port: 0 };

/**
 * The facade the CLI and the GUI drive: one tracker session, one connection per channel host, the
 * on-disk outbox and this user's own channel host, behind one API and one event stream.
 */
export class Peer implements PeerApi {
  private readonly options: PeerOptions;
  private readonly logger: Logger;
  private readonly hub: EventHub;
  private readonly tracker: TrackerSession;
  private readonly pool: HostSessionPool;
  private readonly directory = new Map<string, ChannelListing>();
  private readonly waiters = new Map<string, DeliveryWaiter>();
  private readonly flushListener: FlushListener;
  private user: UserState | undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: PeerOptions) {
    this.options = options;
    this.logger = options.logger ?? createLogger({ name: "peer" });
    this.hub = new EventHub(this.logger);
    const timeouts =
      options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs };
    this.pool = new HostSessionPool({ ...timeouts, backoff: options.backoff ?? {}, logger: this.logger });
    this.tracker = new TrackerSession(
      {
        address: options.tracker,
        ...timeouts,
        backoff: options.backoff ?? {},
        ticketRenewFraction: options.ticketRenewFraction,
        ticketRenewMinDelayMs: options.ticketRenewMinDelayMs,
        logger: this.logger,
      },
      {
        state: (connected) => this.trackerState(connected),
        channels: (change) => this.channelChanged(change.channel, change.online, change.address),
        ticketRejected: (error) => this.ticketRejected(error),
        ticketRenewed: (credentials) => this.ticketRenewed(credentials),
      },
    );
    this.flushListener = {
      delivered: (entry, seq) => {
        this.emit({ type: "delivered", channel: entry.channel, msgId: entry.msgId, seq });
        this.settleWaiter(entry.msgId, { msgId: entry.msgId, status: "delivered", seq });
      },
      dropped: (entries, error) => this.dropEntries(entries, error, "refused by its host and dropped"),
      stalled: (channel) => this.settleQueued((waiter) => waiter.channel === channel),
    };
  }

  /** Starts connecting to the tracker (retrying in the background while it is down). */
  static async open(options: PeerOptions): Promise<Peer> {
    const peer = new Peer(options);
    peer.tracker.start();
    return peer;
  }

  get identity(): Identity | null {
    const credentials = this.tracker.credentials;
    if (this.user === undefined || credentials === undefined) return null;
    return { username: credentials.username, role: credentials.role, invisible: credentials.invisible };
  }

  subscribe(listener: PeerEventListener): () => void {
    return this.hub.subscribe(listener);
  }

  async signUp(username: string, password: string): Promise<Identity> {
    this.assertOpen();
    return this.begin(await this.tracker.signUp(username, password));
  }

  async signIn(username: string, password: string): Promise<Identity> {
    this.assertOpen();
    return this.begin(await this.tracker.signIn(username, password));
  }

  async guest(name?: string): Promise<Identity> {
    this.assertOpen();
    return this.begin(await this.tracker.guest(name));
  }

  /**
   * Signs in with the ticket saved for `username` (default: the last user); null when none is saved
   * or it expired. While the tracker is out of reach an unexpired ticket starts the user offline:
   * hosts check tickets themselves, and the tracker session resumes with it once the tracker is back.
   */
  async resume(username?: string): Promise<Identity | null> {
    this.assertOpen();
    const name = username ?? loadLastUser(this.options.dataDir);
    if (name === null) return null;
    const dir = userDir(this.options.dataDir, name);
    const saved = loadSession(dir);
    if (saved === null) return null;
    let credentials: TrackerCredentials;
    try {
      await this.tracker.whenReady(Math.max(0, this.offlineAfterMs - this.tracker.unreachableForMs));
      credentials = await this.tracker.resume(saved.ticket, saved.invisible);
    } catch (error) {
      if (error instanceof HychatError && error.code === "BAD_TICKET") {
        deleteSession(dir);
        return null;
      }
      if (
        error instanceof ConnectionError &&
        (error.code === "TIMEOUT" || error.code === "CONNECTION_CLOSED")
      ) {
        return this.beginOffline(saved);
      }
      throw error;
    }
    return this.begin(credentials);
  }

  async signOut(): Promise<void> {
    await this.endUser(true);
    this.tracker.forget();
    this.emit({ type: "identity", identity: null });
  }

  async listChannels(): Promise<ChannelListing[]> {
    return this.refreshDirectory();
  }

  async onlineUsers(): Promise<{ username: string; role: Role }[]> {
    return (await this.tracker.request("ONLINE", {})).users;
  }

  async setInvisible(invisible: boolean): Promise<void> {
    const user = this.requireUser();
    if (user.role === "guest") throw wireError("GUESTS_CANNOT_HIDE", "guests cannot go invisible");
    await this.tracker.setInvisible(invisible);
    const credentials = this.tracker.credentials;
    if (credentials !== undefined) saveSession(user.dir, credentials);
    // INVISIBLE applies to every channel of one host connection: send it once per host reached.
    const hosts = new Map<string, ChannelLink>();
    for (const link of user.links.values()) {
      const address = link.hostAddress;
      if (link.state === "online" && address !== null) hosts.set(`${address.host}:${address.port}`, link);
    }
    await Promise.all(
      [...hosts.values()].map((link) =>
        link.request("INVISIBLE", { invisible }).catch((error: unknown) => {
          this.logger.debug({ channel: link.name, err: error }, "INVISIBLE on host failed");
        }),
      ),
    );
    this.emit({ type: "identity", identity: this.identity });
  }

  async host(channel: string, settings?: { view?: View; moderated?: boolean }): Promise<HostedChannel> {
    const user = this.requireUser();
    if (user.role === "guest") throw wireError("GUESTS_CANNOT_HOST", "guests cannot host channels");
    const channelHost = await this.ensureChannelHost(user);
    const hosted = await channelHost.host(checkChannelName(channel), settings);
    // The owner is a member of their own channel; LIST first so the directory shows it right away.
    if (this.tracker.connected) {
      await this.refreshDirectory().catch((error: unknown) =>
        this.logger.debug({ err: error }, "LIST failed"),
      );
    }
    await this.joinLink(user, hosted.name).catch((error: unknown) => {
      this.logger.warn({ channel: hosted.name, err: error }, "could not join own channel");
    });
    return hosted;
  }

  async unhost(channel: string): Promise<void> {
    const user = this.requireUser();
    const channelHost = user.channelHost;
    if (channelHost === undefined || !channelHost.channels().some((hosted) => hosted.name === channel)) {
      throw wireError("NO_SUCH_CHANNEL", `${channel} is not hosted here`);
    }
    await channelHost.unhost(channel);
    this.emit({ type: "unhosted", channel });
  }

  hostedChannels(): HostedChannel[] {
    return this.user?.channelHost?.channels() ?? [];
  }

  async join(channel: string): Promise<JoinedChannel> {
    const user = this.requireUser();
    return (await this.joinLink(user, checkChannelName(channel))).snapshot();
  }

  async leave(channel: string): Promise<void> {
    const user = this.requireUser();
    const link = this.findLink(user, channel);
    if (link === undefined) throw wireError("NOT_JOINED", `not joined to ${channel}`);
    user.links.delete(link.name);
    user.store.markLeft(link.name);
    // Unsent messages stay in the outbox; they go out if the channel is joined again.
    this.settleQueued((waiter) => waiter.channel === link.name);
    await link.leave();
    this.emit({ type: "left", channel: link.name, reason: "user" });
  }

  joinedChannels(): JoinedChannel[] {
    return [...(this.user?.links.values() ?? [])].map((link) => link.snapshot());
  }

  markRead(channel: string): void {
    const user = this.user;
    if (user !== undefined) this.findLink(user, channel)?.markRead();
  }

  async send(channel: string, text: string): Promise<SendOutcome> {
    const user = this.requireUser();
    if (user.role === "guest") throw wireError("GUEST_READ_ONLY", "guests can read but not send");
    checkText(text);
    const name = this.canonicalName(user, checkChannelName(channel));
    const entry = user.store.outbox.add(name, text);
    this.emit({ type: "queued", entry });
    const outcome = this.awaitDelivery(entry);
    let link = user.links.get(name);
    if (link === undefined) {
      try {
        link = await this.joinLink(user, name);
      } catch (error) {
        if (error instanceof HychatError) {
          // A refusal that removed this user from the channel has dropped the entry already.
          if (this.waiters.has(entry.msgId)) {
            user.store.outbox.remove([entry.msgId]);
            this.dropEntries([entry], error, "dropped");
          }
        } else {
          this.settleWaiter(entry.msgId, queued(entry));
        }
        return outcome;
      }
    }
    if (link.state === "online") link.flush();
    else this.settleWaiter(entry.msgId, queued(entry));
    return outcome;
  }

  outbox(channel?: string): OutboxEntry[] {
    return this.user?.store.outbox.entries(channel) ?? [];
  }

  async history(channel: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const link = this.requireLink(channel);
    const before = options.before ?? link.oldestSeen;
    const page = parseHistoryReply(
      await link.request("HISTORY", {
        channel: link.name,
        ...(before === undefined ? {} : { before }),
        limit: options.limit ?? DEFAULT_PAGE,
      }),
    );
    link.noteOlder(page.messages);
    return page;
  }

  members(channel: string): MemberInfo[] {
    const user = this.user;
    return user === undefined ? [] : (this.findLink(user, channel)?.memberList() ?? []);
  }

  async setView(
    channel: string,
    view: View,
    moderated?: boolean,
  ): Promise<{ view: View; moderated: boolean }> {
    const link = this.requireLink(channel);
    return parseViewReply(
      await link.request("VIEW", {
        channel: link.name,
        view,
        ...(moderated === undefined ? {} : { moderated }),
      }),
    );
  }

  async authorize(channel: string, username: string, grant: boolean): Promise<string[]> {
    const link = this.requireLink(channel);
    return parseAuthorizeReply(await link.request("AUTHORIZE", { channel: link.name, username, grant }))
      .authorized;
  }

  async channelInfo(channel: string): Promise<ChannelInfo> {
    const link = this.requireLink(channel);
    return link.request("RET_INFO", { channel: link.name });
  }

  async debugInfo(): Promise<DebugInfo> {
    const user = this.user;
    const client: Record<string, unknown> = {
      identity: this.identity,
      dataDir: user?.dir ?? null,
      tracker: this.tracker.debugInfo(),
      hostSessions: this.pool.all().map((session) => session.debugInfo()),
      channels: Object.fromEntries([...(user?.links ?? [])].map(([name, link]) => [name, link.debugInfo()])),
      outbox: user?.store.outbox.counts() ?? {},
      pendingSends: this.waiters.size,
    };
    const host = user?.channelHost?.debugInfo() ?? { running: false };
    let tracker: DebugInfo["tracker"];
    try {
      tracker = await this.tracker.request("RET_INFO", {});
    } catch (error) {
      tracker = { error: error instanceof Error ? error.message : String(error) };
    }
    return { client, host, tracker };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.endUser(false);
      await this.tracker.close();
      await this.pool.close();
      this.hub.clear();
    })();
    return this.closing;
  }

  private get offlineAfterMs(): number {
    return this.options.offlineAfterMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Starts the user from the saved session while the tracker is out of reach; null when its ticket expired. */
  private async beginOffline(saved: TrackerCredentials): Promise<Identity | null> {
    const credentials = offlineCredentials(saved);
    if (credentials === null) return null;
    this.tracker.adopt(credentials);
    const identity = await this.begin(credentials);
    const { host, port } = this.options.tracker;
    this.emit({
      type: "notice",
      level: "warn",
      code: "TIMEOUT",
      text: `tracker ${host}:${port} is unreachable: working offline as ${identity.username} with the saved session until it is back`,
    });
    return identity;
  }

  private emit(event: PeerEvent): void {
    this.hub.emit(event);
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new Error("peer is closed");
  }

  private requireUser(): UserState {
    this.assertOpen();
    if (this.user === undefined) throw wireError("NOT_SIGNED_IN", "sign in first");
    return this.user;
  }

  private requireLink(channel: string): ChannelLink {
    const link = this.findLink(this.requireUser(), channel);
    if (link === undefined) throw wireError("NOT_JOINED", `not joined to ${channel}`);
    return link;
  }

  private findLink(user: UserState, channel: string): ChannelLink | undefined {
    return user.links.get(channel) ?? user.links.get(this.canonicalName(user, channel));
  }

  /** The channel's name as listed (names may be typed in another case). */
  private canonicalName(user: UserState, channel: string): string {
    if (user.links.has(channel)) return channel;
    return this.directory.get(nameKey(channel))?.name ?? channel;
  }

  /** Opens the user's state after the tracker accepted them: stores, own channels, joined channels. */
  private async begin(credentials: TrackerCredentials): Promise<Identity> {
    await this.endUser(false);
    const dir = ensureUserDir(this.options.dataDir, credentials.username);
    let lock: InstanceLock;
    let store: ClientStore;
    try {
      lock = acquireInstanceLock(dir, credentials.username);
    } catch (error) {
      // Signed in on the tracker but unable to use the local state: sign out there again.
      this.tracker.forget();
      throw error;
    }
    try {
      store = ClientStore.open(join(dir, CLIENT_DB_FILE));
    } catch (error) {
      lock.release();
      this.tracker.forget();
      throw error;
    }
    saveSession(dir, credentials);
    saveLastUser(this.options.dataDir, credentials.username);
    const user: UserState = {
      username: credentials.username,
      role: credentials.role,
      dir,
      lock,
      store,
      links: new Map(),
      joining: new Set(),
      linkContext: {
        pool: this.pool,
        store,
        logger: this.logger,
        backoff: this.options.backoff ?? {},
        flushListener: this.flushListener,
        identity: () => this.linkIdentity(),
        emit: (event) => this.emit(event),
        lookup: () => {
          this.refreshDirectory().catch((error: unknown) => this.logger.debug({ err: error }, "LIST failed"));
        },
        removed: (link, code, error) => this.removed(link, code, error),
      },
    };
    this.user = user;
    const identity = this.identity as Identity;
    this.emit({ type: "identity", identity });
    // Offline, the directory comes when the tracker is back (see trackerState).
    if (this.tracker.connected) {
      await this.refreshDirectory().catch((error: unknown) =>
        this.logger.debug({ err: error }, "LIST failed"),
      );
    }
    if (user.role === "user" && existsSync(join(dir, HOST_DB_FILE))) {
      // Channels hosted before a restart come back online under the same names.
      await this.restartChannelHost(user).catch((error: unknown) => {
        this.logger.error({ err: error }, "could not restart hosted channels");
        this.emit({
          type: "notice",
          level: "error",
          text: `could not restart hosted channels: ${String(error)}`,
        });
      });
    }
    for (const stored of store.channels()) {
      if (stored.joined && this.user === user && !user.links.has(stored.name))
        this.openLink(user, stored.name);
    }
    return identity;
  }

  /** Closes the user's state: links (with DISCONNECT when signing out), own host, store. */
  private async endUser(signingOut: boolean): Promise<void> {
    const user = this.user;
    if (user === undefined) return;
    this.user = undefined;
    const links = [...user.links.values()];
    user.links.clear();
    this.settleQueued(() => true);
    await Promise.all(links.map((link) => (signingOut ? link.leave() : Promise.resolve(link.close()))));
    if (signingOut) for (const link of links) this.emit({ type: "left", channel: link.name, reason: "user" });
    const channelHost = user.channelHost ?? (await user.hostStarting?.catch(() => undefined));
    await channelHost?.close();
    user.store.close();
    if (signingOut) deleteSession(user.dir);
    user.lock.release();
  }

  private linkIdentity(): LinkIdentity | undefined {
    const credentials = this.tracker.credentials;
    if (this.user === undefined || credentials === undefined) return undefined;
    return {
      username: credentials.username,
      role: credentials.role,
      ticket: credentials.ticket,
      invisible: credentials.invisible,
    };
  }

  /** Starts the user's channel host if it has stored channels; one without any is closed again. */
  private async restartChannelHost(user: UserState): Promise<void> {
    const channelHost = await this.ensureChannelHost(user);
    if (channelHost.channels().length > 0 || user.channelHost !== channelHost) return;
    user.channelHost = undefined;
    await channelHost.close();
  }

  private ensureChannelHost(user: UserState): Promise<ChannelHost> {
    if (user.channelHost !== undefined) return Promise.resolve(user.channelHost);
    user.hostStarting ??= (async () => {
      const listen = this.options.hostListen ?? DEFAULT_HOST_LISTEN;
      // Without a port of its own choosing the host comes back where members last reached it, if free.
      const previousPort = listen.port === 0 ? user.store.hostPort() : null;
      const channelHost = await ChannelHost.start({
        dataDir: user.dir,
        owner: user.username,
        getTicket: () => this.tracker.credentials?.ticket ?? "",
        tracker: this.options.tracker,
        listenHost: listen.host,
        listenPort: previousPort ?? listen.port,
        listenPortFallback: previousPort !== null,
        ...(this.options.hostLimits === undefined ? {} : { limits: this.options.hostLimits }),
        ...(this.options.backoff === undefined ? {} : { backoff: this.options.backoff }),
        logger: this.logger,
        onChange: (hosted) => {
          if (this.user === user) this.emit({ type: "hosting", channel: hosted });
        },
      });
      if (this.user !== user) {
        await channelHost.close();
        throw new Error("signed out while the channel host was starting");
      }
      user.channelHost = channelHost;
      user.store.saveHostPort(channelHost.address.port);
      return channelHost;
    })().finally(() => {
      user.hostStarting = undefined;
    });
    return user.hostStarting;
  }

  /** Opens a link for `channel` (remembering it as joined) and waits for its first join attempt. */
  private async joinLink(user: UserState, channel: string): Promise<ChannelLink> {
    let link = this.findLink(user, channel);
    if (link === undefined) {
      let listing = this.directory.get(nameKey(channel));
      // A listing not seen online may be stale: ask again. Without the tracker the link starts
      // unreachable and finds its host once the tracker is back.
      if (!listing?.online && this.tracker.connected) {
        const listed = await this.refreshDirectory().catch(() => undefined);
        listing = this.directory.get(nameKey(channel));
        if (listed !== undefined && listing === undefined) {
          throw wireError("NO_SUCH_CHANNEL", `no channel named ${channel}`);
        }
      }
      if (this.user !== user) throw wireError("NOT_SIGNED_IN", "signed out while joining");
      const name = listing?.name ?? channel;
      link = user.links.get(name);
      if (link === undefined) {
        link = this.openLink(user, name);
        user.joining.add(link);
      }
    }
    const refused = await link.settled();
    user.joining.delete(link);
    if (refused !== undefined) throw refused;
    return link;
  }

  private openLink(user: UserState, name: string): ChannelLink {
    user.store.markJoined(name);
    const link = new ChannelLink(name, user.linkContext);
    user.links.set(name, link);
    link.setAddress(this.knownAddress(user, name));
    return link;
  }

  /** Where to reach a channel's host: here when this peer hosts it, else as listed, else where it was last reached. */
  private knownAddress(user: UserState, name: string): Address | null {
    const channelHost = user.channelHost;
    if (channelHost?.channels().some((hosted) => nameKey(hosted.name) === nameKey(name))) {
      return channelHost.address;
    }
    const listing = this.directory.get(nameKey(name));
    if (listing?.online) return listing.address;
    return user.store.channel(name)?.address ?? null;
  }

  private removed(link: ChannelLink, code: RemovalCode, error?: HychatError): void {
    const user = this.user;
    if (user === undefined || user.links.get(link.name) !== link) return;
    user.links.delete(link.name);
    link.close();
    user.store.markLeft(link.name);
    // The host closed the channel: its listing is gone, even if the tracker has not said so yet.
    if (code === "CHANNEL_CLOSED") this.directory.delete(nameKey(link.name));
    const dropped = user.store.outbox.removeChannel(link.name);
    if (dropped.length > 0) {
      const reason = error ?? errorFromWire("REQUEST_ERROR", { code, message: `removed from #${link.name}` });
      this.dropEntries(dropped, reason, "dropped");
    }
    if (!user.joining.has(link)) this.emit({ type: "left", channel: link.name, reason: code });
  }

  /** Asks the tracker for the directory, moves links whose channel moved, and tells the UI. */
  private async refreshDirectory(): Promise<ChannelListing[]> {
    const { channels } = await this.tracker.request("LIST", {});
    this.directory.clear();
    for (const listing of channels) this.directory.set(nameKey(listing.name), listing);
    const user = this.user;
    if (user !== undefined) {
      for (const link of user.links.values()) {
        const listing = this.directory.get(nameKey(link.name));
        link.setAddress(listing?.online ? listing.address : null);
      }
    }
    this.emit({ type: "directory", channels });
    return channels;
  }

  private channelChanged(channel: string, online: boolean, address: Address | null): void {
    const listing = this.directory.get(nameKey(channel));
    if (listing === undefined) {
      // A channel not seen before: LIST gives its owner and settings too.
      this.refreshDirectory().catch((error: unknown) => this.logger.debug({ err: error }, "LIST failed"));
      return;
    }
    const updated = { ...listing, online, address: online ? address : null };
    this.directory.set(nameKey(channel), updated);
    this.user?.links.get(updated.name)?.setAddress(updated.address);
    this.emit({ type: "directory", channels: [...this.directory.values()] });
  }

  private trackerState(connected: boolean): void {
    this.emit({ type: "tracker", state: connected ? "connected" : "disconnected" });
    if (connected && this.user !== undefined) {
      this.refreshDirectory().catch((error: unknown) => this.logger.debug({ err: error }, "LIST failed"));
    }
  }

  /** Saves a renewed ticket, so a restart resumes with it rather than with one that may have expired. */
  private ticketRenewed(credentials: TrackerCredentials): void {
    const user = this.user;
    if (user === undefined || nameKey(user.username) !== nameKey(credentials.username)) return;
    try {
      saveSession(user.dir, credentials);
    } catch (error) {
      this.logger.warn({ err: error }, "could not save the renewed ticket");
    }
  }

  private ticketRejected(error: HychatError): void {
    const user = this.user;
    this.emit({ type: "notice", level: "error", code: error.code, text: `signed out: ${error.message}` });
    if (user === undefined) return;
    deleteSession(user.dir);
    this.endUser(false)
      .catch((closeError: unknown) => this.logger.error({ err: closeError }, "closing the user state failed"))
      .finally(() => this.emit({ type: "identity", identity: null }));
  }

  /**
   * Reports entries already removed from the outbox for good: a `dropped` event each, the waiting
   * sends rejected with `error` (their callers show it), and one notice for the entries no send waits
   * for, which nothing else would report.
   */
  private dropEntries(entries: readonly OutboxEntry[], error: HychatError, outcome: string): void {
    let unawaited = 0;
    for (const entry of entries) {
      const { channel, msgId } = entry;
      this.emit({ type: "dropped", channel, msgId, code: error.code, message: error.message });
      if (this.waiters.has(msgId)) this.settleWaiter(msgId, error);
      else unawaited += 1;
    }
    const channel = entries[0]?.channel;
    if (unawaited === 0 || channel === undefined) return;
    this.emit({
      type: "notice",
      level: "error",
      code: error.code,
      text: `${unawaited} queued message(s) to #${channel} ${outcome}: ${error.message}`,
    });
  }

  private awaitDelivery(entry: OutboxEntry): Promise<SendOutcome> {
    return new Promise((resolve, reject) => {
      this.waiters.set(entry.msgId, { channel: entry.channel, resolve, reject });
    });
  }

  private settleWaiter(msgId: string, outcome: SendOutcome | Error): void {
    const waiter = this.waiters.get(msgId);
    if (waiter === undefined) return;
    this.waiters.delete(msgId);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  /** Resolves the matching sends as `queued`: their entries stay in the outbox. */
  private settleQueued(matches: (waiter: DeliveryWaiter) => boolean): void {
    for (const [msgId, waiter] of [...this.waiters]) {
      if (matches(waiter)) this.settleWaiter(msgId, { msgId, status: "queued" });
    }
  }
}

function queued(entry: OutboxEntry): SendOutcome {
  return { msgId: entry.msgId, status: "queued" };
}

function checkChannelName(channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) {
    throw wireError("BAD_REQUEST", "channel name must match ^[A-Za-z0-9_.-]{1,64}$");
  }
  return channel;
}
