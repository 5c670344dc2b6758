import { command } from "../../protocol/dispatcher.js";
import { LIST_PAGE_MAX, type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * LIST: one page of the registered channels, online or not, as their hosts last reported them,
 * ordered by name without case; or the one channel `name` asks for. Pages keep every answer far
 * under the frame limit however many channels there are.
 */
export function listCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.LIST>({
    schema: trackerBodySchemas.LIST,
    handle(_request, { name, after, limit }): TrackerOkBodies["LIST"] {
      if (name !== undefined) {
        const record = tracker.store.findChannel(name);
        return { channels: record === undefined ? [] : [tracker.listing(record)], next: null };
      }
      const pageSize = Math.min(limit ?? LIST_PAGE_MAX, tracker.options.listPageSize, LIST_PAGE_MAX);
      // One more than the page tells whether another page follows.
      const records = tracker.store.listChannels(pageSize + 1, after);
      const page = records.slice(0, pageSize);
      return {
        channels: page.map((record) => tracker.listing(record)),
        next: records.length > pageSize ? (page.at(-1)?.name ?? null) : null,
      };
    },
  });
}
