import type { JoinedChannel, LinkState, PeerEvent } from "../api/index.js";
import type { DeviceKey } from "../auth/device-key.js";
import type { MessageVerifier, UnverifiedReason } from "../auth/message-signature.js";
import type { SignatureVerifierPool } from "../auth/verify-pool.js";
import type { RemovalCode } from "../protocol/codes.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import {
  type ChatMessage,
  type HostCommand,
  type HostOkBodies,
  type HostReply,
  type HostRequestBodies,
  MAX_PAGE,
  type MemberInfo,
} from "../protocol/host-schemas.js";
import { nameKey } from "../protocol/names.js";
import type { Role, View } from "../protocol/tracker-schemas.js";
import { type BackoffOptions, backoffDelay } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import type { ClientStore } from "./client-store.js";
import {
  endpointKey,
  type HostChannelListener,
  type HostConnection,
  type HostConnectionPool,
  type HostEndpoint,
  type HostEvent,
} from "./host-connection.js";
import { type FlushListener, OutboxFlusher } from "./outbox-flusher.js";

/** Who this peer is toward hosts, while signed in. */
export interface LinkIdentity {
  username: string;
  role: Role;
  ticket: string;
  /** The device key the ticket certifies: it proves the ticket is ours and signs what we write. */
  key: DeviceKey;
  invisible: boolean;
}

/** Removals that end the user's membership (a revoked ticket does not: the link joins again). */
export type LeaveCode = Exclude<RemovalCode, "TICKET_REVOKED">;

export interface ChannelLinkContext {
  pool: HostConnectionPool;
  store: ClientStore;
  logger: Logger;
  backoff?: BackoffOptions;
  flushListener: FlushListener;
  identity(): LinkIdentity | undefined;
  /** Checks messages against the tracker's key; undefined before it is known (nothing is then shown). */
  verifier(): MessageVerifier | undefined;
  /** Threads that check the signatures of whole pages (a catch-up) at once. */
  verifierPool: SignatureVerifierPool;
  emit(event: PeerEvent): void;
  /** The host no longer serves the channel here: ask the tracker where it is now. */
  lookup(link: ChannelLink): void;
  /** This peer may no longer see the channel (removed by its host, or refused on CONNECT). */
  removed(link: ChannelLink, code: LeaveCode, error?: HychatError): void;
}

/** Most `HISTORY` pages fetched to catch up on one rejoin (MAX_PAGE messages each). */
const MAX_CATCH_UP_PAGES = 1_000;
/** Own messages remembered between sending and the host's echo, which then needs no check. */
const MAX_SENT_REMEMBERED = 10_000;
/** Least time between two notices about messages dropped live in one channel (the count adds up). */
const DROP_NOTICE_INTERVAL_MS = 10_000;
const DROP_REASONS: Record<UnverifiedReason, string> = {
  unsigned: "unsigned",
  uncertified: "not certified by the tracker for their author",
  forged: "with a signature that does not match",
};
/** Refusals of CONNECT that will not change by retrying: the channel is gone from this user. */
const FINAL_REFUSALS = new Set<string>(["PRIVATE_CHANNEL", "REVOKED"]);

/**
 * One joined channel: finds its host through the tracker's directory, joins it over the shared host
 * session, rejoins with `since` after any drop or move, and delivers its outbox while online.
 */
