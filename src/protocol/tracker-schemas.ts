import { z } from "zod";
import { helloBodySchema, helloReplySchema } from "./hello-schemas.js";
import {
  anyUsernameSchema,
  channelNameSchema,
  deviceIdSchema,
  fingerprintSchema,
  publicKeySchema,
  signatureSchema,
  ticketSchema,
} from "./names.js";
import { relayBodySchemas, relayIncomingSchema, relayOkBodySchemas } from "./relay-schemas.js";

/** Request bodies and OK bodies of the tracker's commands (docs/protocol.md, "Tracker commands"). */

const credentials = z.object({
  // Format rules give their own codes (INVALID_USERNAME, WEAK_PASSWORD), so only types are checked here.
  username: z.string().max(256),
  password: z.string().max(1024),
});
export const viewSchema = z.enum(["public", "private"]);
export { fingerprintSchema };
export type View = z.infer<typeof viewSchema>;

/**
 * Most channels in one `LIST` answer. A listing of the longest names, owner, host name and member
 * count is under 600 bytes of JSON, so a full page stays under a third of the 1 MiB frame.
 */
export const LIST_PAGE_MAX = 500;

export const trackerBodySchemas = {
  HELLO: helloBodySchema,
  SIGNUP: credentials,
  /** `publicKey` is this device's key, `proof` its signature over the connection's challenge. */
  SIGNIN: credentials.extend({ device: deviceIdSchema, publicKey: publicKeySchema, proof: signatureSchema }),
  GUEST: z.object({
    username: z.string().max(256).optional(),
    publicKey: publicKeySchema,
    proof: signatureSchema,
  }),
  RESUME: z.object({ ticket: ticketSchema, proof: signatureSchema }),
  RENEW: z.object({}),
  /** Revokes the tickets of the connection's device. */
  SIGNOUT: z.object({}),
  /** The revocations in force; the connection is then sent each new one (`REVOKED`). */
  REVOCATIONS: z.object({}),
  KEY: z.object({}),
  /**
   * One page of the directory, by name without case: the channels after `after`, at most `limit`
   * (the tracker's page size when omitted or larger). `name` looks that one channel up instead.
   */
  LIST: z.object({
    name: channelNameSchema.optional(),
    after: channelNameSchema.optional(),
    limit: z.number().int().min(1).max(LIST_PAGE_MAX).optional(),
  }),
  ONLINE: z.object({}),
  HOST: z.object({
    channel: channelNameSchema,
    host: z.string().min(1).max(255).optional(),
    port: z.number().int().min(1).max(65535),
    /** The fingerprint of the certificate the host presents to members. */
    fingerprint: fingerprintSchema,
    view: viewSchema.optional(),
    moderated: z.boolean().optional(),
  }),
  UNHOST: z.object({ channel: channelNameSchema }),
  VIEW: z.object({ channel: channelNameSchema, view: viewSchema, moderated: z.boolean().optional() }),
  MEMBERS: z.object({ channel: channelNameSchema, count: z.number().int().min(0) }),
  INVISIBLE: z.object({ invisible: z.boolean() }),
  RET_INFO: z.object({}),
  PING: z.object({}),
  ...relayBodySchemas,
} as const;

export type TrackerCommand = keyof typeof trackerBodySchemas;

export const roleSchema = z.enum(["user", "guest"]);
export type Role = z.infer<typeof roleSchema>;

export const addressSchema = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(0).max(65535),
});
export type Address = z.infer<typeof addressSchema>;

export const reachSchema = z.enum(["direct", "relay", "unreachable"]);
export type Reach = z.infer<typeof reachSchema>;

export const channelListingSchema = z.object({
  name: channelNameSchema,
  owner: anyUsernameSchema,
  view: viewSchema,
  moderated: z.boolean(),
  online: z.boolean(),
  address: addressSchema.nullable(),
  /** The host's certificate fingerprint while it is online: members accept no other key there. */
  fingerprint: fingerprintSchema.nullable(),
  members: z.number().int().min(0),
  /**
   * How members reach it while online, as the tracker measured: at its address (`direct`), through
   * the tracker's relay (`relay`), or maybe not at all (`unreachable`: no relay). Null while offline.
   */
  reach: reachSchema.nullable().default(null),
});
export type ChannelListing = z.infer<typeof channelListingSchema>;

