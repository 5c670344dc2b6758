import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import type { HostSession } from "../session.js";

/** `PING`: answers with the host's clock; needs no ticket. */
export function pingCommand() {
  return command<HostSession, typeof hostBodySchemas.PING>({
    schema: hostBodySchemas.PING,
    handle(): HostOkBodies["PING"] {
      return { time: new Date().toISOString() };
    },
  });
}
