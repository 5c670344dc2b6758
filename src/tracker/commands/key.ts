import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** KEY: the public key that verifies this tracker's tickets, and the issuer they name. */
export function keyCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.KEY>({
    schema: trackerBodySchemas.KEY,
    handle(): TrackerOkBodies["KEY"] {
      return { algorithm: "Ed25519", publicKey: tracker.publicKeyBase64, issuer: tracker.identity.issuer };
    },
  });
}
