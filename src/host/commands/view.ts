import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { applySettings } from "../channel-settings.js";
import { type HostContext, identityOf, ownedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";

/** `VIEW`: the owner switches a channel public/private and moderated or not (`moderated` omitted: unchanged). */
export function viewCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.VIEW>({
    schema: hostBodySchemas.VIEW,
    signedIn: true,
    handle({ session }, body): HostOkBodies["VIEW"] {
      const channel = ownedChannel(context, identityOf(session), body.channel);
      applySettings(context, channel, body.view, body.moderated ?? channel.moderated);
      return { view: channel.view, moderated: channel.moderated };
    },
  });
}
