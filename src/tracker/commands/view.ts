import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { ownedChannel } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** VIEW: the host reports its channel's settings; LIST and a `CHANNELS` event show them from now on. */
export function viewCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.VIEW>({
    schema: trackerBodySchemas.VIEW,
    signedIn: true,
    handle({ session }, { channel, view, moderated }): TrackerOkBodies["VIEW"] {
      const record = ownedChannel(tracker, session, channel);
      const next = { ...record, view, moderated: moderated ?? record.moderated };
      tracker.store.saveChannel(next);
      if (next.view !== record.view || next.moderated !== record.moderated)
        tracker.broadcastChannel(record.name);
      return {};
    },
  });
}
