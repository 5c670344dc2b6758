import type {
  HostedChannel,
  Identity,
  JoinedChannel,
  OutboxEntry,
  PeerEvent,
  QueueReason,
} from "../api/index.js";
import type { ChatMessage } from "../protocol/host-schemas.js";
import type { Role, View } from "../protocol/tracker-schemas.js";
import type { Output } from "./format.js";

/** Outbox entries remembered so their acknowledgement is shown once (oldest forgotten first). */
export const MAX_TRACKED_PENDING = 1000;

const REMOVAL_TEXT = {
  PRIVATE_CHANNEL: "the channel became private",
  REVOKED: "your access was revoked",
  CHANNEL_CLOSED: "the host closed the channel",
} as const;

/** What the printer needs to know about the session it prints for. */
export interface PrinterFocus {
  /** The channel the user is looking at: its messages are marked read as they are printed. */
  current(): string | null;
  markRead(channel: string): void;
  username(): string | null;
}

interface PendingShown {
  channel: string;
  text: string;
  /** Set once `delivered #N` was printed: the host's copy, which follows, is then not printed again. */
  acknowledged: boolean;
}

/**
 * Turns the peer's event stream into short lines. A command that learns the same fact from its
 * own result reports it through the same method, so each change is printed once. Outgoing messages
 * are rendered from their events in the order the peer guarantees (see `PeerEvent`): a message that
 * waits is printed as pending once, then `delivered #N` or `not delivered` / `cancelled`.
 */
export class EventPrinter {
  private readonly pending = new Map<string, PendingShown>();
  private readonly hosted = new Map<string, { listed: boolean; everListed: boolean }>();
  private readonly settingsShown = new Map<string, string>();
  private identityShown: string | undefined;
  private trackerDown = false;

  constructor(
    private readonly out: Output,
    private readonly focus: PrinterFocus,
  ) {}

  handle(event: PeerEvent): void {
    switch (event.type) {
      case "identity":
        this.identity(event.identity);
        return;
      case "tracker":
        this.tracker(event.state);
        return;
      case "directory":
        return;
      case "joined":
        this.joined(event.channel, event.history);
        return;
      case "left":
        this.left(event.channel, event.reason);
        return;
      case "link":
        this.out.notice(`[${event.channel}] host ${event.state === "online" ? "reachable" : event.state}`);
        return;
      case "message":
        this.message(event.message, event.own);
        return;
      case "queued":
        this.queued(event.entry, event.reason);
        return;
      case "delivered":
        this.acknowledge(event.msgId, event.seq);
        return;
      case "dropped":
        this.dropped(event.msgId, event.reason, event.code, event.message);
        return;
      case "presence":
        this.presence(event.channel, event.username, event.role, event.status);
        return;
      case "settings":
        this.settings(event.channel, event.view, event.moderated);
        return;
      case "hosting":
        this.hosting(event.channel);
        return;
      case "unhosted":
        this.unhosted(event.channel);
        return;
      case "notice":
        this.notice(event.level, event.text, event.code);
        return;
    }
  }

  identity(identity: Identity | null): void {
    const key = identity === null ? "" : `${identity.username}/${identity.role}/${identity.invisible}`;
    if (key === this.identityShown) return;
    const previous = this.identityShown;
    this.identityShown = key;
    if (identity === null) {
      // The next sign-in starts afresh: its hosted channels and outbox are printed again.
      this.pending.clear();
      this.hosted.clear();
      if (previous !== undefined && previous !== "") this.out.notice("signed out");
      return;
    }
    const [previousName] = (previous ?? "").split("/");
    if (previousName === identity.username && identity.role === "user") {
      this.out.notice(identity.invisible ? "you are now invisible" : "you are now visible");
      return;
    }
    this.out.line(
      `signed in as ${identity.username} (${identity.role}${identity.invisible ? ", invisible" : ""})`,
    );
  }

  joined(channel: JoinedChannel, history: readonly ChatMessage[]): void {
    const members = `${channel.members.length} online`;
    const flags = [channel.view, channel.moderated ? "moderated" : null, members].filter((x) => x !== null);
    this.out.line(`joined ${channel.name} (owner ${channel.owner}, ${flags.join(", ")})`);
    if (channel.role === "guest") this.out.notice(`[${channel.name}] guests can read but not send`);
    if (channel.state !== "online") {
      this.out.notice(
        `[${channel.name}] host ${channel.state}; messages wait in the outbox until it is back`,
      );
    }
    for (const message of history) this.out.message(message, { own: false });
    if (this.focus.current() === channel.name) this.focus.markRead(channel.name);
  }

