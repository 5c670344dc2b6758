import { z } from "zod";
import { REMOVAL_CODES } from "./codes.js";
import { helloBodySchema, helloReplySchema } from "./hello-schemas.js";
import { anyUsernameSchema, channelNameSchema, msgIdSchema, signatureSchema, ticketSchema } from "./names.js";
import { roleSchema, viewSchema } from "./tracker-schemas.js";

/** Request bodies and OK bodies of a channel host's commands (docs/protocol.md, "Host commands"). */

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

const seq = z.number().int().min(0);
const sentAt = z.string().min(1).max(64);
// Text limits have their own codes (TEXT_TOO_LONG, EMPTY_TEXT), so only the type is checked here.
const text = z.string();
/** What a member sends of a message: its author signs it, the certificate vouches for the key. */
const outgoing = { msgId: msgIdSchema, text, sentAt, sig: signatureSchema, cert: ticketSchema };

export const hostBodySchemas = {
  HELLO: helloBodySchema,
  CONNECT: z.object({
    channel: channelNameSchema,
    ticket: ticketSchema,
    /** The ticket key's signature over the connection's challenge, this host and the channel. */
    proof: signatureSchema,
    since: seq.optional(),
    invisible: z.boolean().optional(),
  }),
  DISCONNECT: z.object({ channel: channelNameSchema }),
  MESSAGE: z.object({ channel: channelNameSchema, ...outgoing }),
  CACHE: z.object({
    channel: channelNameSchema,
    messages: z.array(z.object(outgoing)).min(1).max(MAX_PAGE),
  }),
  HISTORY: z.object({
    channel: channelNameSchema,
    before: seq.optional(),
    after: seq.optional(),
    limit: z.number().int().min(1).max(MAX_PAGE).optional(),
  }),
  VIEW: z.object({ channel: channelNameSchema, view: viewSchema, moderated: z.boolean().optional() }),
  AUTHORIZE: z.object({ channel: channelNameSchema, username: anyUsernameSchema, grant: z.boolean() }),
  INVISIBLE: z.object({ invisible: z.boolean() }),
  RET_INFO: z.object({ channel: channelNameSchema }),
  PING: z.object({}),
} as const;

export type HostCommand = keyof typeof hostBodySchemas;

const time = z.string().max(64);
const memberSchema = z.object({
  username: anyUsernameSchema,
  role: roleSchema,
  invisible: z.boolean().optional(),
});
export type MemberInfo = z.infer<typeof memberSchema>;

/**
 * A stored message, the same flat shape in history pages and `MESSAGE` events. A host is another
 * user's machine, so every field is checked against the protocol's rules before a client uses it.
 */
export const chatMessageSchema = z.object({
  channel: channelNameSchema,
  seq: z.number().int().min(1),
  msgId: msgIdSchema,
  from: anyUsernameSchema,
  // At most 4000 code points, each at most two UTF-16 units.
  text: z.string().max(8000),
  ts: time,
  sentAt: time.nullish().transform((value) => value ?? null),
  /** Null for a message stored before messages were signed: never shown as its author's. */
  sig: signatureSchema.nullish().transform((value) => value ?? null),
  cert: ticketSchema.nullish().transform((value) => value ?? null),
});
export type ChatMessage = z.output<typeof chatMessageSchema>;

const sendResultSchema = z.object({ seq: z.number().int().min(1), ts: time, duplicate: z.boolean() });
export type SendResult = z.infer<typeof sendResultSchema>;
const empty = z.object({});

/** The OK body of every host command, declared once: hosts send it, clients check it. */
export const hostReplySchemas = {
  HELLO: helloReplySchema,
  CONNECT: z.object({
    channel: channelNameSchema,
    owner: anyUsernameSchema,
    view: viewSchema,
    moderated: z.boolean(),
    role: roleSchema,
    members: z.array(memberSchema),
    history: z.array(chatMessageSchema),
    latestSeq: seq,
    hasMore: z.boolean(),
  }),
  DISCONNECT: empty,
  MESSAGE: sendResultSchema,
  CACHE: z.object({ results: z.array(sendResultSchema.extend({ msgId: msgIdSchema })) }),
  HISTORY: z.object({ messages: z.array(chatMessageSchema), hasMore: z.boolean() }),
  VIEW: z.object({ view: viewSchema, moderated: z.boolean() }),
  AUTHORIZE: z.object({ authorized: z.array(anyUsernameSchema) }),
  INVISIBLE: z.object({ invisible: z.boolean() }),
  RET_INFO: z.object({
    channel: channelNameSchema,
    owner: anyUsernameSchema,
    view: viewSchema,
    moderated: z.boolean(),
    members: z.array(memberSchema),
    latestSeq: seq,
    /** Owner only from here on. */
    authorized: z.array(anyUsernameSchema).optional(),
    storedCount: z.number().int().optional(),
    queuedBytes: z.number().optional(),
    uptimeS: z.number().optional(),
  }),
  PING: z.object({ time }),
} as const satisfies Record<HostCommand, z.ZodType>;

/** The checked OK body of one host command. */
export type HostReply<C extends HostCommand> = z.output<(typeof hostReplySchemas)[C]>;
export type HostOkBodies = { [C in HostCommand]: HostReply<C> };

export type HostRequestBodies = { [C in HostCommand]: z.input<(typeof hostBodySchemas)[C]> };

/** Events a host sends to the connections that joined a channel. */
export const hostEventSchemas = {
  MESSAGE: chatMessageSchema,
  PRESENCE: z.object({
    channel: channelNameSchema,
    username: anyUsernameSchema,
    role: roleSchema,
    status: z.enum(["online", "offline"]),
  }),
  CHANNEL: z.object({ channel: channelNameSchema, view: viewSchema, moderated: z.boolean() }),
  REMOVED: z.object({ channel: channelNameSchema, code: z.enum(REMOVAL_CODES) }),
} as const;

export type HostEventBodies = {
  [E in keyof typeof hostEventSchemas]: z.output<(typeof hostEventSchemas)[E]>;
};

/** What a link to a channel host speaks, for `ReconnectingClient`. */
export const hostLinkSpec = { replies: hostReplySchemas, events: hostEventSchemas };
