import type { JoinedChannel } from "../api/index.js";
import { MessageVerifier } from "../auth/message-signature.js";
import { publicKeyFromBase64 } from "../auth/tickets.js";
import {
  ChannelLink,
  type ChannelLinkContext,
  type LeaveCode,
  type LinkIdentity,
} from "../client/channel-link.js";
import type { ClientStore } from "../client/client-store.js";
import { endpointKey, type HostEndpoint } from "../client/host-connection.js";
import { errorFromWire, type HychatError, wireError } from "../protocol/errors.js";
import { checkChannelName, type PeerContext, type UserState } from "./context.js";
import type { Directory } from "./directory.js";
import { endpointOf } from "./endpoints.js";
import type { MessageLifecycle } from "./message-lifecycle.js";

/**
 * The channels the user joined: one `ChannelLink` each, opened on `join` (and at sign-in for the
 * channels joined before), closed on `leave`, on removal by the host, and at sign-out.
 */
export class JoinedChannels {
  private verifierFor: { publicKey: string; issuer: string; verifier: MessageVerifier } | undefined;

  constructor(
    private readonly context: PeerContext,
    private readonly directory: Directory,
    private readonly lifecycle: MessageLifecycle,
  ) {}

  /** What every link of the user shares; the links reach the rest of the facade only through it. */
  linkContext(store: ClientStore): ChannelLinkContext {
    const { options, logger, pool, verifierPool } = this.context;
    return {
      pool,
      store,
      logger,
      backoff: options.backoff ?? {},
      flushListener: this.lifecycle.flushListener,
      identity: () => this.linkIdentity(),
      verifier: () => this.messageVerifier(),
      verifierPool,
      emit: (event) => this.lifecycle.linkEvent(event),
      lookup: (link) => void this.directory.lookupQuietly(link.name),
      removed: (link, code, error) => this.removed(link, code, error),
    };
  }

  async join(channel: string): Promise<JoinedChannel> {
    const user = this.context.requireUser();
    return (await this.joinLink(user, checkChannelName(channel))).snapshot();
  }

  async leave(channel: string): Promise<void> {
    const user = this.context.requireUser();
    const link = this.find(user, channel);
    if (link === undefined) throw wireError("NOT_JOINED", `not joined to ${channel}`);
    user.links.delete(link.name);
    user.store.markLeft(link.name);
    // Unsent messages stay in the outbox; they go out if the channel is joined again.
    this.lifecycle.settleQueued((waiter) => waiter.channel === link.name);
    this.lifecycle.reannounce(link.name, "not-joined");
    await link.leave();
    this.context.emit({ type: "left", channel: link.name, reason: "user" });
  }

  list(): JoinedChannel[] {
    return [...(this.context.user()?.links.values() ?? [])].map((link) => link.snapshot());
  }

  markRead(channel: string): void {
    const user = this.context.user();
    if (user !== undefined) this.find(user, channel)?.markRead();
  }

  /** The joined channel's link, else a `NOT_JOINED` error. */
  require(channel: string): ChannelLink {
    const link = this.find(this.context.requireUser(), channel);
    if (link === undefined) throw wireError("NOT_JOINED", `not joined to ${channel}`);
    return link;
  }

  find(user: UserState, channel: string): ChannelLink | undefined {
    return user.links.get(channel) ?? user.links.get(this.directory.canonicalName(user.links, channel));
  }

  /** Reopens the channels the user had joined before (at sign-in). */
  openStored(user: UserState): void {
    for (const stored of user.store.channels()) {
      if (stored.joined && this.context.user() === user && !user.links.has(stored.name))
        this.openLink(user, stored.name, stored.owner ?? undefined);
    }
  }

