import { z } from "zod";
import { channelNameSchema } from "./names.js";

/** Request bodies and OK bodies of the tracker's commands (docs/protocol.md, "Tracker commands"). */

const credentials = z.object({
  // Format rules give their own codes (INVALID_USERNAME, WEAK_PASSWORD), so only types are checked here.
  username: z.string().max(256),
  password: z.string().max(1024),
});
export const viewSchema = z.enum(["public", "private"]);
export type View = z.infer<typeof viewSchema>;

export const trackerBodySchemas = {
  SIGNUP: credentials,
  SIGNIN: credentials,
  GUEST: z.object({ username: z.string().max(256).optional() }),
  RESUME: z.object({ ticket: z.string().min(1).max(4096) }),
  // Extension of protocol version 1 (docs/protocol.md, "Ticket renewal"): a fresh ticket for the connection's identity.
  RENEW: z.object({}),
  KEY: z.object({}),
  LIST: z.object({}),
  ONLINE: z.object({}),
  HOST: z.object({
    channel: channelNameSchema,
    host: z.string().min(1).max(255).optional(),
    port: z.number().int().min(1).max(65535),
    view: viewSchema.optional(),
    moderated: z.boolean().optional(),
  }),
  UNHOST: z.object({ channel: channelNameSchema }),
  VIEW: z.object({ channel: channelNameSchema, view: viewSchema, moderated: z.boolean().optional() }),
  MEMBERS: z.object({ channel: channelNameSchema, count: z.number().int().min(0) }),
  INVISIBLE: z.object({ invisible: z.boolean() }),
  RET_INFO: z.object({}),
  PING: z.object({}),
} as const;

export type TrackerCommand = keyof typeof trackerBodySchemas;
export type Role = "user" | "guest";

export interface Address {
  host: string;
  port: number;
}

export interface ChannelListing {
  name: string;
  owner: string;
  view: View;
  moderated: boolean;
  online: boolean;
  address: Address | null;
  members: number;
}

export interface TrackerOkBodies {
  SIGNUP: { username: string };
  SIGNIN: { username: string; role: "user"; ticket: string; expiresAt: string; invisible: boolean };
  GUEST: { username: string; role: "guest"; ticket: string; expiresAt: string };
  /** `ticket` (a fresh one, same identity) is an additive extension of protocol version 1 (docs/protocol.md, "Ticket renewal"). */
  RESUME: { username: string; role: Role; ticket: string; expiresAt: string };
  RENEW: { ticket: string; expiresAt: string };
  KEY: { algorithm: "Ed25519"; publicKey: string; issuer: string };
  LIST: { channels: ChannelListing[] };
  ONLINE: { users: { username: string; role: Role }[] };
  HOST: { channel: string; publicKey: string; issuer: string };
  UNHOST: Record<string, never>;
  VIEW: Record<string, never>;
  MEMBERS: Record<string, never>;
  INVISIBLE: { invisible: boolean };
  RET_INFO: {
    version: string;
    uptimeS: number;
    users: number;
    guestsOnline: number;
    channels: number;
    channelsOnline: number;
    connections: number;
  };
  PING: { time: string };
}

export type TrackerRequestBodies = { [C in TrackerCommand]: z.input<(typeof trackerBodySchemas)[C]> };

export interface TrackerEventBodies {
  CHANNELS: { channel: string; online: boolean; address: Address | null };
}
