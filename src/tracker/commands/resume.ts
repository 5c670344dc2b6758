import { verifyTicket } from "../../auth/tickets.js";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import { checkTrackerProof, requireCurrentDevice } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * RESUME: signs the connection in as the holder of a ticket this tracker signed, who proves it by
 * signing this connection's challenge with the ticket's key, and hands out a fresh ticket for the
 * same identity and device, so a peer that reconnects now and then never sees its expire. A user's
 * ticket must be of the device's current generation and key (else it was revoked). A guest's
 * ticket is refused while another key's connection holds the name.
 */
export function resumeCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.RESUME>({
    schema: trackerBodySchemas.RESUME,
    handle({ session }, { ticket, proof }): TrackerOkBodies["RESUME"] {
      const payload = verifyTicket(ticket, tracker.identity.publicKey, tracker.identity.issuer);
      checkTrackerProof(tracker, session, "RESUME", payload.key, proof);
      let username = payload.sub;
      let invisible = false;
      if (payload.role === "user") {
        const account = tracker.store.findAccount(payload.sub);
        if (account === undefined) throw wireError("BAD_TICKET", "the ticket's account does not exist");
        username = account.username;
        invisible = account.invisible;
      }
      const identity = {
        username,
        role: payload.role,
        device: payload.dev,
        gen: payload.gen,
        key: payload.key,
      };
      requireCurrentDevice(tracker, identity);
      // A guest name is one person's while a connection holds it: an older ticket of the name,
      // another key's, must not make two guests of one name (nor push the holder out).
      if (payload.role === "guest" && tracker.state.isHeldByAnotherKey(username, payload.key, session)) {
        throw wireError("USERNAME_TAKEN", `the guest name ${username} is in use by another guest`);
      }
      tracker.state.signIn(session, identity, invisible);
      const { ticket: fresh, expiresAt } = tracker.issueTicket(username, payload.role, {
        key: payload.key,
        dev: payload.dev,
        gen: payload.gen,
      });
      return { username, role: payload.role, ticket: fresh, expiresAt };
    },
  });
}
