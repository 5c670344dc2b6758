import type { Connection } from "../protocol/connection.js";
import { wireError } from "../protocol/errors.js";
import { encodeEvent } from "../protocol/frames.js";
import type { ChannelState } from "./channel.js";
import { corkAll, dropIfBacklogged, uncorkAll, writeToAll } from "./fanout.js";
import type { AppendResult, HistoryStore, NewMessage } from "./history-store.js";
import type { MemberConnection } from "./member-connection.js";

interface PendingSend {
  channel: ChannelState;
  session: MemberConnection;
  items: NewMessage[];
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

/** New messages of one channel in a batch, with the members that were there when they were stored. */
interface ChannelDelivery {
  channel: ChannelState;
  recipients: MemberConnection[];
  frames: string[];
}

interface Publication {
  deliveries: ChannelDelivery[];
  corked: Set<Connection>;
}

/**
 * Stores sends in batches and broadcasts them. Every `MESSAGE`/`CACHE` that arrives in the same turn
 * of the event loop is stored in one transaction (flushed with `setImmediate`). After the commit the
 * senders' promises resolve, so the dispatcher writes their `OK`s; the `MESSAGE` events follow one
 * `setImmediate` later, so on a sender's connection the `OK` always comes first. Every connection
 * involved stays corked from commit to broadcast: one writev per connection per batch.
 *
 * A member still holding more than `maxQueuedBytes` unread from earlier batches is dropped rather
 * than written to. Events go to the members present at commit time (a member joining in between got the messages
 * in its `CONNECT` history) that are still members at broadcast time.
 */
export class MessageBatcher {
  private queue: PendingSend[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly publications: Publication[] = [];
  private publishTimer: NodeJS.Immediate | undefined;
  private closed = false;
  private batches = 0;
  private stored = 0;

  constructor(
    private readonly store: HistoryStore,
    /** A member with more than this left unread from earlier batches is dropped instead of written to. */
    private readonly maxQueuedBytes: number,
  ) {}

  /** Queues messages from one request; resolves with one result per message, in order. */
  enqueue(channel: ChannelState, session: MemberConnection, items: NewMessage[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(wireError("SHUTTING_DOWN", "the host is shutting down"));
    return new Promise((resolve, reject) => {
      this.queue.push({ channel, session, items, resolve, reject });
      this.flushTimer ??= setImmediate(() => this.flush());
    });
  }

  stats(): { queuedRequests: number; batches: number; stored: number } {
    return { queuedRequests: this.queue.length, batches: this.batches, stored: this.stored };
  }

  /** Rejects what was not stored yet and broadcasts what was. */
  close(): void {
    this.closed = true;
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const queue = this.queue;
    this.queue = [];
    for (const pending of queue) pending.reject(wireError("SHUTTING_DOWN", "the host is shutting down"));
    this.publish();
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batch: PendingSend[] = [];
    for (const pending of this.queue) {
      if (pending.channel.closed)
        pending.reject(wireError("NOT_JOINED", `${pending.channel.name} was closed`));
      else batch.push(pending);
    }
    this.queue = [];
    if (batch.length === 0) return;
    let results: AppendResult[];
    try {
      results = this.store.append(batch.flatMap((pending) => pending.items));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.batches += 1;
    const deliveries = new Map<ChannelState, ChannelDelivery>();
    const corked = new Set<Connection>();
    const outcomes: AppendResult[][] = [];
    let offset = 0;
    for (const pending of batch) {
      const own = results.slice(offset, offset + pending.items.length);
      offset += pending.items.length;
      outcomes.push(own);
      corked.add(pending.session.connection);
      for (const result of own) {
        if (result.duplicate) continue;
        this.stored += 1;
        let delivery = deliveries.get(pending.channel);
        if (delivery === undefined) {
          const recipients = [...pending.channel.members].filter(
            (member) => !dropIfBacklogged(member.connection, this.maxQueuedBytes),
          );
          for (const member of recipients) corked.add(member.connection);
          delivery = { channel: pending.channel, recipients, frames: [] };
          deliveries.set(pending.channel, delivery);
        }
        delivery.frames.push(encodeEvent("MESSAGE", result.message));
      }
    }
    corkAll(corked);
    this.publications.push({ deliveries: [...deliveries.values()], corked });
    this.publishTimer ??= setImmediate(() => this.publish());
    for (const [index, pending] of batch.entries()) pending.resolve(outcomes[index] ?? []);
  }

  private publish(): void {
    clearImmediate(this.publishTimer);
    this.publishTimer = undefined;
    for (const publication of this.publications.splice(0)) {
      for (const delivery of publication.deliveries) {
        const frames = Buffer.from(delivery.frames.join(""));
        const members = delivery.channel.members;
        writeToAll(
          delivery.recipients.filter((session) => members.has(session)),
          frames,
        );
      }
      uncorkAll(publication.corked);
    }
  }
}
