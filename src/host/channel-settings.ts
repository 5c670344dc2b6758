import type { View } from "../protocol/tracker-schemas.js";
import type { ChannelState } from "./channel.js";
import type { HostContext } from "./context.js";
import { broadcastEvent } from "./fanout.js";
import { evict } from "./membership.js";

/**
 * Changes a channel's view and moderation: stores them, removes every member who may no longer see
 * the channel (`REMOVED` `PRIVATE_CHANNEL`), sends `CHANNEL` to the others and reports the change.
 * Returns false when nothing changed.
 */
export function applySettings(
  context: HostContext,
  channel: ChannelState,
  view: View,
  moderated: boolean,
): boolean {
  if (channel.view === view && channel.moderated === moderated) return false;
  context.store.updateChannel(channel.name, view, moderated);
  channel.view = view;
  channel.moderated = moderated;
  for (const member of [...channel.members]) {
    if (member.identity !== undefined && !channel.mayView(member.identity)) {
      evict(context, channel, member, "PRIVATE_CHANNEL");
    }
  }
  broadcastEvent(channel.members, "CHANNEL", { channel: channel.name, view, moderated });
  context.settingsChanged(channel);
  return true;
}
