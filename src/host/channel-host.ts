import type { Duplex } from "node:stream";
import type { HostedChannel } from "../api/index.js";
import { nowSeconds } from "../auth/tickets.js";
import { Dispatcher } from "../protocol/dispatcher.js";
import { ConnectionError, wireError } from "../protocol/errors.js";
import { channelNameSchema, nameKey } from "../protocol/names.js";
import type { Address, Revocation, View } from "../protocol/tracker-schemas.js";
import { loadOrCreateTlsIdentity, type TlsIdentity } from "../transport/tls-identity.js";
import type { ServerTrust } from "../transport/trust.js";
import type { BackoffOptions } from "../util/backoff.js";
import { createLogger, type Logger } from "../util/logger.js";
import { ChannelState } from "./channel.js";
import { applySettings } from "./channel-settings.js";
import { hostCommands } from "./commands/index.js";
import type { HostContext } from "./context.js";
import { HistoryStore } from "./history-store.js";
import { DEFAULT_HOST_LIMITS, type HostLimits } from "./limits.js";
import type { MemberConnection } from "./member-connection.js";
import { closeChannel, evict, leaveAll } from "./membership.js";
import { MessageBatcher } from "./message-batcher.js";
import { PortMapper } from "./port-mapping.js";
import { RelayAcceptor } from "./relay-acceptor.js";
import { SendAllowance } from "./send-allowance.js";
import { HostServer } from "./server.js";
import { TicketVerifier } from "./ticket-verifier.js";
import { type OwnerCredentials, TrackerLink } from "./tracker-link.js";

export { DEFAULT_HOST_LIMITS, type HostLimits } from "./limits.js";

/** Dial-backs through the relay under way at once; a member past them is told the host did not answer. */
const RELAY_DIAL_BACKS = 64;
/** A dial back later than the relay waits for (10 s) is of no use. */
const RELAY_DIAL_BACK_TIMEOUT_MS = 10_000;

export interface ChannelHostOptions {
  /** `host.db` lives here. */
  dataDir: string;
  /** The owning user's name. */
  owner: string;
  /** The owner's current ticket (signed by the tracker) and device key, for `RESUME` on the liveness link. */
  getCredentials(): OwnerCredentials | undefined;
  tracker: Address;
  /** Which certificate the tracker must present (the peer's pinned or first-use trust). */
  trackerTrust: ServerTrust;
  /** Default "127.0.0.1". */
  listenHost?: string;
  /** Default 0: the OS picks. */
  listenPort?: number;
  /**
   * When `listenPort` cannot be bound (taken by another process, or refused), listen on a port the
   * OS picks instead of failing (default false). For a port remembered from an earlier run.
   */
  listenPortFallback?: boolean;
  limits?: Partial<HostLimits>;
  /**
   * The address to list instead of the listening one (a port forwarded by hand, say). Without it
   * the host asks the router for a port mapping (`portMapping`) and lists what it gets.
   */
  advertise?: Address;
  /** Ask the local router to forward the listening port, for non-loopback addresses (default true). */
  portMapping?: boolean;
  /** Reconnect of the liveness link. */
  backoff?: BackoffOptions;
  logger?: Logger;
  /** A hosted channel was listed or unlisted, or its members or settings changed. */
  onChange?(channel: HostedChannel): void;
  /** The tracker took an unhost that had waited for it (the link was down, or the host restarted). */
  onPendingUnhostSent?(channel: string): void;
}

/**
 * Serves any number of channels on one TLS port: history in SQLite, permissions, presence and
 * fan-out, and a liveness link that keeps the channels listed on the tracker.
 */
