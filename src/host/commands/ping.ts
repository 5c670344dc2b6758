import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import type { MemberConnection } from "../member-connection.js";

/** `PING`: answers with the host's clock; needs no ticket. */
export function pingCommand() {
  return command<MemberConnection, typeof hostBodySchemas.PING>({
    schema: hostBodySchemas.PING,
    handle(): HostOkBodies["PING"] {
      return { time: new Date().toISOString() };
    },
  });
}
