import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "../protocol/host-schemas.js";
import { nameKey } from "../protocol/names.js";
import type { View } from "../protocol/tracker-schemas.js";
import { type Database, openDatabase, schemaVersion } from "../util/sqlite.js";

/**
 * A host's SQLite database (`host.db` in its data dir): hosted channels with their settings and
 * authorized users, every channel's messages, and the tracker's public key so tickets can be
 * checked while the tracker is down.
 *
 * Durability: WAL with `synchronous=FULL`, so a commit is on disk before it returns and a message
 * whose `OK` was sent survives a crash of the host process or of the machine. Messages are written
 * in batches (one transaction per batch, see `MessageBatcher`), which keeps the fsync cost per
 * message small.
 */

export const HOST_DB_FILE = "host.db";

/** Numbered migrations: entry `i` moves `user_version` from `i` to `i + 1`. */
export const HOST_MIGRATIONS: readonly string[] = [
  `CREATE TABLE channels (
     name TEXT PRIMARY KEY,
     view TEXT NOT NULL CHECK (view IN ('public', 'private')),
     moderated INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE messages (
     channel TEXT NOT NULL,
     seq INTEGER NOT NULL,
     msg_id TEXT NOT NULL,
     sender TEXT NOT NULL,
     text TEXT NOT NULL,
     ts TEXT NOT NULL,
     sent_at TEXT,
     PRIMARY KEY (channel, seq)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX messages_idempotency ON messages (channel, sender, msg_id);
   CREATE TABLE authorizations (
     channel TEXT NOT NULL,
     user_key TEXT NOT NULL,
     username TEXT NOT NULL,
     PRIMARY KEY (channel, user_key)
   ) WITHOUT ROWID;
   CREATE TABLE tracker_key (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     public_key TEXT NOT NULL,
     issuer TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
];

export interface StoredChannel {
  name: string;
  view: View;
  moderated: boolean;
  /** Authorized users, as the owner spelled them. */
  authorized: string[];
}

export interface TrackerKey {
  publicKey: string;
  issuer: string;
}

/** One message to store: who sent it and what; `seq` and `ts` are given by the store. */
export interface NewMessage {
  channel: string;
  from: string;
  msgId: string;
  text: string;
  sentAt: string | null;
}

export interface AppendResult {
  message: ChatMessage;
  /** The message was stored before under the same `(channel, from, msgId)`; `message` is that original. */
  duplicate: boolean;
}

export interface HistoryPage {
  messages: ChatMessage[];
  hasMore: boolean;
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit: number;
}

const MESSAGE_COLUMNS = `channel, seq, msg_id AS msgId, sender AS "from", text, ts, sent_at AS sentAt`;

interface ChannelRow {
  name: string;
  view: View;
  moderated: number;
}

export class HistoryStore {
  private readonly db: Database;
  private readonly latest = new Map<string, number>();
  private readonly statements;
  private readonly appendTransaction: (
    batch: readonly NewMessage[],
    ts: string,
    next: Map<string, number>,
  ) => AppendResult[];

  private constructor(db: Database) {
    this.db = db;
    this.statements = {
      channels: db.prepare<[], ChannelRow>("SELECT name, view, moderated FROM channels ORDER BY name"),
      authorizedOf: db.prepare<[string], { username: string }>(
        "SELECT username FROM authorizations WHERE channel = ? ORDER BY user_key",
      ),
      insertChannel: db.prepare<[string, View, number, string]>(
        "INSERT INTO channels (name, view, moderated, created_at) VALUES (?, ?, ?, ?)",
      ),
      updateChannel: db.prepare<[View, number, string]>(
        "UPDATE channels SET view = ?, moderated = ? WHERE name = ?",
      ),
      deleteChannel: db.prepare<[string]>("DELETE FROM channels WHERE name = ?"),
      deleteMessages: db.prepare<[string]>("DELETE FROM messages WHERE channel = ?"),
      deleteAuthorizations: db.prepare<[string]>("DELETE FROM authorizations WHERE channel = ?"),
      grant: db.prepare<[string, string, string]>(
        "INSERT INTO authorizations (channel, user_key, username) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET username = excluded.username",
      ),
      revoke: db.prepare<[string, string]>("DELETE FROM authorizations WHERE channel = ? AND user_key = ?"),
      maxSeq: db.prepare<[string], { seq: number | null }>(
        "SELECT MAX(seq) AS seq FROM messages WHERE channel = ?",
      ),
      count: db.prepare<[string], { count: number }>(
        "SELECT COUNT(*) AS count FROM messages WHERE channel = ?",
      ),
      findByMsgId: db.prepare<[string, string, string], ChatMessage>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND sender = ? AND msg_id = ?`,
      ),
      insertMessage: db.prepare<[string, number, string, string, string, string, string | null]>(
        `INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (channel, sender, msg_id) DO NOTHING`,
      ),
      latestPage: db.prepare<[string, number], ChatMessage>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? ORDER BY seq DESC LIMIT ?`,
      ),
      beforePage: db.prepare<[string, number, number], ChatMessage>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      afterPage: db.prepare<[string, number, number], ChatMessage>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND seq > ? ORDER BY seq ASC LIMIT ?`,
      ),
      betweenPage: db.prepare<[string, number, number, number], ChatMessage>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`,
      ),
      trackerKey: db.prepare<[], { publicKey: string; issuer: string }>(
        "SELECT public_key AS publicKey, issuer FROM tracker_key WHERE id = 1",
      ),
      saveTrackerKey: db.prepare<[string, string, string]>(
        `INSERT INTO tracker_key (id, public_key, issuer, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET public_key = excluded.public_key, issuer = excluded.issuer, updated_at = excluded.updated_at`,
      ),
    };
    this.appendTransaction = db.transaction((batch, ts, next) => this.appendBatch(batch, ts, next));
  }

  /** Opens (creating if needed) `host.db` in `dataDir` and applies pending migrations. */
  static open(dataDir: string): HistoryStore {
    mkdirSync(dataDir, { recursive: true });
    return HistoryStore.openFile(join(dataDir, HOST_DB_FILE));
  }

  static openFile(path: string): HistoryStore {
    return new HistoryStore(openDatabase(path, { migrations: HOST_MIGRATIONS, label: "host.db" }));
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  channels(): StoredChannel[] {
    return this.statements.channels.all().map((row) => ({
      name: row.name,
      view: row.view,
      moderated: row.moderated === 1,
      authorized: this.statements.authorizedOf.all(row.name).map((entry) => entry.username),
    }));
  }

  addChannel(name: string, view: View, moderated: boolean): void {
    this.statements.insertChannel.run(name, view, moderated ? 1 : 0, new Date().toISOString());
    this.latest.delete(name);
  }

  updateChannel(name: string, view: View, moderated: boolean): void {
    this.statements.updateChannel.run(view, moderated ? 1 : 0, name);
  }

  /** Deletes a channel with its messages and authorizations. */
  deleteChannel(name: string): void {
    this.db.transaction(() => {
      this.statements.deleteMessages.run(name);
      this.statements.deleteAuthorizations.run(name);
      this.statements.deleteChannel.run(name);
    })();
    this.latest.delete(name);
  }

  setAuthorized(channel: string, username: string, granted: boolean): void {
    if (granted) this.statements.grant.run(channel, nameKey(username), username);
    else this.statements.revoke.run(channel, nameKey(username));
  }

  trackerKey(): TrackerKey | undefined {
    return this.statements.trackerKey.get();
  }

  saveTrackerKey(key: TrackerKey): void {
    this.statements.saveTrackerKey.run(key.publicKey, key.issuer, new Date().toISOString());
  }

  /** Highest stored seq of a channel, 0 when it has none. */
  latestSeq(channel: string): number {
    let seq = this.latest.get(channel);
    if (seq === undefined) {
      seq = this.statements.maxSeq.get(channel)?.seq ?? 0;
      this.latest.set(channel, seq);
    }
    return seq;
  }

  storedCount(channel: string): number {
    return this.statements.count.get(channel)?.count ?? 0;
  }

  /**
   * Stores a batch of messages in one transaction: each gets the next seq of its channel, unless
   * `(channel, from, msgId)` was stored before (in an earlier batch or earlier in this one), in which
   * case the original is returned as a duplicate. Either every message is stored or none is.
   */
  append(batch: readonly NewMessage[]): AppendResult[] {
    const ts = new Date().toISOString();
    const next = new Map<string, number>();
    const results = this.appendTransaction(batch, ts, next);
    // Only a committed transaction moves the counters on.
    for (const [channel, seq] of next) this.latest.set(channel, seq);
    return results;
  }

  /** Inserts each new message under the next seq; a repeat of (channel, from, msgId) finds the original. */
  private appendBatch(batch: readonly NewMessage[], ts: string, next: Map<string, number>): AppendResult[] {
    return batch.map((item): AppendResult => {
      const seq = (next.get(item.channel) ?? this.latestSeq(item.channel)) + 1;
      const inserted = this.statements.insertMessage.run(
        item.channel,
        seq,
        item.msgId,
        item.from,
        item.text,
        ts,
        item.sentAt,
      );
      if (inserted.changes === 0) {
        const existing = this.statements.findByMsgId.get(item.channel, item.from, item.msgId);
        if (existing === undefined) throw new Error(`message ${item.msgId} conflicted but is not stored`);
        return { message: existing, duplicate: true };
      }
      next.set(item.channel, seq);
      const message: ChatMessage = {
        channel: item.channel,
        seq,
        msgId: item.msgId,
        from: item.from,
        text: item.text,
        ts,
        sentAt: item.sentAt,
      };
      return { message, duplicate: false };
    });
  }

  /**
   * A page in ascending seq. `before` and `after` bound it (exclusive); with `after` the page starts
   * at the low end, otherwise at the high end. `hasMore` says more exist beyond the page in the
   * direction it was read.
   */
  page(channel: string, query: PageQuery): HistoryPage {
    const { before, after, limit } = query;
    const probe = limit + 1;
    let rows: ChatMessage[];
    let ascending = true;
    if (after !== undefined && before !== undefined) {
      rows = this.statements.betweenPage.all(channel, after, before, probe);
    } else if (after !== undefined) {
      rows = this.statements.afterPage.all(channel, after, probe);
    } else if (before !== undefined) {
      rows = this.statements.beforePage.all(channel, before, probe);
      ascending = false;
    } else {
      rows = this.statements.latestPage.all(channel, probe);
      ascending = false;
    }
    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    if (!ascending) rows.reverse();
    return { messages: rows, hasMore };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