export class ChannelHost {
  private readonly options: ChannelHostOptions;
  private readonly limits: HostLimits;
  private readonly logger: Logger;
  private readonly store: HistoryStore;
  private readonly verifier: TicketVerifier;
  private readonly batcher: MessageBatcher;
  private readonly sendAllowance: SendAllowance;
  private readonly context: HostContext;
  private readonly server: HostServer;
  private readonly link: TrackerLink;
  /** Dials back through the tracker's relay for members who cannot dial this host. */
  private readonly relayAcceptor: RelayAcceptor;
  /** The router's port mapping for the listening port, when one was asked for and granted. */
  private mapper: PortMapper | undefined;
  /** Hosted channels by name key: channel names are unique regardless of case, as on the tracker. */
  private readonly hosted = new Map<string, ChannelState>();
  /** `host()` calls waiting for the tracker, so a repeated call shares the first one's outcome. */
  private readonly registering = new Map<string, Promise<HostedChannel>>();
  /** Member counts last passed to `onChange`. */
  private readonly notifiedMembers = new Map<string, number>();
  private readonly startedAt = Date.now();
  private listenAddress: Address = { host: "127.0.0.1", port: 0 };
  private closing: Promise<void> | undefined;

  /** The fingerprint of the certificate members see; the tracker lists it with every channel. */
  readonly fingerprint: string;

  private constructor(options: ChannelHostOptions, store: HistoryStore, identity: TlsIdentity) {
    this.options = options;
    this.fingerprint = identity.fingerprint;
    this.limits = { ...DEFAULT_HOST_LIMITS, ...options.limits };
    this.logger = options.logger ?? createLogger({ name: "host" });
    this.store = store;
    this.verifier = new TicketVerifier(store.trackerKey(), identity.fingerprint);
    this.verifier.revoke(store.revocations(nowSeconds()));
    this.batcher = new MessageBatcher(store, this.limits.maxQueuedBytes);
    this.sendAllowance = new SendAllowance(
      this.limits.sendRatePerSecond,
      this.limits.sendBurst,
      this.limits.cacheBurst,
    );
    for (const stored of store.channels()) {
      this.hosted.set(nameKey(stored.name), new ChannelState(stored.name, options.owner, stored));
    }
    this.context = this.buildContext();
    const context = this.context;
    const dispatcher = new Dispatcher(hostCommands(context), {
      isSignedIn: (session) => session.identity !== undefined,
      onInternalError: (error, command) => this.logger.error({ err: error, command }, "host command failed"),
    });
    this.server = new HostServer({
      identity,
      dataDir: options.dataDir,
      limits: this.limits,
      logger: this.logger,
      dispatcher,
      onSessionClosed: (session) => leaveAll(context, session),
    });
    this.relayAcceptor = new RelayAcceptor({
      tracker: options.tracker,
      trackerFingerprint: () => this.link.trackerFingerprint,
      accept: (stream) => this.server.acceptRelayed(stream),
      maxPending: RELAY_DIAL_BACKS,
      timeoutMs: RELAY_DIAL_BACK_TIMEOUT_MS,
      logger: this.logger,
    });
    this.link = new TrackerLink({
      tracker: options.tracker,
      trust: options.trackerTrust,
      getCredentials: options.getCredentials,
      advertised: () => this.options.advertise ?? this.mapper?.current ?? this.listenAddress,
      fingerprint: identity.fingerprint,
      channels: () =>
        [...this.hosted.values()].map((channel) => ({
          name: channel.name,
          view: channel.view,
          moderated: channel.moderated,
          members: channel.visibleCount,
        })),
      onKey: (key) => {
        if (this.closing === undefined && this.verifier.update(key)) this.store.saveTrackerKey(key);
      },
      onRevocations: (revocations) => this.revoked(revocations),
      onRelayIncoming: (request) => this.relayAcceptor.incoming(request),
      pendingUnhosts: store.pendingUnhosts(),
      onUnhostSettled: (name, delayed) => {
        if (this.closing !== undefined) return;
        this.store.unhostSent(name);
        if (delayed) options.onPendingUnhostSent?.(name);
      },
      onListed: (name) => {
        const channel = this.hosted.get(nameKey(name));
        if (channel !== undefined) this.notify(channel);
      },
      membersReportIntervalMs: this.limits.membersReportIntervalMs,
      connection: { heartbeatIntervalMs: this.limits.heartbeatIntervalMs },
      backoff: options.backoff,
      logger: this.logger,
    });
  }

