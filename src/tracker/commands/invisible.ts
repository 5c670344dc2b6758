import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { requireUser } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * INVISIBLE: hides the user from ONLINE, and their peer's comings and goings from LIST (remembered
 * across restarts and returned by SIGNIN). Going visible lists offline the channels kept listed
 * only for that.
 */
export function invisibleCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.INVISIBLE>({
    schema: trackerBodySchemas.INVISIBLE,
    signedIn: true,
    handle({ session }, { invisible }): TrackerOkBodies["INVISIBLE"] {
      const user = requireUser(session, "GUESTS_CANNOT_HIDE", "guests cannot go invisible");
      tracker.store.setInvisible(user.username, invisible);
      for (const channel of tracker.state.setInvisible(user.username, invisible))
        tracker.broadcastChannel(channel);
      return { invisible };
    },
  });
}
