import type {
  HostedChannel,
  Identity,
  JoinedChannel,
  OutboxEntry,
  PeerEvent,
  QueueReason,
} from "../../api/index.js";
import type { ChatMessage } from "../../protocol/host-schemas.js";
import type { ChannelListing } from "../../protocol/tracker-schemas.js";
import type { Snapshot } from "../messages.js";

/**
 * The page's whole state and the one reducer that changes it. Pure (no DOM, no sockets), so
 * it is tested under Node like any other module.
 */

export type ConnectionStatus = "connecting" | "open" | "closed";

export type Screen =
  | { name: "directory" }
  | { name: "chat"; channel: string }
  | { name: "settings"; channel: string };

export interface ChannelView {
  info: JoinedChannel;
  /** Stored messages in ascending `seq`, without duplicates. */
  messages: ChatMessage[];
  unread: number;
}

/** An outbox entry not yet acknowledged, and where it waits (see `QueueReason`). */
export interface PendingMessage extends OutboxEntry {
  reason: QueueReason;
}

export interface Toast {
  id: number;
  level: "info" | "warn" | "error";
  text: string;
}

export interface AppState {
  connection: ConnectionStatus;
  /** Whether the first snapshot has arrived since the page connected. */
  ready: boolean;
  identity: Identity | null;
  tracker: "connected" | "disconnected" | "unknown";
  directory: ChannelListing[];
  channels: ChannelView[];
  hosted: HostedChannel[];
  /** Outbox entries not yet acknowledged by their channel's host, as the `queued` events told them. */
  pending: PendingMessage[];
  screen: Screen;
  toasts: Toast[];
  nextToastId: number;
}

export type Action =
  | { type: "connection"; status: ConnectionStatus }
  | { type: "snapshot"; snapshot: Snapshot }
  | { type: "peer"; event: PeerEvent }
  | { type: "navigate"; screen: Screen }
  | { type: "older"; channel: string; messages: ChatMessage[] }
  | { type: "joinedChannel"; channel: JoinedChannel }
  | { type: "directory"; channels: ChannelListing[] }
  | { type: "hostedChannel"; channel: HostedChannel }
  | { type: "invisible"; invisible: boolean }
  | { type: "read"; channel: string }
  | { type: "toast"; level: Toast["level"]; text: string }
  | { type: "dismiss"; id: number };

export const initialState: AppState = {
  connection: "connecting",
  ready: false,
  identity: null,
  tracker: "unknown",
  directory: [],
  channels: [],
  hosted: [],
  pending: [],
  screen: { name: "directory" },
  toasts: [],
  nextToastId: 1,
};

/** Most toasts kept at once; older ones give way. */
export const MAX_TOASTS = 5;

