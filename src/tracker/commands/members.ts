import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { ownedChannel } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** MEMBERS: the host reports how many visible members are online; an offline channel lists 0. */
export function membersCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.MEMBERS>({
    schema: trackerBodySchemas.MEMBERS,
    signedIn: true,
    handle({ session }, { channel, count }): TrackerOkBodies["MEMBERS"] {
      const record = ownedChannel(tracker, session, channel);
      const link = tracker.state.link(record.name);
      if (link !== undefined) link.members = count;
      return {};
    },
  });
}
