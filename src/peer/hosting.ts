import type { HostedChannel } from "../api/index.js";
import { ChannelHost } from "../host/channel-host.js";
import { DEFAULT_HOST_LIMITS } from "../host/limits.js";
import { wireError } from "../protocol/errors.js";
import type { Address, View } from "../protocol/tracker-schemas.js";
import type { JoinedChannels } from "./channels.js";
import { checkChannelName, type PeerContext, type UserState } from "./context.js";
import type { Directory } from "./directory.js";

const DEFAULT_HOST_LISTEN: Address = { host: "127.0.0.1", port: 0 };

/** Bytes of messages each hosted channel keeps unless told (`hostLimits.channelQuotaBytes`). */
export const DEFAULT_CHANNEL_QUOTA_BYTES = DEFAULT_HOST_LIMITS.channelQuotaBytes;

/** The user's own channel host: started on the first `host` (or at sign-in when channels are stored), closed at sign-out. */
export class Hosting {
  constructor(
    private readonly context: PeerContext,
    private readonly directory: Directory,
    private readonly channels: JoinedChannels,
  ) {}

  /** Starts serving a channel from this peer; resolves once the tracker lists it. */
  async host(channel: string, settings?: { view?: View; moderated?: boolean }): Promise<HostedChannel> {
    const user = this.context.requireUser();
    if (user.role === "guest") throw wireError("GUESTS_CANNOT_HOST", "guests cannot host channels");
    const channelHost = await this.ensureChannelHost(user);
    const hosted = await channelHost.host(checkChannelName(channel), settings);
    // The owner is a member of their own channel; look it up first so the directory shows it right away.
    if (this.context.tracker.connected) await this.directory.lookupQuietly(hosted.name);
    await this.channels.joinLink(user, hosted.name).catch((error: unknown) => {
      this.context.logger.warn({ channel: hosted.name, err: error }, "could not join own channel");
    });
    return hosted;
  }

  async unhost(channel: string): Promise<void> {
    const user = this.context.requireUser();
    const channelHost = user.channelHost;
    if (channelHost === undefined || !channelHost.channels().some((hosted) => hosted.name === channel)) {
      throw wireError("NO_SUCH_CHANNEL", `${channel} is not hosted here`);
    }
    await channelHost.unhost(channel);
    this.context.emit({ type: "unhosted", channel });
    if (channelHost.pendingUnhosts().includes(channel)) {
      this.context.emit({
        type: "notice",
        level: "info",
        channel,
        text: `the tracker could not be told yet: it will be told that #${channel} is no longer hosted once it answers, also after a restart`,
      });
    }
  }

  hostedChannels(): HostedChannel[] {
    return this.context.user()?.channelHost?.channels() ?? [];
  }

  /**
   * Starts the user's channel host if it has stored channels, or unhosts the tracker was not told of
   * yet (it tells the tracker once reachable); one with neither is closed again.
   */
  async restart(user: UserState): Promise<void> {
    const channelHost = await this.ensureChannelHost(user);
    if (channelHost.channels().length > 0 || channelHost.pendingUnhosts().length > 0) return;
    if (user.channelHost !== channelHost) return;
    user.channelHost = undefined;
    await channelHost.close();
  }

  /** Closes the user's channel host, also one still starting. */
  async close(user: UserState): Promise<void> {
    const channelHost = user.channelHost ?? (await user.hostStarting?.catch(() => undefined));
    await channelHost?.close();
  }

  private ensureChannelHost(user: UserState): Promise<ChannelHost> {
    if (user.channelHost !== undefined) return Promise.resolve(user.channelHost);
    user.hostStarting ??= (async () => {
      const { options, logger, tracker } = this.context;
      const listen = options.hostListen ?? DEFAULT_HOST_LISTEN;
      // Without a port of its own choosing the host comes back where members last reached it, if free.
      const previousPort = listen.port === 0 ? user.store.hostPort() : null;
      const channelHost = await ChannelHost.start({
        dataDir: user.dir,
        owner: user.username,
        getCredentials: () => tracker.credentials,
        tracker: options.tracker,
        trackerTrust: this.context.trackerTrust,
        listenHost: listen.host,
        listenPort: previousPort ?? listen.port,
        listenPortFallback: previousPort !== null,
        limits: {
          ...(options.heartbeatIntervalMs === undefined
            ? {}
            : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
          ...options.hostLimits,
        },
        ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        ...(options.hostAdvertise === undefined ? {} : { advertise: options.hostAdvertise }),
        ...(options.portMapping === undefined ? {} : { portMapping: options.portMapping }),
        logger,
        onChange: (hosted) => {
          if (this.context.user() === user) this.context.emit({ type: "hosting", channel: hosted });
        },
        onPendingUnhostSent: (channel) => {
          if (this.context.user() !== user) return;
          this.context.emit({
            type: "notice",
            level: "info",
            channel,
            text: `the tracker was told that #${channel} is no longer hosted`,
          });
        },
      });
      if (this.context.user() !== user) {
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
}
