import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** ONLINE: users and guests with an open signed-in connection, invisible users left out. */
export function onlineCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.ONLINE>({
    schema: trackerBodySchemas.ONLINE,
    signedIn: true,
    handle(): TrackerOkBodies["ONLINE"] {
      return { users: tracker.state.visibleUsers() };
    },
  });
}
