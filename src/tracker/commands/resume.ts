import { verifyTicket } from "../../auth/tickets.js";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * RESUME: signs the connection in as the holder of a ticket this tracker signed, and hands out a
 * fresh ticket for the same identity, so a peer that reconnects now and then never sees its expire.
 */
export function resumeCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.RESUME>({
    schema: trackerBodySchemas.RESUME,
    handle({ session }, { ticket }): TrackerOkBodies["RESUME"] {
      const payload = verifyTicket(ticket, tracker.identity.publicKey, tracker.identity.issuer);
      let username = payload.sub;
      let invisible = false;
      if (payload.role === "user") {
        const account = tracker.store.findAccount(payload.sub);
        if (account === undefined) throw wireError("BAD_TICKET", "the ticket's account does not exist");
        username = account.username;
        invisible = account.invisible;
      }
      tracker.state.signIn(session, { username, role: payload.role }, invisible);
      const { ticket: fresh, expiresAt } = tracker.issueTicket(username, payload.role);
      return { username, role: payload.role, ticket: fresh, expiresAt };
    },
  });
}
