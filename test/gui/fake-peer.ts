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
} from "../../src/peer/types.js";
import { wireError } from "../../src/protocol/errors.js";
import type { ChatMessage, MemberInfo } from "../../src/protocol/host-schemas.js";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";

/** An in-memory PeerApi for bridge tests: records calls, answers from fixed state, emits on demand. */
export class FakePeer implements PeerApi {
  identity: Identity | null = { username: "alice", role: "user", invisible: false };
  readonly calls: { method: string; args: unknown[] }[] = [];
  readonly listeners = new Set<PeerEventListener>();
  directory: ChannelListing[] = [
    {
      name: "lobby",
      owner: "alice",
      view: "public",
      moderated: false,
      online: true,
      address: null,
      members: 1,
    },
  ];
  joined: JoinedChannel[] = [
    {
      name: "lobby",
      owner: "alice",
      view: "public",
      moderated: false,
      role: "user",
      state: "online",
      members: [{ username: "alice", role: "user" }],
      lastSeq: 2,
      latestSeq: 2,
      unread: 0,
      pending: 0,
    },
  ];
  /** A `send` of the text "hold" waits for `releaseSend`; `sendHeld` resolves once one is waiting. */
  releaseSend: () => void = () => undefined;
  sendHeld: Promise<void> = Promise.resolve();
  private onSendHeld: () => void = () => undefined;
  private onUnsubscribe: (() => void) | undefined;

  holdNextSend(): void {
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

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  async signUp(username: string, password: string): Promise<Identity> {
    this.record("signUp", username, password);
    if (password.length < 8) throw wireError("WEAK_PASSWORD", "password must have at least 8 characters");
    return { username, role: "user", invisible: false };
  }
  async signIn(username: string, password: string): Promise<Identity> {
    this.record("signIn", username, password);
    throw wireError("BAD_CREDENTIALS", "wrong username or password");
  }
  async guest(name?: string): Promise<Identity> {
    this.record("guest", name);
    return { username: `guest-${name ?? "x"}`, role: "guest", invisible: false };
  }
  async signOut(): Promise<void> {
    this.record("signOut");
  }
  async listChannels(): Promise<ChannelListing[]> {
    this.record("listChannels");
    return this.directory;
  }
  async onlineUsers(): Promise<{ username: string; role: "user" | "guest" }[]> {
    return [];
  }
  async setInvisible(invisible: boolean): Promise<void> {
    this.record("setInvisible", invisible);
  }
  async host(
    channel: string,
    settings?: { view?: "public" | "private"; moderated?: boolean },
  ): Promise<HostedChannel> {
    this.record("host", channel, settings);
    return {
      name: channel,
      view: settings?.view ?? "public",
      moderated: false,
      address: null,
      listed: true,
      members: 0,
    };
  }
  async unhost(channel: string): Promise<void> {
    this.record("unhost", channel);
  }
  hostedChannels(): HostedChannel[] {
    return [];
  }
  async join(channel: string): Promise<JoinedChannel> {
    this.record("join", channel);
    throw new Error("plain failure without a code");
  }
  async leave(channel: string): Promise<void> {
    this.record("leave", channel);
  }
  joinedChannels(): JoinedChannel[] {
    return this.joined;
  }
  markRead(channel: string): void {
    this.record("markRead", channel);
  }
  async send(channel: string, text: string): Promise<SendOutcome> {
    this.record("send", channel, text);
    if (text === "hold") {
      const released = new Promise<void>((resolve) => {
        this.releaseSend = resolve;
      });
      this.onSendHeld();
      await released;
    }
    return { msgId: "m1", status: "delivered", seq: 3 };
  }
  outbox(channel?: string): OutboxEntry[] {
    this.record("outbox", channel);
    return [];
  }
  async history(channel: string, options?: { before?: number; limit?: number }): Promise<HistoryPage> {
    this.record("history", channel, options);
    const message = (seq: number): ChatMessage => ({
      channel,
      seq,
      msgId: `m${seq}`,
      from: "alice",
      text: `hello ${seq}`,
      ts: "2026-11-25T09:30:00.123Z",
      sentAt: null,
    });
    return { messages: [message(1), message(2)], hasMore: false };
  }
  members(channel: string): MemberInfo[] {
    this.record("members", channel);
    return [];
  }
  async setView(channel: string, view: "public" | "private", moderated?: boolean) {
    this.record("setView", channel, view, moderated);
    return { view, moderated: moderated ?? false };
  }
  async authorize(channel: string, username: string, grant: boolean): Promise<string[]> {
    this.record("authorize", channel, username, grant);
    return grant ? [username] : [];
  }
  async channelInfo(channel: string): Promise<ChannelInfo> {
    return { channel };
  }
  async debugInfo(): Promise<DebugInfo> {
    return { client: {}, host: {}, tracker: { error: "none" } };
  }
  async close(): Promise<void> {
    this.record("close");
  }
}
