import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { PeerConnection } from "../peer-connection.js";

/** PING: the tracker's clock, to check that it answers. */
export function pingCommand() {
  return command<PeerConnection, typeof trackerBodySchemas.PING>({
    schema: trackerBodySchemas.PING,
    handle(): TrackerOkBodies["PING"] {
      return { time: new Date().toISOString() };
    },
  });
}
