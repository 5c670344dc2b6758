import type { ChatMessage } from "../protocol/host-schemas.js";
import type { ChannelListing, Role, View } from "../protocol/tracker-schemas.js";
import type { HostedChannel, Identity, JoinedChannel, LinkState, OutboxEntry } from "./peer-api.js";

/**
 * Everything a peer tells its user interface. One stream, discriminated by `type`.
 *
 * `dropped`: one outbox entry left the outbox for good without being delivered (its host refused it,
 * this user was removed from the channel, or the channel does not exist); `code` and `message` are the
 * refusal's. When a `send()` call is still waiting for that entry, that call also rejects with the same
 * error; for entries no call waits for (queued earlier, or in an earlier run) one summary `notice`
 * per refusal follows the `dropped` events.
 */
export type PeerEvent =
  | { type: "identity"; identity: Identity | null }
  | { type: "tracker"; state: "connected" | "disconnected" }
  | { type: "directory"; channels: ChannelListing[] }
  | { type: "joined"; channel: JoinedChannel; history: ChatMessage[] }
  | { type: "left"; channel: string; reason: "user" | "PRIVATE_CHANNEL" | "REVOKED" | "CHANNEL_CLOSED" }
  | { type: "link"; channel: string; state: LinkState }
  | { type: "message"; message: ChatMessage; own: boolean }
  | { type: "queued"; entry: OutboxEntry }
  | { type: "delivered"; channel: string; msgId: string; seq: number }
  | { type: "dropped"; channel: string; msgId: string; code: string; message: string }
  | { type: "presence"; channel: string; username: string; role: Role; status: "online" | "offline" }
  | { type: "settings"; channel: string; view: View; moderated: boolean }
  | { type: "hosting"; channel: HostedChannel }
  | { type: "unhosted"; channel: string }
  | { type: "notice"; level: "info" | "warn" | "error"; text: string; code?: string };

export type PeerEventListener = (event: PeerEvent) => void;
