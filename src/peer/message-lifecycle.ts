import type { OutboxEntry, PeerEvent, QueueReason, SendOutcome } from "../api/index.js";
import type { FlushListener } from "../client/outbox-flusher.js";
import { checkText } from "../host/sending.js";
import { type HychatError, wireError } from "../protocol/errors.js";
import { checkChannelName, type PeerContext, type UserState } from "./context.js";
import type { Directory } from "./directory.js";

interface DeliveryWaiter {
  channel: string;
  resolve(outcome: SendOutcome): void;
  reject(error: Error): void;
}

/**
 * Every outgoing message from `send()` to its end, and the one place that tells its story in the
 * event stream, in this order for each entry:
 *
 * 1. `queued` with where it waits (`sending`, `unreachable`, `not-joined`): before `send()` returns,
 *    or, for an entry left from an earlier run, right after sign-in;
 * 2. `queued` again each time the reason changes (the host went away, the user left or joined);
 * 3. exactly one of `delivered` (with its seq) or `dropped` (`refused` by the host or `cancelled` by
 *    the user); nothing about the entry follows, except the host's copy as a `message` event, which
 *    always comes after `delivered`.
 */
export class MessageLifecycle {
  /** Reason last announced for each entry still in the outbox. */
  private readonly announced = new Map<string, QueueReason>();
  /** Entries reported delivered from the host's copy before its OK arrived. */
  private readonly deliveredEarly = new Set<string>();
  private readonly waiters = new Map<string, DeliveryWaiter>();
  readonly flushListener: FlushListener;

  constructor(
    private readonly context: PeerContext,
    private readonly directory: Directory,
  ) {
    this.flushListener = {
      delivered: (entry, seq) => {
        if (this.deliveredEarly.delete(entry.msgId)) return;
        this.delivered(entry.channel, entry.msgId, seq);
      },
      dropped: (entries, error) => this.dropEntries(entries, error, "refused by its host and dropped"),
      stalled: (channel) => {
        this.settleQueued((waiter) => waiter.channel === channel);
        this.reannounce(channel, "unreachable");
      },
    };
  }

  get pendingSends(): number {
    return this.waiters.size;
  }

  /**
   * Sends now when the channel is joined and online; otherwise the message waits in the outbox
   * (for a channel not joined yet: until the user joins it).
   */
  async send(channel: string, text: string): Promise<SendOutcome> {
    const user = this.context.requireUser();
    if (user.role === "guest") throw wireError("GUEST_READ_ONLY", "guests can read but not send");
    checkText(text);
    const name = this.directory.canonicalName(user.links, checkChannelName(channel));
    const link = user.links.get(name);
    const credentials = this.context.tracker.credentials;
    if (credentials === undefined) throw wireError("NOT_SIGNED_IN", "sign in first");
    const entry = user.store.outbox.add(name, text, credentials);
    if (link === undefined || link.state !== "online") {
      const reason = link === undefined ? "not-joined" : "unreachable";
      this.announce(entry, reason);
      return { msgId: entry.msgId, status: "queued", reason };
    }
    this.announce(entry, "sending");
    const outcome = this.awaitDelivery(entry);
    link.flush();
    return outcome;
  }