export class ChannelLink implements HostChannelListener {
  readonly name: string;
  owner = "";
  view: View = "public";
  moderated = false;
  role: Role = "user";
  latestSeq = 0;
  private linkState: LinkState;
  private readonly members = new Map<string, MemberInfo>();
  private readonly context: ChannelLinkContext;
  private readonly flusher: OutboxFlusher;
  /** Highest seq seen; null before the first join, which then asks for the latest page instead. */
  private lastSeq: number | null;
  private unread: number;
  /** Up to where the user has read; written to disk together with `lastSeq`, once per batch. */
  private readSeq: number;
  /** Lowest seq seen since this link opened: where `history()` pages back from. */
  private oldestSeq: number | undefined;
  private session: HostConnection | undefined;
  private attempt = 0;
  private joining = false;
  private buffered: HostEvent[] = [];
  private everJoined = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private positionSave: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly settledPromise: Promise<HychatError | undefined>;
  private settle: (error?: HychatError) => void = () => {};
  /** The owner the user joined this channel under; undefined until the first join answers. */
  private pinnedOwner: string | undefined;
  /** Another user answered as the channel's owner: nothing is delivered until the user accepts. */
  private foreignOwner: string | undefined;
  /** Messages left out because they did not verify, by reason, since the link opened. */
  private readonly droppedTotal: Record<UnverifiedReason, number> = {
    unsigned: 0,
    uncertified: 0,
    forged: 0,
  };
  /** Live drops not told yet, and when the last notice went out. */
  private droppedUntold: Record<UnverifiedReason, number> = { unsigned: 0, uncertified: 0, forged: 0 };
  private lastDropNotice = 0;
  /** What this link sent and the host has not echoed yet: msgId to sentAt and text. */
  private readonly sentByMe = new Map<string, string>();

  /**
   * `trustOwner`: the owner this peer knew the channel by; a host that answers with another one is
   * not sent the outbox until the user joins again on purpose. Undefined accepts any owner (a join
   * the user asked for now).
   */
  constructor(name: string, context: ChannelLinkContext, trustOwner?: string) {
    this.name = name;
    this.context = context;
    this.pinnedOwner = trustOwner;
    const stored = context.store.channel(name);
    this.lastSeq = stored?.lastSeq ?? null;
    this.unread = stored?.unread ?? 0;
    this.readSeq = stored?.readSeq ?? 0;
    this.linkState = "connecting";
    this.settledPromise = new Promise((resolve) => {
      this.settle = (error) => {
        this.settle = () => {};
        resolve(error);
      };
    });
    this.flusher = new OutboxFlusher(
      {
        channel: name,
        isOnline: () => this.linkState === "online" && !this.closed,
        request: (command, body) => this.request(command, body),
        rejoin: () => this.rejoin(),
        author: () => context.identity(),
      },
      context.store.outbox,
      context.flushListener,
      context.logger,
      { backoff: context.backoff ?? {} },
    );
  }

  get state(): LinkState {
    return this.linkState;
  }

  get hostEndpoint(): HostEndpoint | null {
    return this.session?.endpoint ?? null;
  }

  /** Resolves after the first join attempt: undefined when it ended online or unreachable, the error when refused for good. */
  settled(): Promise<HychatError | undefined> {
    return this.settledPromise;
  }

  /**
   * Where the tracker says the channel's host is, and its key. A new address or key moves the link.
   * Null (not listed online) changes nothing on a working link, since the host, not the tracker, is
   * the authority on its channels; otherwise the link keeps redialing the last endpoint it knew, if any.
   * `listedOwner`, the owner the listing names: another one than the channel was joined under is
   * not even dialed (its host would be handed this user's ticket).
   */
  setEndpoint(endpoint: HostEndpoint | null, listedOwner?: string): void {
    if (this.closed) return;
    if (endpoint !== null && listedOwner !== undefined && this.pinnedOwner !== undefined) {
      // The link still attaches, so joining again on purpose finds the host; `connect` holds off.
      if (nameKey(listedOwner) !== nameKey(this.pinnedOwner)) this.ownerChanged(listedOwner, false);
      else this.foreignOwner = undefined;
    }
    if (endpoint === null) {
      if (this.linkState === "online") return;
      this.setState("unreachable");
      this.settle();
      return;
    }
    const current = this.session;
    if (current !== undefined && current.key === endpointKey(endpoint)) {
      if (!current.connected) current.retryNow();
      else if (this.linkState !== "online" && !this.joining) void this.connect();
      return;
    }
    this.detach();
    this.context.store.saveEndpoint(this.name, endpoint);
    const session = this.context.pool.get(endpoint);
    this.session = session;
    if (this.foreignOwner === undefined) this.setState("connecting");
    session.attach(this.name, this);
    if (session.connected) void this.connect();
  }

