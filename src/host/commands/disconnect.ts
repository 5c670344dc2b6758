import { command } from "../../protocol/dispatcher.js";
import { hostBodySchemas } from "../../protocol/host-schemas.js";
import { type HostContext, joinedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { leaveChannel } from "../membership.js";

/** `DISCONNECT`: leave one channel; the connection stays open for its other channels. */
export function disconnectCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.DISCONNECT>({
    schema: hostBodySchemas.DISCONNECT,
    handle({ session }, body) {
      leaveChannel(context, joinedChannel(context, session, body.channel), session);
      return {};
    },
  });
}
