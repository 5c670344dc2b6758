import { nowSeconds } from "../../auth/tickets.js";
import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * REVOCATIONS: every revocation still in force (those that ended are deleted first), and from now
 * on each new one, pushed to this connection as `REVOKED` while it stays open and signed in.
 */
export function revocationsCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.REVOCATIONS>({
    schema: trackerBodySchemas.REVOCATIONS,
    signedIn: true,
    handle({ session }): TrackerOkBodies["REVOCATIONS"] {
      // In the same turn as the answer: no revocation falls between the list and the events.
      const revocations = tracker.store.liveRevocations(nowSeconds());
      tracker.subscribeRevocations(session);
      return { revocations };
    },
  });
}