  up(): void {
    void this.connect();
  }

  down(): void {
    if (this.closed) return;
    this.attempt += 1;
    this.joining = false;
    this.buffered = [];
    this.setState("unreachable");
    this.settle();
  }

  event(event: HostEvent): void {
    if (this.closed || this.foreignOwner !== undefined) return;
    if (this.joining) {
      this.buffered.push(event);
      return;
    }
    this.apply(event);
  }

  /** Sends a request for this channel to its host; fails fast while the channel is not online. */
  request<C extends HostCommand>(command: C, body: HostRequestBodies[C]): Promise<HostReply<C>> {
    const session = this.session;
    if (this.linkState !== "online" || session === undefined) {
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", `#${this.name} is ${this.linkState}`));
    }
    if (command === "MESSAGE") this.rememberSent(body as HostRequestBodies["MESSAGE"]);
    if (command === "CACHE") {
      for (const message of (body as HostRequestBodies["CACHE"]).messages) this.rememberSent(message);
    }
    return session.request(command, body);
  }

  /** The host's echo of a message sent here is known good without checking its signature. */
  private rememberSent(message: { msgId: string; sentAt: string; text: string }): void {
    if (this.sentByMe.size >= MAX_SENT_REMEMBERED) {
      this.sentByMe.delete(this.sentByMe.keys().next().value as string);
    }
    this.sentByMe.set(message.msgId, `${message.sentAt}\n${message.text}`);
  }

  /** True for the echo of a message this link sent, as it was sent (then forgotten). */
  private isOwnEcho(message: ChatMessage, self: string | undefined): boolean {
    if (self === undefined || nameKey(message.from) !== nameKey(self)) return false;
    const sent = this.sentByMe.get(message.msgId);
    if (sent === undefined || sent !== `${message.sentAt}\n${message.text}`) return false;
    this.sentByMe.delete(message.msgId);
    return true;
  }

  /** Delivers the outbox now if online (a running flush picks up new entries by itself). */
  flush(): void {
    this.flusher.flush();
  }

  memberList(): MemberInfo[] {
    return [...this.members.values()];
  }

  /** Where to page back from: the oldest message seen since the link opened. */
  get oldestSeen(): number | undefined {
    return this.oldestSeq;
  }

  noteOlder(messages: readonly ChatMessage[]): void {
    const first = messages[0];
    if (first !== undefined && (this.oldestSeq === undefined || first.seq < this.oldestSeq)) {
      this.oldestSeq = first.seq;
    }
  }

  /** Marks everything seen as read; saved with the next position write, not one commit per call. */
  markRead(): void {
    this.unread = 0;
    this.readSeq = Math.max(this.readSeq, this.lastSeq ?? 0);
    this.schedulePositionSave();
  }

  snapshot(): JoinedChannel {
    return {
      name: this.name,
      owner: this.owner,
      view: this.view,
      moderated: this.moderated,
      role: this.role,
      state: this.linkState,
      members: this.memberList(),
      lastSeq: this.lastSeq ?? 0,
      latestSeq: this.latestSeq,
      unread: this.unread,
      pending: this.context.store.outbox.count(this.name),
    };
  }

  debugInfo(): Record<string, unknown> {
    return {
      state: this.linkState,
      host: this.session?.key ?? null,
      lastSeq: this.lastSeq,
      latestSeq: this.latestSeq,
      unread: this.unread,
      members: this.members.size,
      dropped: { ...this.droppedTotal },
      flushing: this.flusher.active,
      pending: this.context.store.outbox.count(this.name),
    };
  }

  /** Tells the host this user leaves (when online), then closes the link. */
  async leave(): Promise<void> {
    const session = this.session;
    const wasOnline = this.linkState === "online";
    this.stop();
    if (wasOnline && session?.connected) {
      try {
        await session.request("DISCONNECT", { channel: this.name });
      } catch (error) {
        this.context.logger.debug({ channel: this.name, err: error }, "DISCONNECT failed");
      }
    }
    this.detach();
  }

