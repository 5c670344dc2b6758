import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { nameKey } from "../../protocol/names.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { advertisedHost, requireUser } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/**
 * HOST: registers a channel, or brings the owner's channel back online, from any address. This
 * connection becomes the channel's liveness link.
 */
export function hostCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.HOST>({
    schema: trackerBodySchemas.HOST,
    signedIn: true,
    handle({ session }, body): TrackerOkBodies["HOST"] {
      const user = requireUser(session, "GUESTS_CANNOT_HOST", "guests cannot host channels");
      const existing = tracker.store.findChannel(body.channel);
      if (existing !== undefined && nameKey(existing.owner) !== nameKey(user.username)) {
        throw wireError("CHANNEL_TAKEN", `the channel name ${body.channel} belongs to ${existing.owner}`);
      }
      const address = { host: advertisedHost(session, body.host), port: body.port };
      tracker.store.saveChannel({
        name: body.channel,
        owner: existing?.owner ?? user.username,
        view: body.view ?? existing?.view ?? "public",
        moderated: body.moderated ?? existing?.moderated ?? false,
      });
      const previous = tracker.state.link(body.channel);
      tracker.state.setLink(body.channel, session, address, body.fingerprint);
      const changed =
        existing === undefined ||
        existing.name !== body.channel ||
        existing.view !== (body.view ?? existing.view) ||
        existing.moderated !== (body.moderated ?? existing.moderated) ||
        previous === undefined ||
        previous.session !== session ||
        previous.name !== body.channel ||
        previous.address.host !== address.host ||
        previous.address.port !== address.port ||
        previous.fingerprint !== body.fingerprint;
      if (changed) tracker.broadcastChannel(body.channel);
      return {
        channel: body.channel,
        address,
        publicKey: tracker.publicKeyBase64,
        issuer: tracker.identity.issuer,
      };
    },
  });
}
