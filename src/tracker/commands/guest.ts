import { randomBytes } from "node:crypto";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { GUEST_PREFIX, isAllowedUsername, isGuestName } from "../../protocol/names.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import { checkTrackerProof } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";

/** Random names tried before giving up: short ones first, then long ones that practically never collide. */
const SHORT_NAME_TRIES = 20;
const LONG_NAME_TRIES = 20;

/** `NAME` gives `guest-NAME`; a name that already carries the prefix is taken as it is. */
function requestedGuestName(requested: string): string {
  const bare = isGuestName(requested) ? requested.slice(GUEST_PREFIX.length) : requested;
  if (!isAllowedUsername(bare)) {
    throw wireError(
      "INVALID_USERNAME",
      "a guest name is 1 to 32 letters, digits, '_', '.' or '-', with at least one letter or digit",
    );
  }
  return `${GUEST_PREFIX}${bare}`;
}

function freeGuestName(tracker: TrackerContext, session: PeerConnection): string {
  for (let attempt = 0; attempt < SHORT_NAME_TRIES + LONG_NAME_TRIES; attempt++) {
    const bytes = attempt < SHORT_NAME_TRIES ? 2 : 6;
    const name = `${GUEST_PREFIX}${randomBytes(bytes).toString("hex")}`;
    if (!tracker.state.isOnlineElsewhere(name, session)) return name;
  }
  throw wireError("USERNAME_TAKEN", "no free guest name was found; ask for one by name");
}

/**
 * GUEST: signs the connection in as a guest, under the name asked for or one the tracker picks.
 * The ticket certifies the key that signed the proof, on a device id the tracker picks; guests
 * have no device rows, only revocations once they sign out.
 */
export function guestCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.GUEST>({
    schema: trackerBodySchemas.GUEST,
    handle({ session }, { username, publicKey, proof }): TrackerOkBodies["GUEST"] {
      checkTrackerProof(tracker, session, "GUEST", publicKey, proof);
      const wait = tracker.guestsPerAddress.take(session.remoteAddress);
      if (wait > 0) {
        throw wireError("RATE_LIMITED", "too many guests from this address; try again shortly", {
          retryAfterMs: wait,
        });
      }
      const name = username === undefined ? freeGuestName(tracker, session) : requestedGuestName(username);
      if (tracker.state.isOnlineElsewhere(name, session)) {
        throw wireError("USERNAME_TAKEN", `the guest name ${name} is in use`);
      }
      const device = `g${randomBytes(8).toString("hex")}`;
      const { ticket, expiresAt } = tracker.issueTicket(name, "guest", {
        key: publicKey,
        dev: device,
        gen: 1,
      });
      tracker.state.signIn(session, { username: name, role: "guest", device, gen: 1, key: publicKey }, false);
      return { username: name, role: "guest", ticket, expiresAt };
    },
  });
}