  /** Opens a link for `channel` (remembering it as joined) and waits for its first join attempt. */
  async joinLink(user: UserState, channel: string): Promise<ChannelLink> {
    let link = this.find(user, channel);
    // Joining again a channel whose owner changed is the user accepting the new owner.
    link?.acceptNewOwner();
    if (link === undefined) {
      let listing = this.directory.get(channel);
      // A listing not seen online may be stale: ask for that one channel. Without the tracker the
      // link starts unreachable and finds its host once the tracker is back.
      if (!listing?.online && this.context.tracker.connected) {
        const found = await this.directory.lookup(channel).then(
          (looked) => looked ?? null,
          () => undefined,
        );
        if (found === null) throw wireError("NO_SUCH_CHANNEL", `no channel named ${channel}`);
        listing = found ?? listing;
      }
      if (this.context.user() !== user) throw wireError("NOT_SIGNED_IN", "signed out while joining");
      const name = listing?.name ?? channel;
      link = user.links.get(name);
      if (link === undefined) {
        link = this.openLink(user, name);
        user.joining.add(link);
        this.lifecycle.reannounce(name, "unreachable");
      }
    }
    const refused = await link.settled();
    user.joining.delete(link);
    if (refused !== undefined) throw refused;
    return link;
  }

  /** Closes every link of a user whose state is closing (with DISCONNECT when signing out). */
  async closeAll(user: UserState, signingOut: boolean): Promise<void> {
    const links = [...user.links.values()];
    user.links.clear();
    await Promise.all(links.map((link) => (signingOut ? link.leave() : Promise.resolve(link.close()))));
    if (signingOut) {
      for (const link of links) this.context.emit({ type: "left", channel: link.name, reason: "user" });
    }
  }

  /** One joined channel per host that is online, for requests that apply to the whole connection. */
  onePerHost(): ChannelLink[] {
    const hosts = new Map<string, ChannelLink>();
    for (const link of this.context.user()?.links.values() ?? []) {
      const endpoint = link.hostEndpoint;
      if (link.state === "online" && endpoint !== null) hosts.set(endpointKey(endpoint), link);
    }
    return [...hosts.values()];
  }

  /** `trustOwner`: reopening a channel joined before, whose host must answer for the same owner. */
  private openLink(user: UserState, name: string, trustOwner?: string): ChannelLink {
    user.store.markJoined(name);
    // Messages written before joining may name the channel in another case.
    user.store.outbox.adoptChannel(name);
    const link = new ChannelLink(name, user.linkContext, trustOwner);
    user.links.set(name, link);
    link.setEndpoint(this.knownEndpoint(user, name), this.directory.get(name)?.owner);
    return link;
  }

  /** Where to reach a channel's host: here when this peer hosts it, else as listed, else where it was last reached. */
  private knownEndpoint(user: UserState, name: string): HostEndpoint | null {
    return endpointOf(user, name, this.directory.get(name)) ?? user.store.channel(name)?.endpoint ?? null;
  }

  private linkIdentity(): LinkIdentity | undefined {
    const credentials = this.context.tracker.credentials;
    if (this.context.user() === undefined || credentials === undefined) return undefined;
    return {
      username: credentials.username,
      role: credentials.role,
      ticket: credentials.ticket,
      key: credentials.key,
      invisible: credentials.invisible,
    };
  }

  /** The verifier for the tracker's key the session holds, made once per key. */
  private messageVerifier(): MessageVerifier | undefined {
    const trackerKey = this.context.tracker.credentials?.trackerKey ?? null;
    if (trackerKey === null) return undefined;
    if (
      this.verifierFor?.publicKey !== trackerKey.publicKey ||
      this.verifierFor.issuer !== trackerKey.issuer
    ) {
      this.verifierFor = {
        ...trackerKey,
        verifier: new MessageVerifier(publicKeyFromBase64(trackerKey.publicKey), trackerKey.issuer),
      };
    }
    return this.verifierFor.verifier;
  }

  private removed(link: ChannelLink, code: LeaveCode, error?: HychatError): void {
    const user = this.context.user();
    if (user === undefined || user.links.get(link.name) !== link) return;
    user.links.delete(link.name);
    link.close();
    user.store.markLeft(link.name);
    // The host closed the channel: its listing is gone, even if the tracker has not said so yet.
    if (code === "CHANNEL_CLOSED") this.directory.forget(link.name);
    const dropped = user.store.outbox.removeChannel(link.name);
    if (dropped.length > 0) {
      const reason = error ?? errorFromWire("REQUEST_ERROR", { code, message: `removed from #${link.name}` });
      this.lifecycle.dropEntries(dropped, reason, "dropped");
    }
    if (!user.joining.has(link)) this.context.emit({ type: "left", channel: link.name, reason: code });
  }
}
