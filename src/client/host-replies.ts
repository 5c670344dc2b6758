import { z } from "zod";
import { REMOVAL_CODES } from "../protocol/codes.js";
import type { HostEventBodies, HostOkBodies } from "../protocol/host-schemas.js";
import { viewSchema } from "../protocol/tracker-schemas.js";

/**
 * Shapes of what a channel host sends back. A host is another user's peer, so its replies and events
 * are checked before this peer acts on them; a malformed one is logged and ignored, never trusted.
 */

const seq = z.number().int().min(0);
const role = z.enum(["user", "guest"]);
const member = z.object({ username: z.string(), role, invisible: z.boolean().optional() });
const chatMessage = z.object({
  channel: z.string(),
  seq: z.number().int().min(1),
  msgId: z.string(),
  from: z.string(),
  text: z.string(),
  ts: z.string(),
  sentAt: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
});

const sendResult = z.object({ seq: z.number().int().min(1), ts: z.string(), duplicate: z.boolean() });

const connectReply = z.object({
  channel: z.string(),
  owner: z.string(),
  view: viewSchema,
  moderated: z.boolean(),
  role,
  members: z.array(member),
  history: z.array(chatMessage),
  latestSeq: seq,
  hasMore: z.boolean(),
});
const historyReply = z.object({ messages: z.array(chatMessage), hasMore: z.boolean() });
const cacheReply = z.object({ results: z.array(sendResult.extend({ msgId: z.string() })) });
const viewReply = z.object({ view: viewSchema, moderated: z.boolean() });
const authorizeReply = z.object({ authorized: z.array(z.string()) });

export const hostEventSchemas = {
  MESSAGE: chatMessage,
  PRESENCE: z.object({
    channel: z.string(),
    username: z.string(),
    role,
    status: z.enum(["online", "offline"]),
  }),
  CHANNEL: z.object({ channel: z.string(), view: viewSchema, moderated: z.boolean() }),
  REMOVED: z.object({ channel: z.string(), code: z.enum(REMOVAL_CODES) }),
} as const;

export type HostEvent = {
  [E in keyof HostEventBodies]: { event: E; body: HostEventBodies[E] };
}[keyof HostEventBodies];

/** Reads a host event frame; undefined for events this client does not know or bodies that do not fit. */
export function parseHostEvent(event: string, body: unknown): HostEvent | undefined {
  if (!Object.hasOwn(hostEventSchemas, event)) return undefined;
  const schema = hostEventSchemas[event as keyof typeof hostEventSchemas];
  const parsed = schema.safeParse(body);
  return parsed.success ? ({ event, body: parsed.data } as HostEvent) : undefined;
}

export function parseConnectReply(body: unknown): HostOkBodies["CONNECT"] {
  return connectReply.parse(body);
}
export function parseHistoryReply(body: unknown): HostOkBodies["HISTORY"] {
  return historyReply.parse(body);
}
export function parseMessageReply(body: unknown): HostOkBodies["MESSAGE"] {
  return sendResult.parse(body);
}
export function parseCacheReply(body: unknown): HostOkBodies["CACHE"] {
  return cacheReply.parse(body);
}
export function parseViewReply(body: unknown): HostOkBodies["VIEW"] {
  return viewReply.parse(body);
}
export function parseAuthorizeReply(body: unknown): HostOkBodies["AUTHORIZE"] {
  return authorizeReply.parse(body);
}