  /** Entries still waiting, per channel, counted as `outbox()` lists them. */
  pendingCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of this.outbox()) counts[entry.channel] = (counts[entry.channel] ?? 0) + 1;
    return counts;
  }

  /** What still waits: an entry whose delivery was already reported (its OK on the way) is not listed. */
  outbox(channel?: string): OutboxEntry[] {
    const entries = this.context.user()?.store.outbox.entries(channel) ?? [];
    return entries.filter((entry) => !this.deliveredEarly.has(entry.msgId));
  }

  /** Cancels one entry waiting in the outbox; one of a channel being delivered right now cannot be. */
  cancel(msgId: string): void {
    const user = this.context.requireUser();
    const entry = user.store.outbox.get(msgId);
    if (entry === undefined) throw wireError("BAD_REQUEST", "no pending message with that id");
    if (user.links.get(entry.channel)?.state === "online") {
      throw wireError("BAD_REQUEST", `#${entry.channel} is online: its pending messages are being delivered`);
    }
    user.store.outbox.remove([msgId]);
    this.announced.delete(msgId);
    this.context.emit({
      type: "dropped",
      channel: entry.channel,
      msgId,
      reason: "cancelled",
      code: "CANCELLED",
      message: "cancelled",
    });
  }

  /** Announces the entries left in the outbox from an earlier run, once the user's links are open. */
  announceStored(user: UserState): void {
    for (const entry of user.store.outbox.entries()) {
      this.announce(entry, user.links.has(entry.channel) ? "unreachable" : "not-joined");
    }
  }

  /** The user joined (`unreachable` until the link is online) or left (`not-joined`) a channel. */
  reannounce(channel: string, reason: QueueReason): void {
    const user = this.context.user();
    if (user === undefined) return;
    for (const entry of user.store.outbox.entries(channel)) {
      const before = this.announced.get(entry.msgId);
      if (before !== reason && !this.deliveredEarly.has(entry.msgId)) this.announce(entry, reason);
    }
  }

  /**
   * Events from the channel links pass here: the host's copy of a message of ours that is still in
   * the outbox means it was delivered, which is said first, as the stated order requires.
   */
  linkEvent(event: PeerEvent): void {
    if (event.type === "message" && event.own && this.announced.has(event.message.msgId)) {
      const { channel, msgId, seq } = event.message;
      this.deliveredEarly.add(msgId);
      this.delivered(channel, msgId, seq);
    }
    this.context.emit(event);
  }

  /**
   * Reports entries already removed from the outbox for good: a `dropped` event each, the waiting
   * sends rejected with `error` (their callers show it), and one notice for the entries no send waits
   * for, which nothing else would report.
   */
  dropEntries(entries: readonly OutboxEntry[], error: HychatError, outcome: string): void {
    let unawaited = 0;
    for (const entry of entries) {
      const { channel, msgId } = entry;
      this.announced.delete(msgId);
      if (this.deliveredEarly.delete(msgId)) continue;
      this.context.emit({
        type: "dropped",
        channel,
        msgId,
        reason: "refused",
        code: error.code,
        message: error.message,
      });
      if (this.waiters.has(msgId)) this.settleWaiter(msgId, error);
      else unawaited += 1;
    }
    const channel = entries[0]?.channel;
    if (unawaited === 0 || channel === undefined) return;
    this.context.emit({
      type: "notice",
      level: "error",
      code: error.code,
      text: `${unawaited} queued message(s) to #${channel} ${outcome}: ${error.message}`,
    });
  }

  /** Resolves the matching sends as `queued`: their entries stay in the outbox. */
  settleQueued(matches: (waiter: DeliveryWaiter) => boolean): void {
    for (const [msgId, waiter] of [...this.waiters]) {
      if (matches(waiter)) this.settleWaiter(msgId, { msgId, status: "queued", reason: "unreachable" });
    }
  }

  /** The user's state is closing: every waiting send resolves as queued, and nothing is tracked any more. */
  reset(): void {
    this.settleQueued(() => true);
    this.announced.clear();
    this.deliveredEarly.clear();
  }

  private announce(entry: OutboxEntry, reason: QueueReason): void {
    this.announced.set(entry.msgId, reason);
    this.context.emit({ type: "queued", entry, reason });
  }

  private delivered(channel: string, msgId: string, seq: number): void {
    this.announced.delete(msgId);
    this.context.emit({ type: "delivered", channel, msgId, seq });
    this.settleWaiter(msgId, { msgId, status: "delivered", seq });
  }

  private awaitDelivery(entry: OutboxEntry): Promise<SendOutcome> {
    return new Promise((resolve, reject) => {
      this.waiters.set(entry.msgId, { channel: entry.channel, resolve, reject });
    });
  }

  private settleWaiter(msgId: string, outcome: SendOutcome | Error): void {
    const waiter = this.waiters.get(msgId);
    if (waiter === undefined) return;
    this.waiters.delete(msgId);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }
}