  /** Closes the link without telling the host (shutdown, or the host already removed us). */
  close(): void {
    this.stop();
    this.detach();
  }

  private stop(): void {
    if (this.positionSave !== undefined) this.savePosition();
    this.closed = true;
    this.attempt += 1;
    this.flusher.close();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.settle();
  }

  private detach(): void {
    const session = this.session;
    this.session = undefined;
    session?.detach(this.name, this);
  }

  private rejoin(): void {
    if (this.closed) return;
    this.setState("connecting");
    void this.connect();
  }

  private setState(state: LinkState): void {
    if (this.linkState === state) return;
    this.linkState = state;
    if (this.everJoined) this.context.emit({ type: "link", channel: this.name, state });
  }

  private async connect(): Promise<void> {
    const session = this.session;
    const identity = this.context.identity();
    if (this.closed || session === undefined || !session.connected || identity === undefined) return;
    // Not again to a host that answered for another owner, until the user accepts it.
    if (this.foreignOwner !== undefined) return;
    const attempt = ++this.attempt;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.joining = true;
    this.buffered = [];
    this.setState("connecting");
    const since = this.lastSeq;
    try {
      const reply = await session.connect(
        {
          channel: this.name,
          ticket: identity.ticket,
          ...(since === null ? {} : { since }),
          ...(identity.role === "user" && identity.invisible ? { invisible: true } : {}),
        },
        identity.key,
      );
      if (attempt !== this.attempt) return;
      if (this.pinnedOwner !== undefined && nameKey(this.pinnedOwner) !== nameKey(reply.owner)) {
        this.ownerChanged(reply.owner, true);
        return;
      }
      const messages = [...reply.history];
      let hasMore = reply.hasMore && since !== null;
      for (let page = 0; hasMore && page < MAX_CATCH_UP_PAGES; page += 1) {
        const after = messages.at(-1)?.seq ?? since ?? 0;
        const more = await session.request("HISTORY", { channel: this.name, after, limit: MAX_PAGE });
        if (attempt !== this.attempt) return;
        messages.push(...more.messages);
        hasMore = more.hasMore && more.messages.length > 0;
      }
      if (attempt !== this.attempt) return;
      const seen = this.lastSeq ?? 0;
      const received = messages.filter((message) => message.seq > seen);
      const fresh = await this.verified(received);
      if (attempt !== this.attempt) return;
      this.joined(reply, received, fresh, identity, since === null);
    } catch (error) {
      if (attempt !== this.attempt) return;
      this.joining = false;
      this.buffered = [];
      this.refused(error);
    }
  }

  /** The user joined again on purpose: the owner they were told about is the one from now on. */
  acceptNewOwner(): void {
    const owner = this.foreignOwner;
    if (owner === undefined) return;
    this.pinnedOwner = owner;
    this.foreignOwner = undefined;
    this.context.store.saveOwner(this.name, owner);
    void this.connect();
  }

  /**
   * The host answers for a channel of the same name that another user owns now (the old one was
   * unhosted and its name taken): keep the outbox, say so once, and leave (`joined`: after a CONNECT).
   */
  private ownerChanged(owner: string, joined: boolean): void {
    this.joining = false;
    this.buffered = [];
    const first = this.foreignOwner !== owner;
    this.foreignOwner = owner;
    if (joined) this.session?.request("DISCONNECT", { channel: this.name }).catch(() => undefined);
    this.setState("unreachable");
    this.settle();
    if (!first) return;
    const pending = this.context.store.outbox.count(this.name);
    this.context.emit({
      type: "notice",
      level: "warn",
      code: "OWNER_CHANGED",
      text: `#${this.name} now belongs to ${owner}, not ${this.pinnedOwner} as when you joined it: nothing is sent there (${pending} pending kept). /join ${this.name} to accept ${owner} and send them the pending messages (/outbox drop N first to keep some back), or /disconnect ${this.name} to drop the channel and its pending messages`,
    });
  }

