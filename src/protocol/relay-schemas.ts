import { z } from "zod";
import { channelNameSchema, fingerprintSchema, signatureSchema, ticketSchema } from "./names.js";

/**
 * The relay's commands, which a tracker that relays takes on fresh connections of their own
 * (docs/protocol.md, "Relay"). After their `OK` the connection carries raw bytes, no more frames.
 */

/** A relay session id: 16 random bytes, base64url. */
export const RELAY_SESSION_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const relaySessionSchema = z.string().regex(RELAY_SESSION_PATTERN);

export const relayBodySchemas = {
  /** A member asks to be spliced to `channel`'s host, with its ticket and a proof naming the channel. */
  RELAY_DIAL: z.object({
    channel: channelNameSchema,
    ticket: ticketSchema,
    proof: signatureSchema,
    /** The host key the member will check; a channel whose host has another one now is not spliced. */
    fingerprint: fingerprintSchema.optional(),
  }),
  /** A host dials back for the session the tracker sent it in `RELAY_INCOMING`. */
  RELAY_ACCEPT: z.object({ session: relaySessionSchema }),
} as const;

export const relayOkBodySchemas = {
  RELAY_DIAL: z.object({}),
  RELAY_ACCEPT: z.object({}),
} as const;

/** Sent on a host's liveness link: a member waits at the relay for `channel`; dial back with `session`. */
export const relayIncomingSchema = z.object({ session: relaySessionSchema, channel: channelNameSchema });
export type RelayIncoming = z.infer<typeof relayIncomingSchema>;