/** Merges message lists into ascending `seq` order; a later copy of a seq replaces an earlier one. */
export function mergeMessages(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return existing;
  const last = existing[existing.length - 1];
  if (
    incoming.length === 1 &&
    incoming[0] !== undefined &&
    (last === undefined || incoming[0].seq > last.seq)
  ) {
    return [...existing, incoming[0]];
  }
  const bySeq = new Map<number, ChatMessage>();
  for (const message of existing) bySeq.set(message.seq, message);
  for (const message of incoming) bySeq.set(message.seq, message);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Pending messages of channels not joined: they go out when the user joins. */
export function pendingNotJoined(state: AppState): PendingMessage[] {
  return state.pending.filter((entry) => entry.reason === "not-joined");
}

/** Whether older messages exist than those loaded: seqs count up from 1 without gaps. */
export function hasOlder(channel: ChannelView): boolean {
  const oldest = channel.messages[0]?.seq ?? channel.info.latestSeq + 1;
  return oldest > 1;
}

export function isViewing(state: AppState, channel: string): boolean {
  return state.screen.name === "chat" && state.screen.channel === channel;
}

export function pendingFor(state: AppState, channel: string): PendingMessage[] {
  return state.pending.filter((entry) => entry.channel === channel).sort((a, b) => a.position - b.position);
}

function toast(state: AppState, level: Toast["level"], text: string): AppState {
  const toasts = [...state.toasts, { id: state.nextToastId, level, text }].slice(-MAX_TOASTS);
  return { ...state, toasts, nextToastId: state.nextToastId + 1 };
}

function updateChannel(
  state: AppState,
  name: string,
  update: (channel: ChannelView) => ChannelView,
): AppState {
  let found = false;
  const channels = state.channels.map((channel) => {
    if (channel.info.name !== name) return channel;
    found = true;
    return update(channel);
  });
  return found ? { ...state, channels } : state;
}

function upsertChannel(state: AppState, info: JoinedChannel, history: ChatMessage[]): AppState {
  const existing = state.channels.find((channel) => channel.info.name === info.name);
  if (existing === undefined) {
    const unread = isViewing(state, info.name) ? 0 : info.unread;
    return {
      ...state,
      channels: [...state.channels, { info, messages: mergeMessages([], history), unread }],
    };
  }
  return updateChannel(state, info.name, (channel) => ({
    ...channel,
    info,
    messages: mergeMessages(channel.messages, history),
  }));
}

function upsertHosted(state: AppState, hosted: HostedChannel): AppState {
  const others = state.hosted.filter((channel) => channel.name !== hosted.name);
  return { ...state, hosted: [...others, hosted].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** A `queued` event: a new pending message, or a known one whose reason changed. */
function queue(state: AppState, entry: OutboxEntry, reason: QueueReason): AppState {
  const others = state.pending.filter((known) => known.msgId !== entry.msgId);
  return { ...state, pending: [...others, { ...entry, reason }] };
}

/** An acknowledged outbox entry becomes a normal message at once; the host's copy replaces it. */
function deliver(state: AppState, channel: string, msgId: string, seq: number): AppState {
  const entry = state.pending.find((known) => known.channel === channel && known.msgId === msgId);
  const pending = state.pending.filter((known) => !(known.channel === channel && known.msgId === msgId));
  const next = { ...state, pending };
  if (entry === undefined || next.identity === null) return next;
  const from = next.identity.username;
  return updateChannel(next, channel, (joined) => {
    if (joined.messages.some((message) => message.seq === seq)) return joined;
    const message: ChatMessage = {
      channel,
      seq,
      msgId,
      from,
      text: entry.text,
      ts: new Date().toISOString(),
      sentAt: entry.sentAt,
      // This user's own copy, from its own outbox: nothing from a host to check.
      sig: null,
      cert: null,
    };
    return { ...joined, messages: mergeMessages(joined.messages, [message]) };
  });
}

const REMOVAL_TEXT: Record<string, (channel: string) => string> = {
  PRIVATE_CHANNEL: (channel) => `#${channel} is now private: you were removed from it.`,
  REVOKED: (channel) => `Your access to #${channel} was revoked.`,
  CHANNEL_CLOSED: (channel) => `#${channel} was closed by its owner.`,
};

function signedOut(state: AppState): AppState {
  return { ...state, identity: null, channels: [], hosted: [], pending: [], screen: { name: "directory" } };
}

function applyEvent(state: AppState, event: PeerEvent): AppState {
  switch (event.type) {
    case "identity":
      if (event.identity === null) return signedOut(state);
      if (state.identity === null) {
        // Signed in at last: the errors of earlier attempts (a wrong password) are no news any more.
        const toasts = state.toasts.filter((item) => item.level !== "error");
        return { ...state, identity: event.identity, toasts };
      }
      return { ...state, identity: event.identity };
    case "tracker":
      return { ...state, tracker: event.state };
    case "directory":
      return { ...state, directory: event.channels };
    case "joined":
      return upsertChannel(state, event.channel, event.history);
    case "left": {
      const channels = state.channels.filter((channel) => channel.info.name !== event.channel);
      const screen = isViewing(state, event.channel) ? ({ name: "directory" } as const) : state.screen;
      const next = { ...state, channels, screen };
      const text = REMOVAL_TEXT[event.reason];
      return text === undefined ? next : toast(next, "warn", text(event.channel));
    }
    case "link":
      return updateChannel(state, event.channel, (channel) => ({
        ...channel,
        info: { ...channel.info, state: event.state },
      }));
    case "message": {
      const { message } = event;
      return updateChannel(state, message.channel, (channel) => {
        const isNew = !channel.messages.some((known) => known.seq === message.seq);
        const unread =
          isNew && !event.own && !isViewing(state, message.channel) ? channel.unread + 1 : channel.unread;
        const latestSeq = Math.max(channel.info.latestSeq, message.seq);
        return {
          info: { ...channel.info, latestSeq },
          messages: mergeMessages(channel.messages, [message]),
          unread,
        };
      });
    }
    case "queued":
      return queue(state, event.entry, event.reason);
    case "delivered":
      return deliver(state, event.channel, event.msgId, event.seq);
    case "dropped":
      // No toast here: the send call waiting for this entry shows its error, and for an entry no
      // call waits for the peer follows with one notice per refusal, so each refusal shows once;
      // a cancelled one was the user's own doing.
      return {
        ...state,
        pending: state.pending.filter(
          (entry) => !(entry.channel === event.channel && entry.msgId === event.msgId),
        ),
      };
    case "presence":
      return updateChannel(state, event.channel, (channel) => {
        const others = channel.info.members.filter((member) => member.username !== event.username);
        const members =
          event.status === "online" ? [...others, { username: event.username, role: event.role }] : others;
        return { ...channel, info: { ...channel.info, members } };
      });
    case "settings": {
      const { view, moderated } = event;
      const next = updateChannel(state, event.channel, (channel) => ({
        ...channel,
        info: { ...channel.info, view, moderated },
      }));
      return {
        ...next,
        hosted: next.hosted.map((hosted) =>
          hosted.name === event.channel ? { ...hosted, view, moderated } : hosted,
        ),
        directory: next.directory.map((listing) =>
          listing.name === event.channel ? { ...listing, view, moderated } : listing,
        ),
      };
    }
    case "hosting":
      return upsertHosted(state, event.channel);
    case "unhosted": {
      const hosted = state.hosted.filter((channel) => channel.name !== event.channel);
      const leavingSettings = state.screen.name === "settings" && state.screen.channel === event.channel;
      return { ...state, hosted, screen: leavingSettings ? { name: "directory" } : state.screen };
    }
    case "notice":
      return toast(
        state,
        event.level,
        event.code === undefined ? event.text : `${event.text} (${event.code})`,
      );
  }
}

export function reduce(state: AppState, action: Action): AppState {
  switch (action.type) {
    case "connection":
      return { ...state, connection: action.status, ready: action.status === "open" ? state.ready : false };
    case "snapshot": {
      const { snapshot } = action;
      const channels = snapshot.joined.map(
        ({ channel, history }): ChannelView => ({
          info: channel,
          messages: mergeMessages([], history),
          unread: channel.unread,
        }),
      );
      const screen = state.screen;
      const screenStillValid =
        screen.name === "directory" ||
        (screen.name === "chat" && channels.some((channel) => channel.info.name === screen.channel)) ||
        (screen.name === "settings" && snapshot.hosted.some((hosted) => hosted.name === screen.channel));
      return {
        ...state,
        ready: true,
        identity: snapshot.identity,
        directory: snapshot.directory,
        channels,
        hosted: [...snapshot.hosted].sort((a, b) => a.name.localeCompare(b.name)),
        // Until the next `queued` event says otherwise, an entry waits for its channel to be joined or reached.
        pending: snapshot.outbox.map((entry) => ({
          ...entry,
          reason: channels.some((channel) => channel.info.name === entry.channel)
            ? "unreachable"
            : "not-joined",
        })),
        screen: screenStillValid ? screen : { name: "directory" },
      };
    }
    case "peer":
      return applyEvent(state, action.event);
    case "navigate": {
      const next = { ...state, screen: action.screen };
      return action.screen.name === "chat"
        ? reduce(next, { type: "read", channel: action.screen.channel })
        : next;
    }
    case "older":
      return updateChannel(state, action.channel, (channel) => ({
        ...channel,
        messages: mergeMessages(channel.messages, action.messages),
      }));
    case "joinedChannel":
      return upsertChannel(state, action.channel, []);
    case "directory":
      return { ...state, directory: action.channels };
    case "hostedChannel":
      return upsertHosted(state, action.channel);
    case "invisible":
      return state.identity === null
        ? state
        : { ...state, identity: { ...state.identity, invisible: action.invisible } };
    case "read":
      return updateChannel(state, action.channel, (channel) => ({ ...channel, unread: 0 }));
    case "toast":
      return toast(state, action.level, action.text);
    case "dismiss":
      return { ...state, toasts: state.toasts.filter((item) => item.id !== action.id) };
  }
}
