import { command } from "../../protocol/dispatcher.js";
import { DEFAULT_PAGE, type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { type HostContext, joinedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";

/** `HISTORY`: one page of stored messages in ascending seq (docs/protocol.md says which page). */
export function historyCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.HISTORY>({
    schema: hostBodySchemas.HISTORY,
    handle({ session }, body): HostOkBodies["HISTORY"] {
      const channel = joinedChannel(context, session, body.channel);
      return context.store.page(channel.name, {
        before: body.before,
        after: body.after,
        limit: body.limit ?? DEFAULT_PAGE,
      });
    },
  });
}