  /** Opens the store, listens, then re-lists every channel stored by a previous run. */
  static async start(options: ChannelHostOptions): Promise<ChannelHost> {
    // The key lives beside host.db, so members' pinned fingerprint survives restarts.
    const identity = await loadOrCreateTlsIdentity(options.dataDir, `hychat host of ${options.owner}`);
    const limits = { ...DEFAULT_HOST_LIMITS, ...options.limits };
    const store = HistoryStore.open(options.dataDir, { channelQuotaBytes: limits.channelQuotaBytes });
    let host: ChannelHost;
    try {
      host = new ChannelHost(options, store, identity);
      host.listenAddress = await host.listen();
    } catch (error) {
      store.close();
      throw error;
    }
    if (options.portMapping !== false && options.advertise === undefined) await host.mapPort();
    host.link.start();
    return host;
  }

  /** A link to this host from the same process, for the owner's own client (see `HostServer.acceptLocal`). */
  openLocalLink(): Duplex {
    if (this.closing !== undefined)
      throw new ConnectionError("CONNECTION_CLOSED", "the host is shutting down");
    return this.server.acceptLocal();
  }

  get address(): Address {
    return this.listenAddress;
  }

  /**
   * Hosts a channel (or changes the settings of one already hosted): stores it and resolves once the
   * tracker lists it; rejects with the tracker's error (`CHANNEL_TAKEN`, ...) and then keeps nothing.
   */
  async host(channel: string, settings: { view?: View; moderated?: boolean } = {}): Promise<HostedChannel> {
    if (this.closing !== undefined) throw wireError("SHUTTING_DOWN", "the host is shutting down");
    if (!channelNameSchema.safeParse(channel).success) {
      throw wireError("BAD_REQUEST", `channel: ${JSON.stringify(channel)} must match ^[A-Za-z0-9_.-]{1,64}$`);
    }
    const existing = this.hosted.get(nameKey(channel));
    if (existing !== undefined) {
      applySettings(
        this.context,
        existing,
        settings.view ?? existing.view,
        settings.moderated ?? existing.moderated,
      );
      return this.describe(existing);
    }
    const key = nameKey(channel);
    let registration = this.registering.get(key);
    if (registration === undefined) {
      registration = this.register(channel, settings.view ?? "public", settings.moderated ?? false);
      this.registering.set(key, registration);
      const forget = () => this.registering.delete(key);
      registration.then(forget, forget);
    }
    return registration;
  }

  /**
   * Stops hosting: `REMOVED` `CHANNEL_CLOSED` to its members, deleted from the store and the tracker.
   * While the tracker is unreachable the unhost waits on disk (`pendingUnhosts`), also across restarts,
   * and goes out before anything else once the link is back.
   */
  async unhost(channel: string): Promise<void> {
    const state = this.hosted.get(nameKey(channel));
    if (state === undefined) throw wireError("NO_SUCH_CHANNEL", `${channel} is not hosted here`);
    this.hosted.delete(nameKey(channel));
    this.notifiedMembers.delete(state.name);
    closeChannel(state);
    this.store.deleteChannel(state.name);
    await this.link.unhost(state.name);
  }

  channels(): HostedChannel[] {
    return [...this.hosted.values()].map((channel) => this.describe(channel));
  }

  /** Channels unhosted here that the tracker has not been told of yet. */
  pendingUnhosts(): string[] {
    return this.link.unhostsPending;
  }

  debugInfo(): Record<string, unknown> {
    return {
      owner: this.options.owner,
      address: this.listenAddress,
      uptimeS: Math.floor((Date.now() - this.startedAt) / 1000),
      limits: this.limits,
      trackerIssuer: this.verifier.key?.issuer ?? null,
      link: this.link.debugInfo(),
      server: this.server.stats(),
      batcher: this.batcher.stats(),
      sends: this.sendAllowance.stats(),
      channels: [...this.hosted.values()].map((channel) => {
        let queuedBytes = 0;
        for (const member of channel.members) queuedBytes += member.connection.queuedBytes;
        return {
          name: channel.name,
          view: channel.view,
          moderated: channel.moderated,
          listed: this.link.isListed(channel.name),
          latestSeq: this.store.latestSeq(channel.name),
          storage: this.store.usage(channel.name),
          connections: channel.members.size,
          members: channel.allMembers(),
          authorized: channel.authorizedNames(),
          queuedBytes,
        };
      }),
    };
  }

