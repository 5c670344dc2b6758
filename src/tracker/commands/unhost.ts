import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { ownedChannel } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** UNHOST: removes the owner's channel from the directory and frees its name. */
export function unhostCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.UNHOST>({
    schema: trackerBodySchemas.UNHOST,
    signedIn: true,
    handle({ session }, { channel }): TrackerOkBodies["UNHOST"] {
      const record = ownedChannel(tracker, session, channel);
      tracker.store.deleteChannel(record.name);
      tracker.state.removeLink(record.name);
      tracker.broadcastChannel(record.name);
      return {};
    },
  });
}
