import type { RemovalCode } from "../protocol/codes.js";
import type { ChannelState, PresenceChange } from "./channel.js";
import type { HostContext } from "./context.js";
import { broadcastEvent } from "./fanout.js";
import type { MemberConnection } from "./member-connection.js";

/** Joining, leaving, eviction and invisibility, with the presence events they cause. */

function announce(channel: ChannelState, change: PresenceChange | undefined, except: MemberConnection): void {
  if (change === undefined) return;
  broadcastEvent(
    channel.members,
    "PRESENCE",
    { channel: channel.name, username: change.username, role: change.role, status: change.status },
    except,
  );
}

export function joinChannel(context: HostContext, channel: ChannelState, session: MemberConnection): void {
  if (channel.members.has(session)) return;
  session.channels.add(channel.name);
  announce(channel, channel.add(session), session);
  context.membersChanged(channel);
}

export function leaveChannel(context: HostContext, channel: ChannelState, session: MemberConnection): void {
  session.channels.delete(channel.name);
  if (!channel.members.has(session)) return;
  announce(channel, channel.remove(session), session);
  context.membersChanged(channel);
}

/** Takes a connection out of a channel and tells it why with `REMOVED`; it receives nothing more from it. */
export function evict(
  context: HostContext,
  channel: ChannelState,
  session: MemberConnection,
  code: RemovalCode,
): void {
  leaveChannel(context, channel, session);
  session.connection.event("REMOVED", { channel: channel.name, code });
}

/** Leaves every channel of a connection that went away. */
export function leaveAll(context: HostContext, session: MemberConnection): void {
  for (const name of [...session.channels]) {
    const channel = context.channel(name);
    if (channel === undefined) session.channels.delete(name);
    else leaveChannel(context, channel, session);
  }
}

/** Sets a connection's invisibility in every channel it joined: `PRESENCE` offline, or online again. */
export function setInvisible(context: HostContext, session: MemberConnection, invisible: boolean): void {
  if (session.invisible === invisible) return;
  session.invisible = invisible;
  for (const name of session.channels) {
    const channel = context.channel(name);
    if (channel === undefined) continue;
    const change = channel.visibilityChanged(session);
    if (change === undefined) continue;
    announce(channel, change, session);
    context.membersChanged(channel);
  }
}

/** Takes every connection out of a channel that stops being hosted, with `REMOVED` `CHANNEL_CLOSED`. */
export function closeChannel(channel: ChannelState): void {
  channel.closed = true;
  for (const session of channel.members) {
    session.channels.delete(channel.name);
    session.connection.event("REMOVED", { channel: channel.name, code: "CHANNEL_CLOSED" });
  }
  channel.members.clear();
}