  left(channel: string, reason: "user" | keyof typeof REMOVAL_TEXT): void {
    this.settingsShown.delete(channel);
    if (reason === "user") this.out.line(`left ${channel}`);
    else this.out.line(`removed from ${channel}: ${REMOVAL_TEXT[reason]} (${reason})`);
  }

  message(message: ChatMessage, own: boolean): void {
    const shown = own ? this.pending.get(message.msgId) : undefined;
    if (shown?.acknowledged === true) {
      this.pending.delete(message.msgId);
      return;
    }
    this.out.message(message, { own });
    if (this.focus.current() === message.channel) this.focus.markRead(message.channel);
  }

  /**
   * A message that waits in the outbox: shown as pending once, with a hint when the channel is not
   * joined. One being sent right now is not shown: its delivery prints it as a message.
   */
  queued(entry: OutboxEntry, reason: QueueReason): void {
    const { channel, msgId } = entry;
    if (reason === "sending" || this.pending.has(msgId)) return;
    if (this.pending.size >= MAX_TRACKED_PENDING) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(msgId, { channel, text: entry.text, acknowledged: false });
    this.out.pending(channel, entry.sentAt, this.focus.username() ?? "you", entry.text);
    if (reason === "not-joined") this.out.notice(`pending: join ${channel} to deliver`);
  }

  /** An outbox entry shown as pending was acknowledged by its host. */
  acknowledge(msgId: string, seq: number): void {
    const shown = this.pending.get(msgId);
    if (shown === undefined || shown.acknowledged) return;
    shown.acknowledged = true;
    this.out.delivered(shown.channel, seq, shown.text);
  }

  /**
   * An outbox entry dropped for good: its pending line gets one `not delivered` (or `cancelled`) line
   * and is forgotten. Only entries shown as pending are printed: any other was refused while its
   * `/send` waited, and that command prints the error itself.
   */
  dropped(msgId: string, reason: "refused" | "cancelled", code: string, message: string): void {
    const shown = this.pending.get(msgId);
    if (shown === undefined || shown.acknowledged) return;
    this.pending.delete(msgId);
    if (reason === "cancelled") this.out.cancelled(shown.channel, shown.text);
    else this.out.notDelivered(shown.channel, shown.text, code, message);
  }

  presence(channel: string, username: string, role: Role, status: "online" | "offline"): void {
    const who = role === "guest" ? `${username} (guest)` : username;
    this.out.notice(`[${channel}] ${who} is ${status}`);
  }

  settings(channel: string, view: View, moderated: boolean): void {
    const text = `${view}, ${moderated ? "moderated" : "not moderated"}`;
    if (this.settingsShown.get(channel) === text) return;
    this.settingsShown.set(channel, text);
    this.out.notice(`[${channel}] now ${text}`);
  }

  /** `hosting NAME on H:P` once the tracker lists it; later changes of the listing as notices. */
  hosting(channel: HostedChannel): void {
    const before = this.hosted.get(channel.name);
    const listed = channel.listed && channel.address !== null;
    this.hosted.set(channel.name, { listed, everListed: (before?.everListed ?? false) || listed });
    const where = `${channel.address?.host}:${channel.address?.port}${reachNote(channel.reach)}`;
    if (listed && before?.everListed !== true) {
      this.out.line(`hosting ${channel.name} on ${where}`);
    } else if (listed && before?.listed === false) {
      this.out.notice(`${channel.name} listed again on ${where}`);
    } else if (!listed && before?.listed === true) {
      this.out.notice(`${channel.name} not listed: the tracker is unreachable, retrying`);
    }
  }

  unhosted(channel: string): void {
    if (!this.hosted.delete(channel)) return;
    this.out.line(`stopped hosting ${channel}`);
  }

  private tracker(state: "connected" | "disconnected"): void {
    if (state === "disconnected" && !this.trackerDown) {
      this.trackerDown = true;
      this.out.notice("tracker unreachable, retrying");
    } else if (state === "connected" && this.trackerDown) {
      this.trackerDown = false;
      this.out.notice("tracker reachable again");
    }
  }

  private notice(level: "info" | "warn" | "error", text: string, code: string | undefined): void {
    if (level === "error") this.out.error(code ?? "INTERNAL_ERROR", text);
    else if (level === "warn") this.out.warn(text);
    else this.out.notice(text);
  }
}

/** What a host is told when the tracker could not dial it at the address it lists. */
function reachNote(reach: HostedChannel["reach"]): string {
  if (reach === "relay")
    return " (the tracker cannot dial it there: members come through the tracker's relay)";
  if (reach === "unreachable")
    return " (the tracker cannot dial it there and does not relay: forward the port on your router, or use --advertise)";
  return "";
}
