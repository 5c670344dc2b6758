import type { OutboxEntry } from "../api/index.js";
import { ConnectionError, HychatError } from "../protocol/errors.js";
import { type HostReply, type HostRequestBodies, MAX_PAGE } from "../protocol/host-schemas.js";
import { type BackoffOptions, backoffDelay } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import { type Author, type Outbox, type QueuedMessage, signatureOf } from "./outbox.js";

export interface OutboxFlusherOptions {
  /** Most entries sent in one `CACHE` (default 500, the protocol's maximum). */
  maxBatch?: number;
  /** Most JSON bytes of texts, ids and times in one `CACHE`, well under the 1 MiB frame cap (default 512 KiB). */
  maxBatchBytes?: number;
  /** Delays before retrying after a timeout or a server error. */
  backoff?: BackoffOptions;
}

export const DEFAULT_FLUSHER_OPTIONS = { maxBatch: MAX_PAGE, maxBatchBytes: 512 * 1024 };

/** The channel's side of a flush: whether it is joined right now, and how to reach its host. */
export interface FlushTarget {
  readonly channel: string;
  isOnline(): boolean;
  request<C extends "MESSAGE" | "CACHE">(command: C, body: HostRequestBodies[C]): Promise<HostReply<C>>;
  /** The host answered NOT_JOINED: it no longer counts this connection as a member. */
  rejoin(): void;
  /** Who signs entries written before messages were signed; undefined while signed out. */
  author(): Author | undefined;
}

export interface FlushListener {
  delivered(entry: OutboxEntry, seq: number): void;
  /** Entries the host refused for good; they are already removed from the outbox. */
  dropped(entries: OutboxEntry[], error: HychatError): void;
  /** The loop stopped with entries still waiting; it resumes when the channel is online again. */
  stalled(channel: string): void;
}

/** Refusals that concern one message only: a batch refused with one of them is retried entry by entry. */
const PER_ENTRY_CODES = new Set(["TEXT_TOO_LONG", "EMPTY_TEXT", "BAD_REQUEST", "BAD_SIGNATURE"]);
/** Refusals that go away by themselves: the entry stays and is retried later. */
const TRANSIENT_CODES = new Set(["NO_SUCH_CHANNEL", "NOT_SIGNED_IN", "TOO_MANY_CONNECTIONS"]);

type BatchOutcome = "continue" | "stop";

/**
 * Delivers one channel's outbox in order: one loop at a time, `MESSAGE` for a single entry and
 * `CACHE` for a backlog. Entries leave the outbox only after the host's OK, so a lost reply means a
 * resend, which the host recognises by msgId and does not store twice.
 */
export class OutboxFlusher {
  private readonly options: typeof DEFAULT_FLUSHER_OPTIONS & { backoff: BackoffOptions };
  private running = false;
  private closed = false;
  private failures = 0;
  private singlesLeft = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: FlushTarget,
    private readonly outbox: Outbox,
    private readonly listener: FlushListener,
    private readonly logger: Logger,
    options: OutboxFlusherOptions = {},
  ) {
    this.options = {
      maxBatch: Math.min(MAX_PAGE, options.maxBatch ?? DEFAULT_FLUSHER_OPTIONS.maxBatch),
      maxBatchBytes: options.maxBatchBytes ?? DEFAULT_FLUSHER_OPTIONS.maxBatchBytes,
      backoff: options.backoff ?? {},
    };
  }

  get active(): boolean {
    return this.running;
  }

  /** Starts the loop unless one is running; a running loop picks up new entries by itself. */
  flush(): void {
    if (this.closed || this.running) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.run();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.target.isOnline()) {
        const batch = this.nextBatch();
        if (batch.length === 0) return;
        if ((await this.send(batch)) === "stop") return;
      }
    } finally {
      this.running = false;
      if (!this.closed && this.outbox.count(this.target.channel) > 0)
        this.listener.stalled(this.target.channel);
    }
  }

  private nextBatch(): QueuedMessage[] {
    if (this.singlesLeft > 0) {
      this.singlesLeft -= 1;
      return this.outbox.head(this.target.channel, 1);
    }
    const entries = this.outbox.head(this.target.channel, this.options.maxBatch);
    let bytes = 0;
    for (let i = 0; i < entries.length; i += 1) {
      const entry = entries[i] as QueuedMessage;
      bytes += Buffer.byteLength(
        JSON.stringify([entry.msgId, entry.text, entry.sentAt, entry.sig, entry.cert]),
      );
      if (i > 0 && bytes > this.options.maxBatchBytes) return entries.slice(0, i);
    }
    return entries;
  }

  private async send(batch: QueuedMessage[]): Promise<BatchOutcome> {
    const channel = this.target.channel;
    const author = this.target.author();
    if (author === undefined) return "stop";
    try {
      let seqs: Map<string, number>;
      const outgoing = (entry: QueuedMessage) => ({
        msgId: entry.msgId,
        text: entry.text,
        sentAt: entry.sentAt,
        ...signatureOf(entry, author),
      });
      if (batch.length === 1) {
        const [entry] = batch as [QueuedMessage];
        const reply = await this.target.request("MESSAGE", { channel, ...outgoing(entry) });
        seqs = new Map([[entry.msgId, reply.seq]]);
      } else {
        const messages = batch.map(outgoing);
        const reply = await this.target.request("CACHE", { channel, messages });
        seqs = new Map(reply.results.map((result) => [result.msgId, result.seq]));
      }
      const acknowledged = batch.filter((entry) => seqs.has(entry.msgId));
      this.outbox.remove(acknowledged.map((entry) => entry.msgId));
      this.failures = 0;
      for (const entry of acknowledged) this.listener.delivered(entry, seqs.get(entry.msgId) as number);
      if (acknowledged.length < batch.length) {
        this.logger.warn(
          { channel, sent: batch.length, acknowledged: acknowledged.length },
          "partial CACHE reply",
        );
        return this.retryLater();
      }
      return "continue";
    } catch (error) {
      return this.handleFailure(batch, error);
    }
  }

  private handleFailure(batch: OutboxEntry[], error: unknown): BatchOutcome {
    if (!(error instanceof HychatError)) {
      if (!(error instanceof ConnectionError)) this.logger.warn({ err: error }, "outbox flush failed");
      return this.retryLater();
    }
    if (error.code === "RATE_LIMITED") {
      const retryAfter = error.details.retryAfterMs;
      return this.retryLater(typeof retryAfter === "number" && retryAfter >= 0 ? retryAfter : undefined);
    }
    if (error.code === "NOT_JOINED") {
      this.target.rejoin();
      return "stop";
    }
    if (error.status === "SERVER_ERROR" || TRANSIENT_CODES.has(error.code)) return this.retryLater();
    if (batch.length > 1 && PER_ENTRY_CODES.has(error.code)) {
      this.singlesLeft = batch.length;
      return "continue";
    }
    this.outbox.remove(batch.map((entry) => entry.msgId));
    this.listener.dropped(batch, error);
    return "continue";
  }

  private retryLater(delayMs?: number): BatchOutcome {
    if (this.closed) return "stop";
    const delay = delayMs ?? backoffDelay(this.failures, this.options.backoff);
    this.failures += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, delay);
    return "stop";
  }
}
