import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** LIST: every registered channel, online or not, as its host last reported it. */
export function listCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.LIST>({
    schema: trackerBodySchemas.LIST,
    handle(): TrackerOkBodies["LIST"] {
      return { channels: tracker.store.listChannels().map((channel) => tracker.listing(channel)) };
    },
  });
}