  /** `received`: the messages after the last one seen; `fresh`: those of them that verified. */
  private joined(
    reply: HostOkBodies["CONNECT"],
    received: ChatMessage[],
    fresh: ChatMessage[],
    identity: LinkIdentity,
    firstJoin: boolean,
  ): void {
    if (this.pinnedOwner !== reply.owner) this.context.store.saveOwner(this.name, reply.owner);
    this.pinnedOwner = reply.owner;
    this.owner = reply.owner;
    this.view = reply.view;
    this.moderated = reply.moderated;
    this.role = reply.role;
    this.latestSeq = Math.max(this.latestSeq, reply.latestSeq);
    this.members.clear();
    for (const member of reply.members) this.members.set(nameKey(member.username), member);
    const seen = this.lastSeq ?? 0;
    const self = nameKey(identity.username);
    if (!firstJoin) {
      this.unread += fresh.filter((message) => nameKey(message.from) !== self).length;
    }
    this.lastSeq = Math.max(seen, reply.latestSeq, received.at(-1)?.seq ?? 0);
    this.savePosition();
    if (this.oldestSeq === undefined) this.oldestSeq = received[0]?.seq ?? this.lastSeq + 1;
    this.failures = 0;
    this.joining = false;
    const buffered = this.buffered;
    this.buffered = [];
    this.setState("online");
    if (!this.everJoined) {
      this.everJoined = true;
      this.context.emit({ type: "joined", channel: this.snapshot(), history: fresh });
    } else {
      for (const message of fresh) {
        this.context.emit({ type: "message", message, own: nameKey(message.from) === self });
      }
    }
    this.settle();
    for (const event of buffered) {
      if (this.closed) return;
      this.apply(event);
    }
    this.flusher.flush();
  }

