import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import { revokeDevice } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * SIGNOUT: revokes every ticket of the connection's device (subscribers get the revocation as
 * `REVOKED`), then the connection is no longer signed in, and no longer sent revocations.
 */
export function signoutCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.SIGNOUT>({
    schema: trackerBodySchemas.SIGNOUT,
    signedIn: true,
    handle({ session }): TrackerOkBodies["SIGNOUT"] {
      const identity = session.identity;
      if (identity === undefined) throw wireError("NOT_SIGNED_IN", "SIGNOUT needs a signed-in connection");
      revokeDevice(tracker, identity);
      tracker.state.signOut(session);
      tracker.unsubscribeRevocations(session);
      return {};
    },
  });
}
