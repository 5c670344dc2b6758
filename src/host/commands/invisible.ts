import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import type { HostContext } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { setInvisible } from "../membership.js";

/** `INVISIBLE`: hide this connection from member lists and presence in every channel it joined. */
export function invisibleCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.INVISIBLE>({
    schema: hostBodySchemas.INVISIBLE,
    handle({ session }, body): HostOkBodies["INVISIBLE"] {
      if (session.identity?.role === "guest")
        throw wireError("GUESTS_CANNOT_HIDE", "guests cannot be invisible");
      if (session.identity === undefined || session.channels.size === 0) {
        throw wireError("NOT_JOINED", "this connection has not joined any channel");
      }
      setInvisible(context, session, body.invisible);
      return { invisible: session.invisible };
    },
  });
}
