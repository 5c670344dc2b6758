import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { DEFAULT_PAGE, type HostOkBodies, hostBodySchemas, MAX_PAGE } from "../../protocol/host-schemas.js";
import { nameKey } from "../../protocol/names.js";
import type { HostContext } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { joinChannel, setInvisible } from "../membership.js";

/**
 * `CONNECT`: join a channel with a ticket and the proof that the caller holds its key. The first
 * verified ticket fixes the connection's identity; a later one must name the same user. Repeating it on a joined channel answers as the
 * first time and changes nothing else.
 */
export function connectCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.CONNECT>({
    schema: hostBodySchemas.CONNECT,
    handle({ session }, body): HostOkBodies["CONNECT"] {
      const ticket = context.verifier.verifyConnect({
        ticket: body.ticket,
        proof: body.proof,
        challenge: session.challenge,
        channel: body.channel,
      });
      const identity = { username: ticket.sub, role: ticket.role, device: ticket.dev, gen: ticket.gen };
      if (
        session.identity !== undefined &&
        nameKey(session.identity.username) !== nameKey(identity.username)
      ) {
        throw wireError("BAD_TICKET", `this connection belongs to ${session.identity.username}`);
      }
      if (identity.role === "guest" && body.invisible === true) {
        throw wireError("GUESTS_CANNOT_HIDE", "guests cannot be invisible");
      }
      const channel = context.channel(body.channel);
      if (channel === undefined) throw wireError("NO_SUCH_CHANNEL", `${body.channel} is not hosted here`);
      if (!channel.mayView(identity)) {
        throw wireError("PRIVATE_CHANNEL", `${body.channel} is private and you are not authorized`);
      }
      session.identity ??= identity;
      if (body.invisible !== undefined) setInvisible(context, session, body.invisible);
      joinChannel(context, channel, session);
      const page =
        body.since === undefined
          ? context.store.page(channel.name, { limit: DEFAULT_PAGE })
          : context.store.page(channel.name, { after: body.since, limit: MAX_PAGE });
      return {
        channel: channel.name,
        owner: channel.owner,
        view: channel.view,
        moderated: channel.moderated,
        role: identity.role,
        members: channel.visibleMembers(),
        history: page.messages,
        latestSeq: context.store.latestSeq(channel.name),
        hasMore: page.hasMore,
      };
    },
  });
}
