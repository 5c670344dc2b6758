import type { ChatMessage, MemberInfo } from "../protocol/host-schemas.js";
import type {
  Address,
  ChannelListing,
  Reach,
  Role,
  TrackerOkBodies,
  View,
} from "../protocol/tracker-schemas.js";
import type { PeerEventListener } from "./events.js";

/**
 * The peer facade's contract: the one API that the CLI and the GUI both drive. Neither of them
 * touches a socket; everything goes through a `PeerApi` and its event stream.
 */

export interface Identity {
  username: string;
  role: Role;
  invisible: boolean;
}

/** How a joined channel's host is reachable from here right now. */
export type LinkState = "connecting" | "online" | "unreachable";

export interface JoinedChannel {
  name: string;
  owner: string;
  view: View;
  moderated: boolean;
  /** This user's role in the channel. */
  role: Role;
  state: LinkState;
  /** Visible members (invisible ones are left out, except for the owner's own view via `channelInfo`). */
  members: MemberInfo[];
  /** Highest seq this peer has seen, persisted so a rejoin asks with `since`. */
  lastSeq: number;
  latestSeq: number;
  /** Messages that arrived since the channel was last marked read (`markRead`). */
  unread: number;
  /** Outbox entries for this channel not yet acknowledged by its host. */
  pending: number;
}

export interface HostedChannel {
  name: string;
  view: View;
  moderated: boolean;
  address: Address | null;
  /** The fingerprint of the certificate members check, as the tracker lists it. */
  fingerprint: string;
  /** Listed on the tracker right now (false while the liveness link is down). */
  listed: boolean;
  /** How members reach it, as the tracker measured (`direct` or through its `relay`); null while unlisted. */
  reach: Reach | null;
  members: number;
}

/** A message waiting in the on-disk outbox until its channel's host acknowledges it. */
export interface OutboxEntry {
  channel: string;
  msgId: string;
  text: string;
  sentAt: string;
  /** Order of the entry in this peer's outbox (per channel, ascending). */
  position: number;
}

/**
 * Where an outbox entry waits: `sending` to its host right now, its host `unreachable` (or the
 * channel still connecting), or the channel `not-joined`: it goes out when the user joins it.
 */
export type QueueReason = "sending" | "unreachable" | "not-joined";

export interface SendOutcome {
  msgId: string;
  /** `delivered`: acknowledged by the host (seq known); `queued`: kept in the outbox. */
  status: "delivered" | "queued";
  seq?: number;
  /** Why a `queued` message waits. */
  reason?: QueueReason;
}

export interface HistoryPage {
  messages: ChatMessage[];
  hasMore: boolean;
}

export type ChannelInfo = Record<string, unknown>;

export interface DebugInfo {
  client: Record<string, unknown>;
  host: Record<string, unknown>;
  tracker: TrackerOkBodies["RET_INFO"] | { error: string };
}

export interface PeerApi {
  readonly identity: Identity | null;
  /** Subscribes to the event stream; returns the unsubscribe function. */
  subscribe(listener: PeerEventListener): () => void;

  signUp(username: string, password: string): Promise<Identity>;
  signIn(username: string, password: string): Promise<Identity>;
  guest(name?: string): Promise<Identity>;
  /** Leaves every channel, stops hosting and forgets the saved ticket. */
  signOut(): Promise<void>;

  /** Asks the tracker for the directory (also pushed as `directory` events when it changes). */
  listChannels(): Promise<ChannelListing[]>;
  onlineUsers(): Promise<{ username: string; role: Role }[]>;
  setInvisible(invisible: boolean): Promise<void>;

  /** Starts serving a channel from this peer; resolves once the tracker lists it. */
  host(channel: string, settings?: { view?: View; moderated?: boolean }): Promise<HostedChannel>;
  unhost(channel: string): Promise<void>;
  hostedChannels(): HostedChannel[];

  /** Joins (or keeps trying to join, while its host is unreachable) and remembers the channel. */
  join(channel: string): Promise<JoinedChannel>;
  leave(channel: string): Promise<void>;
  joinedChannels(): JoinedChannel[];
  markRead(channel: string): void;

  /**
   * Sends now when the channel is joined and its host reachable, else keeps it in the outbox (for a
   * channel not joined yet, until the user joins it); never loses it. See `PeerEvent` for the events.
   */
  send(channel: string, text: string): Promise<SendOutcome>;
  /** Entries not yet acknowledged, of one channel or of all, oldest first. */
  outbox(channel?: string): OutboxEntry[];
  /**
   * Discards one outbox entry (`dropped` with `reason: "cancelled"` follows); `BAD_REQUEST` when
   * there is none with that id, or its channel is online and so delivering it right now.
   */
  cancelPending(msgId: string): Promise<void>;
  /** Older messages: the page before `before` (default: before the oldest one seen). */
  history(channel: string, options?: { before?: number; limit?: number }): Promise<HistoryPage>;
  members(channel: string): MemberInfo[];

  setView(channel: string, view: View, moderated?: boolean): Promise<{ view: View; moderated: boolean }>;
  authorize(channel: string, username: string, grant: boolean): Promise<string[]>;
  channelInfo(channel: string): Promise<ChannelInfo>;
  debugInfo(): Promise<DebugInfo>;

  /** Closes every connection, server, timer and database; settles every pending call. */
  close(): Promise<void>;
}
