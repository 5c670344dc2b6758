import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { isGuestName, nameKey } from "../../protocol/names.js";
import { type HostContext, identityOf, ownedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { evict } from "../membership.js";

/**
 * `AUTHORIZE`: the owner grants or revokes a user (online or not). Revoking in a private channel
 * removes that user's connections with `REVOKED`.
 */
export function authorizeCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.AUTHORIZE>({
    schema: hostBodySchemas.AUTHORIZE,
    signedIn: true,
    handle({ session }, body): HostOkBodies["AUTHORIZE"] {
      const channel = ownedChannel(context, identityOf(session), body.channel);
      if (isGuestName(body.username)) {
        throw wireError("CANNOT_AUTHORIZE_GUEST", "guests cannot be authorized; they only read");
      }
      const key = nameKey(body.username);
      if (body.grant) {
        if (!channel.isOwner(body.username) && channel.authorized.get(key) !== body.username) {
          context.store.setAuthorized(channel.name, body.username, true);
          channel.authorized.set(key, body.username);
        }
      } else if (channel.authorized.has(key)) {
        context.store.setAuthorized(channel.name, body.username, false);
        channel.authorized.delete(key);
        if (channel.view === "private") {
          for (const member of channel.sessionsOf(body.username)) evict(context, channel, member, "REVOKED");
        }
      }
      return { authorized: channel.authorizedNames() };
    },
  });
}
