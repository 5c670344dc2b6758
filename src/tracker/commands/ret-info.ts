import { command } from "../../protocol/dispatcher.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { VERSION } from "../../util/version.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** RET_INFO: tracker statistics. `users` and `channels` count registrations; the rest is live;
 * `requests` counts the requests received since start, by command; `relay`, what the relay carried and refused. */
export function retInfoCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.RET_INFO>({
    schema: trackerBodySchemas.RET_INFO,
    signedIn: true,
    handle(): TrackerOkBodies["RET_INFO"] {
      return {
        version: VERSION,
        uptimeS: Math.floor((Date.now() - tracker.startedAt) / 1000),
        users: tracker.store.countAccounts(),
        guestsOnline: tracker.state.guestsOnline(),
        channels: tracker.store.countChannels(),
        channelsOnline: tracker.state.channelsOnline,
        connections: tracker.state.connections,
        requests: Object.fromEntries(tracker.requestCounts),
        relay: tracker.relay?.stats() ?? null,
      };
    },
  });
}
