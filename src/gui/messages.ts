import { z } from "zod";
import type {
  HostedChannel,
  Identity,
  JoinedChannel,
  OutboxEntry,
  PeerApi,
  PeerEvent,
} from "../api/index.js";
import type { ChatMessage } from "../protocol/host-schemas.js";
import { channelNameSchema } from "../protocol/names.js";
import type { ChannelListing } from "../protocol/tracker-schemas.js";
import { viewSchema } from "../protocol/tracker-schemas.js";

/**
 * The WebSocket protocol between the GUI page and its peer's bridge, shared by both sides.
 * Browser -> server: `{id, method, params}`; server -> browser: a reply `{id, ok, result|error}`,
 * an `{event}` from the peer's stream, or the `{snapshot}` sent once on connect.
 */

/** The path of the bridge's WebSocket endpoint. */
export const BRIDGE_PATH = "/ws";

/** Codes the bridge itself answers with (errors from the peer keep their own wire codes). */
export const BRIDGE_ERROR_CODES = [
  "BAD_MESSAGE",
  "UNKNOWN_METHOD",
  "BAD_REQUEST",
  "TOO_MANY_REQUESTS",
  "INTERNAL_ERROR",
] as const;
export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number];

const empty = z.strictObject({});
const channel = z.strictObject({ channel: channelNameSchema });
// Name and password rules belong to the tracker (INVALID_USERNAME, WEAK_PASSWORD); only sizes here.
const credentials = z.strictObject({ username: z.string().min(1).max(256), password: z.string().max(1024) });

/** The PeerApi methods the page may call, each with the schema of its named parameters. */
export const methodParamsSchemas = {
  signUp: credentials,
  signIn: credentials,
  guest: z.strictObject({ name: z.string().min(1).max(256).optional() }),
  signOut: empty,
  listChannels: empty,
  onlineUsers: empty,
  setInvisible: z.strictObject({ invisible: z.boolean() }),
  host: z.strictObject({
    channel: channelNameSchema,
    view: viewSchema.optional(),
    moderated: z.boolean().optional(),
  }),
  unhost: channel,
  hostedChannels: empty,
  join: channel,
  leave: channel,
  joinedChannels: empty,
  markRead: channel,
  // Text limits have their own wire codes (TEXT_TOO_LONG, EMPTY_TEXT); this cap only bounds the frame.
  send: z.strictObject({ channel: channelNameSchema, text: z.string().max(64_000) }),
  outbox: z.strictObject({ channel: channelNameSchema.optional() }),
  cancelPending: z.strictObject({ msgId: z.string().min(1).max(64) }),
  history: z.strictObject({
    channel: channelNameSchema,
    before: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(500).optional(),
  }),
  members: channel,
  setView: z.strictObject({
    channel: channelNameSchema,
    view: viewSchema,
    moderated: z.boolean().optional(),
  }),
  authorize: z.strictObject({
    channel: channelNameSchema,
    username: z.string().min(1).max(64),
    grant: z.boolean(),
  }),
  channelInfo: channel,
  debugInfo: empty,
} as const;

export type BridgeMethod = keyof typeof methodParamsSchemas;
export type MethodParams<M extends BridgeMethod> = z.input<(typeof methodParamsSchemas)[M]>;
/** What a method resolves with (`null` stands for `undefined`, which JSON cannot carry). */
export type MethodResult<M extends BridgeMethod> =
  Awaited<ReturnType<PeerApi[M]>> extends void ? null : Awaited<ReturnType<PeerApi[M]>>;

export function isBridgeMethod(name: string): name is BridgeMethod {
  return Object.hasOwn(methodParamsSchemas, name);
}

const requestIdSchema = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().min(1).max(64),
]);
export type RequestId = z.infer<typeof requestIdSchema>;

/** The envelope of a browser request; `params` are checked per method afterwards. */
export const clientRequestSchema = z.strictObject({
  id: requestIdSchema,
  method: z.string().min(1).max(64),
  params: z.record(z.string(), z.unknown()).optional(),
});

export interface ErrorInfo {
  code: string;
  message: string;
}

export interface ChannelSnapshot {
  channel: JoinedChannel;
  history: ChatMessage[];
  hasMore: boolean;
}

/** The state a page starts from when it connects (events then keep it current). */
export interface Snapshot {
  identity: Identity | null;
  directory: ChannelListing[];
  joined: ChannelSnapshot[];
  hosted: HostedChannel[];
  outbox: OutboxEntry[];
}

export type ServerMessage =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId | null; ok: false; error: ErrorInfo }
  | { event: PeerEvent }
  | { snapshot: Snapshot };

const errorInfoSchema = z.object({ code: z.string(), message: z.string() });

/**
 * The envelope of what the server sends. Payloads (results, events, the snapshot) are typed by
 * the PeerApi contract and come from the user's own peer, so only their outer shape is checked.
 */
export const serverMessageSchema = z.union([
  z.object({ id: requestIdSchema, ok: z.literal(true), result: z.unknown() }),
  z.object({ id: requestIdSchema.nullable(), ok: z.literal(false), error: errorInfoSchema }),
  z.object({ event: z.looseObject({ type: z.string() }) }),
  z.object({
    snapshot: z.object({
      identity: z.looseObject({ username: z.string() }).nullable(),
      directory: z.array(z.unknown()),
      joined: z.array(z.unknown()),
      hosted: z.array(z.unknown()),
      outbox: z.array(z.unknown()),
    }),
  }),
]);

/** Parses one text frame from the server; `null` when it does not match the envelope. */
export function parseServerMessage(data: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = serverMessageSchema.safeParse(value);
  return parsed.success ? (parsed.data as ServerMessage) : null;
}