  private refused(error: unknown): void {
    if (error instanceof HychatError && FINAL_REFUSALS.has(error.code)) {
      this.settle(error);
      this.context.removed(this, error.code as LeaveCode, error);
      return;
    }
    this.setState("unreachable");
    this.settle();
    if (error instanceof ConnectionError && error.code === "CONNECTION_CLOSED") return; // the session redials
    this.context.logger.info({ channel: this.name, err: error }, "join failed, will retry");
    if (error instanceof HychatError && error.code === "BAD_TICKET" && this.failures === 0) {
      this.context.emit({
        type: "notice",
        level: "warn",
        code: error.code,
        text: `#${this.name}: ${error.message}`,
      });
    }
    const lookup = error instanceof HychatError && error.code === "NO_SUCH_CHANNEL";
    const delay = backoffDelay(this.failures, this.context.backoff);
    this.failures += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (lookup) this.context.lookup(this);
      else void this.connect();
    }, delay);
  }

  private apply(event: HostEvent): void {
    switch (event.event) {
      case "MESSAGE":
        this.receive(event.body);
        return;
      case "PRESENCE": {
        const { username, role, status } = event.body;
        if (status === "online") this.members.set(nameKey(username), { username, role });
        else this.members.delete(nameKey(username));
        this.context.emit({ type: "presence", channel: this.name, username, role, status });
        return;
      }
      case "CHANNEL":
        this.view = event.body.view;
        this.moderated = event.body.moderated;
        this.context.emit({
          type: "settings",
          channel: this.name,
          view: this.view,
          moderated: this.moderated,
        });
        return;
      case "REMOVED":
        // Not a verdict on this channel: the ticket it was joined with was revoked, and the host
        // closes the connection; the redial joins with the ticket held now, if it is still good.
        if (event.body.code === "TICKET_REVOKED") {
          this.context.emit({
            type: "notice",
            level: "warn",
            code: "TICKET_REVOKED",
            text: `#${this.name}: the host was told the ticket this device joined with is revoked`,
          });
          return;
        }
        this.context.removed(this, event.body.code);
        return;
    }
  }

  private receive(message: ChatMessage): void {
    if (message.seq <= (this.lastSeq ?? 0)) return;
    this.lastSeq = message.seq;
    this.latestSeq = Math.max(this.latestSeq, message.seq);
    this.schedulePositionSave();
    // The owner's own host, in this process, checked who sent it when it stored it: live messages
    // from it are not checked again (its history from disk is, like any host's).
    const self = this.context.identity()?.username;
    const trusted = this.session?.endpoint.local !== undefined || this.isOwnEcho(message, self);
    const reason = trusted ? null : this.check(message);
    if (reason !== null) {
      this.droppedTotal[reason] += 1;
      this.droppedUntold[reason] += 1;
      if (Date.now() - this.lastDropNotice >= DROP_NOTICE_INTERVAL_MS) this.tellDropped(this.takeUntold());
      return;
    }
    const own = self !== undefined && nameKey(message.from) === nameKey(self);
    if (!own) this.unread += 1;
    this.context.emit({ type: "message", message, own });
  }

  /**
   * The messages of a page that verify as their authors' (signature and certificate, for this
   * channel); the others are counted and told in one notice.
   */
  async verified(messages: readonly ChatMessage[]): Promise<ChatMessage[]> {
    const verifier = this.context.verifier();
    const reasons: readonly (UnverifiedReason | null)[] =
      verifier === undefined
        ? messages.map(() => "uncertified")
        : await verifier.checkAll(messages, this.name, this.context.verifierPool);
    const kept: ChatMessage[] = [];
    const dropped: Record<UnverifiedReason, number> = { unsigned: 0, uncertified: 0, forged: 0 };
    let any = false;
    for (const [index, message] of messages.entries()) {
      // One verdict per message; a missing one counts as not verified.
      const reason = reasons[index] === undefined ? "forged" : reasons[index];
      if (reason === null) {
        // Shown under the channel it was checked for, whatever the host wrote in the field.
        kept.push(message.channel === this.name ? message : { ...message, channel: this.name });
        continue;
      }
      dropped[reason] += 1;
      this.droppedTotal[reason] += 1;
      any = true;
    }
    if (any) this.tellDropped(dropped);
    return kept;
  }

  private check(message: ChatMessage): UnverifiedReason | null {
    const verifier = this.context.verifier();
    if (verifier === undefined) return "uncertified";
    return verifier.check(message, this.name);
  }

  private takeUntold(): Record<UnverifiedReason, number> {
    const untold = this.droppedUntold;
    this.droppedUntold = { unsigned: 0, uncertified: 0, forged: 0 };
    return untold;
  }

  /** One line for the channel: how many messages were left out, and why. */
  private tellDropped(counts: Record<UnverifiedReason, number>): void {
    const parts = (Object.keys(counts) as UnverifiedReason[])
      .filter((reason) => counts[reason] > 0)
      .map((reason) => `${counts[reason]} ${DROP_REASONS[reason]}`);
    if (parts.length === 0) return;
    this.lastDropNotice = Date.now();
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    this.context.emit({
      type: "notice",
      level: "warn",
      code: "MESSAGES_DROPPED",
      channel: this.name,
      text: `#${this.name}: ${total} message${total === 1 ? "" : "s"} from the host left out, not shown as their authors' (${parts.join(", ")})`,
    });
  }

  /**
   * Persists the position once per turn of the event loop rather than once per message or per
   * `markRead`: a batch of 1,000 incoming messages, each printed and marked read, is one write.
   * A position lost to a crash only means those messages are fetched again on rejoin.
   */
  private schedulePositionSave(): void {
    this.positionSave ??= setImmediate(() => this.savePosition());
  }

  private savePosition(): void {
    clearImmediate(this.positionSave);
    this.positionSave = undefined;
    if (this.lastSeq === null) return;
    this.context.store.savePosition(this.name, {
      lastSeq: this.lastSeq,
      unread: this.unread,
      readSeq: this.readSeq,
    });
  }
}