const ticketGrant = { ticket: ticketSchema, expiresAt: z.string().max(64) };
/** Every ticket of `username`'s `device` below generation `minGen` is revoked; none is valid after `until`. */
export const revocationSchema = z.object({
  username: anyUsernameSchema,
  device: deviceIdSchema,
  minGen: z.number().int().min(1),
  until: z.number().int(),
});
export type Revocation = z.infer<typeof revocationSchema>;
/** More than this in one answer is refused by clients (one sign-in per device and ticket lifetime makes far fewer). */
export const MAX_REVOCATIONS = 100_000;
const trackerKey = { publicKey: z.string().min(1).max(1024), issuer: z.string().min(1).max(256) };
const empty = z.object({});

/**
 * The OK body of every tracker command: what the tracker sends and what clients check before they
 * act on an answer. Declared once; `TrackerOkBodies` is inferred from it.
 */
export const trackerReplySchemas = {
  HELLO: helloReplySchema,
  SIGNUP: z.object({ username: anyUsernameSchema }),
  SIGNIN: z.object({
    username: anyUsernameSchema,
    role: z.literal("user"),
    ...ticketGrant,
    invisible: z.boolean(),
  }),
  GUEST: z.object({ username: anyUsernameSchema, role: z.literal("guest"), ...ticketGrant }),
  /** `ticket` (a fresh one, same identity) is an additive extension of version 1. */
  RESUME: z.object({ username: anyUsernameSchema, role: roleSchema, ...ticketGrant }),
  RENEW: z.object(ticketGrant),
  SIGNOUT: empty,
  REVOCATIONS: z.object({ revocations: z.array(revocationSchema).max(MAX_REVOCATIONS) }),
  KEY: z.object({ algorithm: z.literal("Ed25519"), ...trackerKey }),
  /** `next`: the `after` of the following page, null on the last one (absent from older trackers). */
  LIST: z.object({
    channels: z.array(channelListingSchema),
    next: channelNameSchema.nullable().default(null),
  }),
  ONLINE: z.object({ users: z.array(z.object({ username: anyUsernameSchema, role: roleSchema })) }),
  /** `address`: where the tracker lists the channel (the connection's own address for an unspecified host). */
  HOST: z.object({ channel: channelNameSchema, address: addressSchema, reach: reachSchema, ...trackerKey }),
  UNHOST: empty,
  VIEW: empty,
  MEMBERS: empty,
  INVISIBLE: z.object({ invisible: z.boolean() }),
  RET_INFO: z.object({
    version: z.string(),
    uptimeS: z.number(),
    users: z.number().int(),
    guestsOnline: z.number().int(),
    channels: z.number().int(),
    channelsOnline: z.number().int(),
    connections: z.number().int(),
    /** Requests received since the tracker started, by command; an additive extension of version 1. */
    requests: z.record(z.string(), z.number().int()).optional(),
    /** The relay's counts since start; null when the tracker does not relay. */
    relay: z
      .object({
        sessions: z.number().int(),
        pending: z.number().int(),
        bytes: z.number(),
        refused: z.number().int(),
        unanswered: z.number().int(),
      })
      .nullable()
      .optional(),
  }),
  PING: z.object({ time: z.string() }),
  ...relayOkBodySchemas,
} as const satisfies Record<TrackerCommand, z.ZodType>;

export type TrackerOkBodies = { [C in TrackerCommand]: z.output<(typeof trackerReplySchemas)[C]> };

export type TrackerRequestBodies = { [C in TrackerCommand]: z.input<(typeof trackerBodySchemas)[C]> };

/**
 * Events the tracker sends. `CHANNELS` carries the channel's listing after the change (null once it
 * is removed), so a peer updates its directory without a `LIST`: one new channel would otherwise
 * cost the tracker one `LIST` per online peer.
 */
export const trackerEventSchemas = {
  CHANNELS: z.object({
    channel: channelNameSchema,
    online: z.boolean(),
    address: addressSchema.nullable(),
    fingerprint: fingerprintSchema.nullable(),
    /** True when the channel was unhosted: its name is free and it is no longer listed. */
    removed: z.boolean().optional(),
    listing: channelListingSchema.nullable(),
  }),
  REVOKED: z.object({ revocations: z.array(revocationSchema).max(MAX_REVOCATIONS) }),
  /** To a host's liveness link: a member waits at the relay; dial back with `RELAY_ACCEPT` (docs/protocol.md, "Relay"). */
  RELAY_INCOMING: relayIncomingSchema,
} as const;

export type TrackerEventBodies = {
  [E in keyof typeof trackerEventSchemas]: z.output<(typeof trackerEventSchemas)[E]>;
};

/** What a tracker link speaks, for `ReconnectingClient`. */
export const trackerLinkSpec = { replies: trackerReplySchemas, events: trackerEventSchemas };
