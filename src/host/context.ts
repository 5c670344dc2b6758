import { wireError } from "../protocol/errors.js";
import type { ChannelState } from "./channel.js";
import type { HistoryStore } from "./history-store.js";
import type { HostIdentity, MemberConnection } from "./member-connection.js";
import type { MessageBatcher } from "./message-batcher.js";
import type { SendAllowance } from "./send-allowance.js";
import type { TicketVerifier } from "./ticket-verifier.js";

/** What the command handlers of a host share. */
export interface HostContext {
  readonly store: HistoryStore;
  readonly verifier: TicketVerifier;
  readonly batcher: MessageBatcher;
  readonly sendAllowance: SendAllowance;
  /** `Date.now()` when the host started. */
  readonly startedAt: number;
  channel(name: string): ChannelState | undefined;
  /** A channel's visible members may have changed: report them to the tracker and the host's owner. */
  membersChanged(channel: ChannelState): void;
  /** A channel's view or moderation changed: store it, tell the tracker and the host's owner. */
  settingsChanged(channel: ChannelState): void;
}

/** The channel `name` if this session joined it; `NOT_JOINED` otherwise. */
export function joinedChannel(context: HostContext, session: MemberConnection, name: string): ChannelState {
  const channel = context.channel(name);
  if (channel === undefined || !channel.members.has(session)) {
    throw wireError("NOT_JOINED", `this connection has not joined ${name}`);
  }
  return channel;
}

/** The identity of a session that joined a channel (joining sets it). */
export function identityOf(session: MemberConnection): HostIdentity {
  if (session.identity === undefined)
    throw wireError("NOT_SIGNED_IN", "this connection has not connected yet");
  return session.identity;
}

/** The channel `name` if `identity` owns it: `NO_SUCH_CHANNEL` or `NOT_OWNER` otherwise. */
export function ownedChannel(context: HostContext, identity: HostIdentity, name: string): ChannelState {
  const channel = context.channel(name);
  if (channel === undefined) throw wireError("NO_SUCH_CHANNEL", `${name} is not hosted here`);
  if (!channel.isOwner(identity.username)) throw wireError("NOT_OWNER", `only ${channel.owner} may do that`);
  return channel;
}
