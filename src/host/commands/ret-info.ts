import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { type HostContext, identityOf, joinedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";

/** `RET_INFO`: channel information; the owner also sees invisible members, authorizations and host stats. */
export function retInfoCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.RET_INFO>({
    schema: hostBodySchemas.RET_INFO,
    handle({ session }, body): HostOkBodies["RET_INFO"] {
      const channel = joinedChannel(context, session, body.channel);
      const common = {
        channel: channel.name,
        owner: channel.owner,
        view: channel.view,
        moderated: channel.moderated,
        latestSeq: context.store.latestSeq(channel.name),
      };
      if (!channel.isOwner(identityOf(session).username)) {
        return { ...common, members: channel.visibleMembers() };
      }
      let queuedBytes = 0;
      for (const member of channel.members) queuedBytes += member.connection.queuedBytes;
      return {
        ...common,
        members: channel.allMembers(),
        authorized: channel.authorizedNames(),
        storedCount: context.store.storedCount(channel.name),
        queuedBytes,
        uptimeS: Math.floor((Date.now() - context.startedAt) / 1000),
      };
    },
  });
}