  /** Closes the liveness link, every member connection, the server, timers and the database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const linkClosed = this.link.close();
      this.relayAcceptor.close();
      this.batcher.close();
      await Promise.all([linkClosed, this.server.close(), this.mapper?.stop()]);
      this.store.close();
    })();
    return this.closing;
  }

  /** Keeps revocations (also on disk, for a restart while the tracker is down) and drops the members they cover. */
  private revoked(revocations: Revocation[]): void {
    if (this.closing !== undefined || revocations.length === 0) return;
    const now = nowSeconds();
    this.verifier.revoke(revocations, now);
    this.store.saveRevocations(revocations, now);
    const dropped = new Set<MemberConnection>();
    for (const channel of this.hosted.values()) {
      for (const member of [...channel.members]) {
        const identity = member.identity;
        if (identity === undefined) continue;
        if (!this.verifier.isRevoked({ sub: identity.username, dev: identity.device, gen: identity.gen }))
          continue;
        evict(this.context, channel, member, "TICKET_REVOKED");
        dropped.add(member);
      }
    }
    for (const member of dropped) member.connection.close();
  }

  private async listen(): Promise<Address> {
    const listenHost = this.options.listenHost ?? "127.0.0.1";
    const port = this.options.listenPort ?? 0;
    try {
      return await this.server.listen(listenHost, port);
    } catch (error) {
      if (this.options.listenPortFallback !== true || port === 0) throw error;
      this.logger.info({ port, err: error }, "port unavailable: listening on one the OS picks");
      return this.server.listen(listenHost, 0);
    }
  }

  private async register(name: string, view: View, moderated: boolean): Promise<HostedChannel> {
    await this.link.host({ name, view, moderated, members: 0 });
    if (this.closing !== undefined) throw wireError("SHUTTING_DOWN", "the host is shutting down");
    const existing = this.hosted.get(nameKey(name));
    if (existing !== undefined) return this.describe(existing);
    this.store.addChannel(name, view, moderated);
    const channel = new ChannelState(name, this.options.owner, { view, moderated, authorized: [] });
    this.hosted.set(nameKey(name), channel);
    this.notify(channel);
    return this.describe(channel);
  }

  private describe(channel: ChannelState): HostedChannel {
    const listed = this.link.isListed(channel.name);
    return {
      name: channel.name,
      view: channel.view,
      moderated: channel.moderated,
      address: this.link.listedAddress ?? this.listenAddress,
      fingerprint: this.fingerprint,
      listed,
      reach: listed ? (this.link.reach ?? null) : null,
      members: channel.visibleCount,
    };
  }

  /**
   * Asks the router to forward the listening port (best effort, quiet on failure: the tracker then
   * lists the channels `relay`). When the mapping changes later, every channel is listed again at
   * the new address, so the tracker measures it again.
   */
  private async mapPort(): Promise<void> {
    const mapper = new PortMapper({
      internalHost: this.listenAddress.host,
      internalPort: this.listenAddress.port,
      logger: this.logger,
      onChange: () => {
        if (this.closing === undefined) this.link.relist();
      },
    });
    this.mapper = mapper;
    const mapped = await mapper.start();
    if (mapped !== undefined) this.logger.info({ mapped }, "the router forwards the hosting port");
  }

  private notify(channel: ChannelState): void {
    if (this.closing !== undefined) return;
    this.notifiedMembers.set(channel.name, channel.visibleCount);
    this.options.onChange?.(this.describe(channel));
  }

  private buildContext(): HostContext {
    return {
      store: this.store,
      verifier: this.verifier,
      batcher: this.batcher,
      sendAllowance: this.sendAllowance,
      startedAt: this.startedAt,
      channel: (name) => this.hosted.get(nameKey(name)),
      membersChanged: (channel) => {
        if (this.hosted.get(nameKey(channel.name)) !== channel) return;
        this.link.reportMembers(channel.name, channel.visibleCount);
        if (this.notifiedMembers.get(channel.name) !== channel.visibleCount) this.notify(channel);
      },
      settingsChanged: (channel) => {
        if (this.hosted.get(nameKey(channel.name)) !== channel) return;
        this.link.reportView(channel.name, channel.view, channel.moderated);
        this.notify(channel);
      },
    };
  }
}
