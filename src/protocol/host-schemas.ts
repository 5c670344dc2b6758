import { z } from "zod";
import type { RemovalCode } from "./codes.js";
import { anyUsernameSchema, channelNameSchema, msgIdSchema } from "./names.js";
import { type Role, type View, viewSchema } from "./tracker-schemas.js";

/** Request bodies and OK bodies of a channel host's commands (docs/protocol.md, "Host commands"). */

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

const seq = z.number().int().min(0);
const sentAt = z.string().max(64).nullable().optional();
// Text limits have their own codes (TEXT_TOO_LONG, EMPTY_TEXT), so only the type is checked here.
const text = z.string();

export const hostBodySchemas = {
  CONNECT: z.object({
    channel: channelNameSchema,
    ticket: z.string().min(1).max(4096),
    since: seq.optional(),
    invisible: z.boolean().optional(),
  }),
  DISCONNECT: z.object({ channel: channelNameSchema }),
  MESSAGE: z.object({ channel: channelNameSchema, msgId: msgIdSchema, text, sentAt }),
  CACHE: z.object({
    channel: channelNameSchema,
    messages: z
      .array(z.object({ msgId: msgIdSchema, text, sentAt }))
      .min(1)
      .max(MAX_PAGE),
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

/** A stored message, the same flat shape in history pages and `MESSAGE` events. */
export interface ChatMessage {
  channel: string;
  seq: number;
  msgId: string;
  from: string;
  text: string;
  ts: string;
  sentAt: string | null;
}

export interface MemberInfo {
  username: string;
  role: Role;
  invisible?: boolean;
}

export interface SendResult {
  seq: number;
  ts: string;
  duplicate: boolean;
}

export interface HostOkBodies {
  CONNECT: {
    channel: string;
    owner: string;
    view: View;
    moderated: boolean;
    role: Role;
    members: MemberInfo[];
    history: ChatMessage[];
    latestSeq: number;
    hasMore: boolean;
  };
  DISCONNECT: Record<string, never>;
  MESSAGE: SendResult;
  CACHE: { results: (SendResult & { msgId: string })[] };
  HISTORY: { messages: ChatMessage[]; hasMore: boolean };
  VIEW: { view: View; moderated: boolean };
  AUTHORIZE: { authorized: string[] };
  INVISIBLE: { invisible: boolean };
  RET_INFO: {
    channel: string;
    owner: string;
    view: View;
    moderated: boolean;
    members: MemberInfo[];
    latestSeq: number;
    /** Owner only from here on. */
    authorized?: string[];
    storedCount?: number;
    queuedBytes?: number;
    uptimeS?: number;
  };
  PING: { time: string };
}

export type HostRequestBodies = { [C in HostCommand]: z.input<(typeof hostBodySchemas)[C]> };

export interface HostEventBodies {
  MESSAGE: ChatMessage;
  PRESENCE: { channel: string; username: string; role: Role; status: "online" | "offline" };
  CHANNEL: { channel: string; view: View; moderated: boolean };
  REMOVED: { channel: string; code: RemovalCode };
}
