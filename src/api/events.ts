import type { ChatMessage } from "../protocol/host-schemas.js";
import type { ChannelListing, Role, View } from "../protocol/tracker-schemas.js";
import type {
  HostedChannel,
  Identity,
  JoinedChannel,
  LinkState,
  OutboxEntry,
  QueueReason,
} from "./peer-api.js";

/**
 * Everything a peer tells its user interface. One stream, discriminated by `type`.
 *
 * An outgoing message's lifecycle, in this order for each outbox entry (by `msgId`), so that a user
 * interface only renders it:
 * 1. `queued`, saying where the entry waits (`reason`): emitted before `send()` returns, and for an
 *    entry left in the outbox by an earlier run right after the sign-in's `identity` event;
 * 2. `queued` again, same entry, each time the reason changes (the host went away, the user joined
 *    or left the channel);
 * 3. exactly one of `delivered` (the host stored it as `seq`) or `dropped`. Nothing about the entry
 *    follows, except the host's copy as an own `message` event, which always comes after `delivered`.
 *
 * `dropped` with `reason: "refused"`: the entry left the outbox for good without being delivered (its
 * host refused it, this user was removed from the channel, or may not enter it); `code` and `message`
 * are the refusal's. When a `send()` call is still waiting for that entry, that call also rejects with
 * the same error; for entries no call waits for (queued earlier, or in an earlier run) one summary
 * `notice` per refusal follows the `dropped` events. `reason: "cancelled"` (code `CANCELLED`): the
 * user cancelled it with `cancelPending`.
 */
export type PeerEvent =
  | { type: "identity"; identity: Identity | null }
  | { type: "tracker"; state: "connected" | "disconnected" }
  | { type: "directory"; channels: ChannelListing[] }
  | { type: "joined"; channel: JoinedChannel; history: ChatMessage[] }
  | { type: "left"; channel: string; reason: "user" | "PRIVATE_CHANNEL" | "REVOKED" | "CHANNEL_CLOSED" }
  | { type: "link"; channel: string; state: LinkState }
  | { type: "message"; message: ChatMessage; own: boolean }
  | { type: "queued"; entry: OutboxEntry; reason: QueueReason }
  | { type: "delivered"; channel: string; msgId: string; seq: number }
  | {
      type: "dropped";
      channel: string;
      msgId: string;
      reason: "refused" | "cancelled";
      code: string;
      message: string;
    }
  | { type: "presence"; channel: string; username: string; role: Role; status: "online" | "offline" }
  | { type: "settings"; channel: string; view: View; moderated: boolean }
  | { type: "hosting"; channel: HostedChannel }
  | { type: "unhosted"; channel: string }
  | { type: "notice"; level: "info" | "warn" | "error"; text: string; code?: string; channel?: string };

export type PeerEventListener = (event: PeerEvent) => void;
