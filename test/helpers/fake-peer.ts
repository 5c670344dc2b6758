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
} from "../../src/api/index.js";
import type { ErrorCode } from "../../src/protocol/codes.js";
import { wireError } from "../../src/protocol/errors.js";
import type { ChatMessage, MemberInfo } from "../../src/protocol/host-schemas.js";
import type { ChannelListing, Role, View } from "../../src/protocol/tracker-schemas.js";

/** One call as the GUI bridge tests compare it. */
export interface RecordedCall {
  method: string;
  args: unknown[];
}

/**
 * A test double of the peer facade: an in-memory directory and channels, no sockets. Every call that
 * asks the peer to act (not the getters of its current state) is recorded in `calls`, in the form the
 * suite's `formatCall` gives it. `reachable = false` makes sends go to the outbox until
 * `deliverOutbox()` (or `refuseOutbox()`); `refusal` makes the host refuse every send, as a moderated
 * channel would.
 */
export class FakePeer<Call> implements PeerApi {
  identity: Identity | null = null;
  readonly calls: Call[] = [];
  readonly directory: ChannelListing[] = [];
  readonly listeners = new Set<PeerEventListener>();
  reachable = true;
  /** When set, the host refuses each send with this error (the entry is dropped, the call rejects). */
  refusal: { code: ErrorCode; message: string } | null = null;
  /** When set, every join rejects with this error. */
  joinFailure: Error | null = null;
  /** When false, `host()` answers without the `hosting` event. */
  announceHosting = true;
  /** After `holdNextSend()`, resolves once that send waits for `releaseSend()`. */
  sendHeld: Promise<void> = Promise.resolve();
  releaseSend: () => void = () => undefined;
  private holdSend = false;
  private onSendHeld: () => void = () => undefined;
  private onUnsubscribe: (() => void) | undefined;
  private readonly joined = new Map<string, JoinedChannel>();
  private readonly messages = new Map<string, ChatMessage[]>();
  private readonly hosted = new Map<string, HostedChannel>();
  private readonly pending: OutboxEntry[] = [];
  /** Per channel, the lowest seq shown so far: where paging back continues. */
  private readonly oldestSeen = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly formatCall: (method: string, args: unknown[]) => Call) {}

  /** Makes the next `send` wait for `releaseSend()`. */
  holdNextSend(): void {
    this.holdSend = true;
    this.sendHeld = new Promise((resolve) => {
      this.onSendHeld = resolve;
    });
  }

  /** Resolves when the next listener unsubscribes. */
  nextUnsubscribe(): Promise<void> {
    return new Promise((resolve) => {
      this.onUnsubscribe = resolve;
    });
  }

  subscribe(listener: PeerEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.onUnsubscribe?.();
    };
  }

  emit(event: PeerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async signUp(username: string, password: string): Promise<Identity> {
    this.record("signUp", username, password);
    return this.setIdentity({ username, role: "user", invisible: false });
  }

  async signIn(username: string, password: string): Promise<Identity> {
    this.record("signIn", username, password);
    if (password !== "secret-password") throw wireError("BAD_CREDENTIALS", "wrong username or password");
    return this.setIdentity({ username, role: "user", invisible: false });
  }

  async guest(name?: string): Promise<Identity> {
    this.record("guest", name);
    return this.setIdentity({ username: `guest-${name ?? "x1"}`, role: "guest", invisible: false });
  }

  async signOut(): Promise<void> {
    this.record("signOut");
    this.joined.clear();
    this.identity = null;
    this.emit({ type: "identity", identity: null });
  }

  async listChannels(): Promise<ChannelListing[]> {
    this.record("listChannels");
    return this.directory;
  }

  async onlineUsers(): Promise<{ username: string; role: Role }[]> {
    return this.identity === null ? [] : [{ username: this.identity.username, role: this.identity.role }];
  }

  async setInvisible(invisible: boolean): Promise<void> {
    this.record("setInvisible", invisible);
    if (this.identity === null) throw wireError("NOT_SIGNED_IN", "sign in first");
    this.setIdentity({ ...this.identity, invisible }, false);
  }

  async host(channel: string, settings?: { view?: View; moderated?: boolean }): Promise<HostedChannel> {
    this.record("host", channel, settings);
    const hosted: HostedChannel = {
      name: channel,
      view: settings?.view ?? "public",
      moderated: settings?.moderated ?? false,
      address: { host: "127.0.0.1", port: 40000 },
      fingerprint: `sha256:${"ab".repeat(32)}`,
      listed: true,
      reach: "direct",
      members: 0,
    };
    this.hosted.set(channel, hosted);
    if (this.announceHosting) this.emit({ type: "hosting", channel: hosted });
    return hosted;
  }

  async unhost(channel: string): Promise<void> {
    this.record("unhost", channel);
    if (!this.hosted.delete(channel)) throw wireError("NO_SUCH_CHANNEL", `no channel ${channel}`);
    this.emit({ type: "unhosted", channel });
  }

  hostedChannels(): HostedChannel[] {
    return [...this.hosted.values()];
  }

  async join(name: string): Promise<JoinedChannel> {
    this.record("join", name);
    if (this.joinFailure !== null) throw this.joinFailure;
    const listing = this.directory.find((item) => item.name === name);
    if (listing === undefined) throw wireError("NO_SUCH_CHANNEL", `no channel ${name}`);
    const history = this.messages.get(name) ?? [];
    const channel: JoinedChannel = {
      name,
      owner: listing.owner,
      view: listing.view,
      moderated: listing.moderated,
      role: this.identity?.role ?? "guest",
      state: this.reachable ? "online" : "unreachable",
      members: [],
      lastSeq: history.length,
      latestSeq: history.length,
      unread: 0,
      pending: 0,
    };
    this.joined.set(name, channel);
    const recent = history.slice(-50);
    this.oldestSeen.set(name, recent[0]?.seq ?? history.length + 1);
    this.emit({ type: "joined", channel, history: recent });
    if (this.reachable) this.deliverOutbox();
    return channel;
  }

  async leave(channel: string): Promise<void> {
    this.record("leave", channel);
    if (!this.joined.delete(channel)) throw wireError("NOT_JOINED", `not in ${channel}`);
    this.emit({ type: "left", channel, reason: "user" });
  }

  joinedChannels(): JoinedChannel[] {
    return [...this.joined.values()];
  }

  markRead(channel: string): void {
    this.record("markRead", channel);
  }

  async send(channel: string, text: string): Promise<SendOutcome> {
    this.record("send", channel, text);
    if (this.holdSend) {
      this.holdSend = false;
      const released = new Promise<void>((resolve) => {
        this.releaseSend = resolve;
      });
      this.onSendHeld();
      await released;
    }
    if (this.identity?.role !== "user") throw wireError("GUEST_READ_ONLY", "guests can only read");
    const msgId = `m${this.nextId++}`;
    const entry = { channel, msgId, text, sentAt: new Date().toISOString(), position: this.pending.length };
    if (!this.joined.has(channel) || !this.reachable) {
      // As the real peer does: the entry waits in the outbox, and says why.
      const reason = this.joined.has(channel) ? "unreachable" : "not-joined";
      this.pending.push(entry);
      this.emit({ type: "queued", entry, reason });
      return { msgId, status: "queued", reason };
    }
    this.emit({ type: "queued", entry, reason: "sending" });
    if (this.refusal !== null) {
      // As the real peer does: the entry passes through the outbox, is dropped, and the call rejects.
      const { code, message } = this.refusal;
      this.emit({ type: "dropped", channel, msgId, reason: "refused", code, message });
      throw wireError(code, message);
    }
    const seq = (this.messages.get(channel)?.length ?? 0) + 1;
    this.emit({ type: "delivered", channel, msgId, seq });
    this.store(channel, msgId, text);
    return { msgId, status: "delivered", seq };
  }

  async cancelPending(msgId: string): Promise<void> {
    this.record("cancelPending", msgId);
    const index = this.pending.findIndex((entry) => entry.msgId === msgId);
    const entry = this.pending[index];
    if (entry === undefined) throw wireError("BAD_REQUEST", "no pending message with that id");
    this.pending.splice(index, 1);
    const { channel } = entry;
    this.emit({
      type: "dropped",
      channel,
      msgId,
      reason: "cancelled",
      code: "CANCELLED",
      message: "cancelled",
    });
  }

  /** Acknowledges every outbox entry of a joined channel as its host would: `delivered`, then the `MESSAGE` event. */
  deliverOutbox(): void {
    const deliverable = this.pending.filter((entry) => this.joined.has(entry.channel));
    this.pending.splice(
      0,
      this.pending.length,
      ...this.pending.filter((entry) => !deliverable.includes(entry)),
    );
    for (const entry of deliverable) {
      const seq = (this.messages.get(entry.channel)?.length ?? 0) + 1;
      this.emit({ type: "delivered", channel: entry.channel, msgId: entry.msgId, seq });
      this.store(entry.channel, entry.msgId, entry.text);
    }
  }

  /** Refuses every outbox entry as its host would: `dropped` each, then one notice, as no send waits. */
  refuseOutbox(code: ErrorCode, message: string): void {
    const refused = this.pending.splice(0);
    for (const entry of refused) {
      const { channel, msgId } = entry;
      this.emit({ type: "dropped", channel, msgId, reason: "refused", code, message });
    }
    this.emit({
      type: "notice",
      level: "error",
      code,
      text: `${refused.length} queued message(s) refused by the host and dropped: ${message}`,
    });
  }

  /** A message from someone else, as its host would broadcast it. */
  receive(channel: string, from: string, text: string): void {
    const list = this.messages.get(channel) ?? [];
    const message = this.makeMessage(channel, `r${this.nextId++}`, from, text, list.length + 1);
    list.push(message);
    this.messages.set(channel, list);
    this.emit({ type: "message", message, own: false });
  }

  outbox(channel?: string): OutboxEntry[] {
    return this.pending.filter((entry) => channel === undefined || entry.channel === channel);
  }

  async history(channel: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    this.record("history", channel, options);
    const before = options.before ?? this.oldestSeen.get(channel) ?? 1;
    const list = (this.messages.get(channel) ?? []).filter((m) => m.seq < before);
    const limit = options.limit ?? 50;
    const page = list.slice(-limit);
    if (options.before === undefined && page[0] !== undefined) this.oldestSeen.set(channel, page[0].seq);
    return { messages: page, hasMore: list.length > limit };
  }

  members(): MemberInfo[] {
    return [];
  }

  async setView(
    channel: string,
    view: View,
    moderated?: boolean,
  ): Promise<{ view: View; moderated: boolean }> {
    this.record("setView", channel, view, moderated);
    const hosted = this.hosted.get(channel);
    if (hosted === undefined) throw wireError("NOT_OWNER", `you do not own ${channel}`);
    hosted.view = view;
    hosted.moderated = moderated ?? hosted.moderated;
    this.emit({ type: "settings", channel, view, moderated: hosted.moderated });
    return { view, moderated: hosted.moderated };
  }

  async authorize(channel: string, username: string, grant: boolean): Promise<string[]> {
    this.record("authorize", channel, username, grant);
    return grant ? [username] : [];
  }

  async channelInfo(channel: string): Promise<ChannelInfo> {
    return { channel, latestSeq: this.messages.get(channel)?.length ?? 0 };
  }

  async debugInfo(): Promise<DebugInfo> {
    return {
      client: { joined: this.joined.size },
      host: { hosted: this.hosted.size },
      tracker: { error: "not connected" },
    };
  }

  async close(): Promise<void> {
    this.record("close");
    this.listeners.clear();
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push(this.formatCall(method, args));
  }

  /** As the real peer does at sign-in: `identity`, then a `queued` event for each entry left in the outbox. */
  private setIdentity(identity: Identity, signingIn = true): Identity {
    this.identity = identity;
    this.emit({ type: "identity", identity });
    if (signingIn) {
      for (const entry of [...this.pending]) {
        this.emit({
          type: "queued",
          entry,
          reason: this.joined.has(entry.channel) ? "unreachable" : "not-joined",
        });
      }
    }
    return identity;
  }

  private store(channel: string, msgId: string, text: string): ChatMessage {
    const list = this.messages.get(channel) ?? [];
    const message = this.makeMessage(channel, msgId, this.identity?.username ?? "?", text, list.length + 1);
    list.push(message);
    this.messages.set(channel, list);
    this.emit({ type: "message", message, own: true });
    return message;
  }

  private makeMessage(channel: string, msgId: string, from: string, text: string, seq: number): ChatMessage {
    const ts = new Date(Date.UTC(2026, 0, 2, 9, 30, 0, 0)).toISOString();
    return { channel, seq, msgId, from, text, ts, sentAt: null, sig: null, cert: null };
  }
}
