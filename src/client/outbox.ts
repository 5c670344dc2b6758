import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { OutboxEntry } from "../api/index.js";
import type { DeviceKey } from "../auth/device-key.js";
import { signMessage } from "../auth/message-signature.js";

interface OutboxRow {
  position: number;
  channel: string;
  msg_id: string;
  text: string;
  sent_at: string;
  sig: string | null;
  cert: string | null;
}

/** Who writes a message: the name, the device key that signs it and the ticket certifying that key. */
export interface Author {
  username: string;
  key: DeviceKey;
  ticket: string;
}

/** An entry as the outbox keeps it: signed when written (entries from before signing have null). */
export interface QueuedMessage extends OutboxEntry {
  sig: string | null;
  cert: string | null;
}

/** The signature and certificate of an entry, made now by `author` if it was written unsigned. */
export function signatureOf(entry: QueuedMessage, author: Author): { sig: string; cert: string } {
  if (entry.sig !== null && entry.cert !== null) return { sig: entry.sig, cert: entry.cert };
  return { sig: signMessage(author.key, { ...entry, from: author.username }), cert: author.ticket };
}

function toEntry(row: OutboxRow): QueuedMessage {
  return {
    channel: row.channel,
    msgId: row.msg_id,
    text: row.text,
    sentAt: row.sent_at,
    position: row.position,
    sig: row.sig,
    cert: row.cert,
  };
}

/**
 * Messages written but not yet acknowledged by their channel's host. Each entry is committed before
 * `add` returns, so it survives a crash, and leaves only when the host said OK (or refused it for good).
 */
export class Outbox {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      add: db.prepare<[string, string, string, string, string, string], OutboxRow>(
        "INSERT INTO outbox (channel, msg_id, text, sent_at, sig, cert) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
      ),
      byChannel: db.prepare<[string, number], OutboxRow>(
        "SELECT * FROM outbox WHERE channel = ? ORDER BY position LIMIT ?",
      ),
      all: db.prepare<[], OutboxRow>("SELECT * FROM outbox ORDER BY position"),
      get: db.prepare<[string], OutboxRow>("SELECT * FROM outbox WHERE msg_id = ?"),
      remove: db.prepare<[string]>("DELETE FROM outbox WHERE msg_id = ?"),
      adoptChannel: db.prepare<[string, string, string]>(
        "UPDATE outbox SET channel = ? WHERE lower(channel) = lower(?) AND channel <> ?",
      ),
      removeChannel: db.prepare<[string], OutboxRow>("DELETE FROM outbox WHERE channel = ? RETURNING *"),
      count: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM outbox WHERE channel = ?"),
      counts: db.prepare<[], { channel: string; n: number }>(
        "SELECT channel, COUNT(*) AS n FROM outbox GROUP BY channel ORDER BY channel",
      ),
    };
  }

  /** Writes a message, signed by `author` now, so it verifies whenever it is delivered. */
  add(channel: string, text: string, author: Author, now: Date = new Date()): QueuedMessage {
    const msgId = randomUUID();
    const sentAt = now.toISOString();
    const sig = signMessage(author.key, { channel, from: author.username, msgId, sentAt, text });
    const row = this.statements.add.get(channel, msgId, text, sentAt, sig, author.ticket);
    if (row === undefined) throw new Error("outbox insert returned no row");
    return toEntry(row);
  }

  /** The oldest `limit` entries of one channel, in order. */
  head(channel: string, limit: number): QueuedMessage[] {
    return this.statements.byChannel.all(channel, limit).map(toEntry);
  }

  entries(channel?: string): QueuedMessage[] {
    const rows =
      channel === undefined ? this.statements.all.all() : this.statements.byChannel.all(channel, -1);
    return rows.map(toEntry);
  }

  get(msgId: string): QueuedMessage | undefined {
    const row = this.statements.get.get(msgId);
    return row === undefined ? undefined : toEntry(row);
  }

  /** Files the entries written for `channel` in another case under this spelling (names are unique regardless of case). */
  adoptChannel(channel: string): void {
    this.statements.adoptChannel.run(channel, channel, channel);
  }

  /** Removes acknowledged entries in one transaction. */
  remove(msgIds: readonly string[]): void {
    this.db.transaction(() => {
      for (const msgId of msgIds) this.statements.remove.run(msgId);
    })();
  }

  /** Drops every entry of a channel (it can no longer be delivered) and returns them. */
  removeChannel(channel: string): QueuedMessage[] {
    return this.statements.removeChannel.all(channel).map(toEntry);
  }

  count(channel: string): number {
    return this.statements.count.get(channel)?.n ?? 0;
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const row of this.statements.counts.all()) counts[row.channel] = row.n;
    return counts;
  }
}
