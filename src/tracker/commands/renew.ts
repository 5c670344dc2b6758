import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import { requireCurrentDevice } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * RENEW: a fresh ticket for whoever the connection is signed in as, on the same device, so a
 * long-running peer keeps a valid ticket for its reconnects and its CONNECTs to hosts. A guest's
 * name is theirs while this connection holds it; a user must still have an account. Either way
 * the device's tickets must not have been revoked since the connection signed in.
 */
export function renewCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.RENEW>({
    schema: trackerBodySchemas.RENEW,
    signedIn: true,
    handle({ session }): TrackerOkBodies["RENEW"] {
      const identity = session.identity;
      if (identity === undefined) throw wireError("NOT_SIGNED_IN", "RENEW needs a signed-in connection");
      let username = identity.username;
      if (identity.role === "user") {
        const account = tracker.store.findAccount(identity.username);
        if (account === undefined) throw wireError("BAD_TICKET", "the signed-in account does not exist");
        username = account.username;
      }
      requireCurrentDevice(tracker, identity);
      return tracker.issueTicket(username, identity.role, {
        key: identity.key,
        dev: identity.device,
        gen: identity.gen,
      });
    },
  });
}
