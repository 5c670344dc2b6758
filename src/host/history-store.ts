import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "../protocol/host-schemas.js";
import { nameKey } from "../protocol/names.js";
import type { Revocation, View } from "../protocol/tracker-schemas.js";
import { type Database, openDatabase, schemaVersion } from "../util/sqlite.js";

/**
 * A host's SQLite database (`host.db` in its data dir): hosted channels with their settings and
 * authorized users, every channel's messages and the bytes they take, the tracker's public key so
 * tickets can be checked while the tracker is down, and the unhosts the tracker has not been told yet.
 *
 * Durability: WAL with `synchronous=FULL`, so a commit is on disk before it returns and a message
 * whose `OK` was sent survives a crash of the host process or of the machine. Messages are written
 * in batches (one transaction per batch, see `MessageBatcher`), which keeps the fsync cost per
 * message small.
 */

export const HOST_DB_FILE = "host.db";

/** Bytes counted for a message besides its fields: its seq and certificate id, roughly. */
export const MESSAGE_ROW_OVERHEAD = 32;

/** A stored message's size in SQL, the same sum as `messageBytes`. */
const MESSAGE_BYTES_SQL = `length(CAST(channel AS BLOB)) + length(CAST(sender AS BLOB)) + length(CAST(msg_id AS BLOB))
  + length(CAST(text AS BLOB)) + length(CAST(ts AS BLOB)) + COALESCE(length(CAST(sent_at AS BLOB)), 0)
  + COALESCE(length(CAST(sig AS BLOB)), 0) + ${MESSAGE_ROW_OVERHEAD}`;

const HOST_DB_REMEDY =
  "stop the peer, then restore it from a backup, or move it aside to start afresh (the history, " +
  "settings and authorized users of the channels hosted here are lost; /host them again)";

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
  // Signed messages: the author's signature, and the certificate (a ticket) stored once and referred to.
  // Revocations the tracker announced, kept so revoked tickets stay refused while it is down.
  `ALTER TABLE messages ADD COLUMN sig TEXT;
   ALTER TABLE messages ADD COLUMN cert_id INTEGER;
   CREATE TABLE certificates (
     id INTEGER PRIMARY KEY,
     cert TEXT NOT NULL UNIQUE
   );
   CREATE TABLE revocations (
     user_key TEXT NOT NULL,
     username TEXT NOT NULL,
     device TEXT NOT NULL,
     min_gen INTEGER NOT NULL,
     until INTEGER NOT NULL,
     PRIMARY KEY (user_key, device)
   ) WITHOUT ROWID;`,
  // The channel quota: each message's size and each channel's total, with the highest seq pruned.
  // Unhosts the tracker has not confirmed, sent again after a restart.
  `ALTER TABLE messages ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
   UPDATE messages SET size = ${MESSAGE_BYTES_SQL};
   CREATE TABLE channel_usage (
     channel TEXT PRIMARY KEY,
     bytes INTEGER NOT NULL,
     count INTEGER NOT NULL,
     pruned_through INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   INSERT INTO channel_usage (channel, bytes, count)
     SELECT channel, SUM(size), COUNT(*) FROM messages GROUP BY channel;
   CREATE TABLE pending_unhosts (
     name_key TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     requested_at TEXT NOT NULL
   ) WITHOUT ROWID;`,
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
  sentAt: string;
  sig: string;
  cert: string;
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

/** What a channel's stored messages take (see `HostLimits.channelQuotaBytes`). */
export interface ChannelUsage {
  bytes: number;
  count: number;
  /** Seqs 1 to this were deleted to stay under the quota (0: none). */
  prunedThrough: number;
}

export interface HistoryStoreOptions {
  /** Bytes of messages a channel keeps; beyond it the oldest are deleted (0 = no quota). */
  channelQuotaBytes?: number;
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit: number;
}

/** Messages with their certificates: `SELECT ${MESSAGES} WHERE m.channel = ? ...`. */
const MESSAGES = `m.channel, m.seq, m.msg_id AS msgId, m.sender AS "from", m.text, m.ts, m.sent_at AS sentAt,
  m.sig, c.cert FROM messages m LEFT JOIN certificates c ON c.id = m.cert_id`;
/** Certificate ids remembered: a channel's messages come from few certificates. */
const CERTIFICATE_ID_CACHE = 1024;

/** The bytes `MESSAGE_BYTES_SQL` counts for a message about to be stored. */
function messageBytes(item: NewMessage, ts: string): number {
  let bytes = MESSAGE_ROW_OVERHEAD;
  for (const field of [item.channel, item.from, item.msgId, item.text, ts, item.sentAt, item.sig]) {
    bytes += Buffer.byteLength(field);
  }
  return bytes;
}

const NO_USAGE: ChannelUsage = { bytes: 0, count: 0, prunedThrough: 0 };

interface ChannelRow {
  name: string;
  view: View;
  moderated: number;
}

export class HistoryStore {
  private readonly db: Database;
  private readonly channelQuotaBytes: number;
  private readonly latest = new Map<string, number>();
  private readonly certificateIds = new Map<string, number>();
  private readonly statements;
  private readonly appendTransaction: (
    batch: readonly NewMessage[],
    ts: string,
    next: Map<string, number>,
  ) => AppendResult[];

  private constructor(db: Database, options: HistoryStoreOptions) {
    this.db = db;
    this.channelQuotaBytes = options.channelQuotaBytes ?? 0;
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
      deleteUsage: db.prepare<[string]>("DELETE FROM channel_usage WHERE channel = ?"),
      usage: db.prepare<[string], ChannelUsage>(
        "SELECT bytes, count, pruned_through AS prunedThrough FROM channel_usage WHERE channel = ?",
      ),
      saveUsage: db.prepare<[string, number, number, number]>(
        `INSERT INTO channel_usage (channel, bytes, count, pruned_through) VALUES (?, ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET
           bytes = excluded.bytes, count = excluded.count, pruned_through = excluded.pruned_through`,
      ),
      oldest: db.prepare<[string, number, number], { seq: number; size: number }>(
        "SELECT seq, size FROM messages WHERE channel = ? AND seq > ? AND seq < ? ORDER BY seq",
      ),
      pruneThrough: db.prepare<[string, number]>("DELETE FROM messages WHERE channel = ? AND seq <= ?"),
      pendingUnhosts: db.prepare<[], { name: string }>("SELECT name FROM pending_unhosts ORDER BY name_key"),
      addPendingUnhost: db.prepare<[string, string, string]>(
        `INSERT INTO pending_unhosts (name_key, name, requested_at) VALUES (?, ?, ?)
         ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, requested_at = excluded.requested_at`,
      ),
      deletePendingUnhost: db.prepare<[string]>("DELETE FROM pending_unhosts WHERE name_key = ?"),
      grant: db.prepare<[string, string, string]>(
        "INSERT INTO authorizations (channel, user_key, username) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET username = excluded.username",
      ),
      revoke: db.prepare<[string, string]>("DELETE FROM authorizations WHERE channel = ? AND user_key = ?"),
      maxSeq: db.prepare<[string], { seq: number | null }>(
        "SELECT MAX(seq) AS seq FROM messages WHERE channel = ?",
      ),
      findByMsgId: db.prepare<[string, string, string], ChatMessage>(
        `SELECT ${MESSAGES} WHERE m.channel = ? AND m.sender = ? AND m.msg_id = ?`,
      ),
      insertMessage: db.prepare<
        [string, number, string, string, string, string, string, string, number, number]
      >(
        `INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at, sig, cert_id, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (channel, sender, msg_id) DO NOTHING`,
      ),
      findCertificate: db.prepare<[string], { id: number }>("SELECT id FROM certificates WHERE cert = ?"),
      insertCertificate: db.prepare<[string], { id: number }>(
        "INSERT INTO certificates (cert) VALUES (?) RETURNING id",
      ),
      latestPage: db.prepare<[string, number], ChatMessage>(
        `SELECT ${MESSAGES} WHERE m.channel = ? ORDER BY m.seq DESC LIMIT ?`,
      ),
      beforePage: db.prepare<[string, number, number], ChatMessage>(
        `SELECT ${MESSAGES} WHERE m.channel = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`,
      ),
      afterPage: db.prepare<[string, number, number], ChatMessage>(
        `SELECT ${MESSAGES} WHERE m.channel = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`,
      ),
      betweenPage: db.prepare<[string, number, number, number], ChatMessage>(
        `SELECT ${MESSAGES} WHERE m.channel = ? AND m.seq > ? AND m.seq < ? ORDER BY m.seq ASC LIMIT ?`,
      ),
      revocations: db.prepare<[number], Revocation>(
        "SELECT username, device, min_gen AS minGen, until FROM revocations WHERE until > ?",
      ),
      saveRevocation: db.prepare<[string, string, string, number, number]>(
        `INSERT INTO revocations (user_key, username, device, min_gen, until) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_key, device) DO UPDATE SET
           min_gen = MAX(min_gen, excluded.min_gen), until = MAX(until, excluded.until)`,
      ),
      pruneRevocations: db.prepare<[number]>("DELETE FROM revocations WHERE until <= ?"),
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
  static open(dataDir: string, options: HistoryStoreOptions = {}): HistoryStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return HistoryStore.openFile(join(dataDir, HOST_DB_FILE), options);
  }

  static openFile(path: string, options: HistoryStoreOptions = {}): HistoryStore {
    return new HistoryStore(
      openDatabase(path, { migrations: HOST_MIGRATIONS, label: "host.db", remedy: HOST_DB_REMEDY }),
      options,
    );
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

  /** Stores a new channel; an unhost of the same name still pending is dropped: it is hosted again. */
  addChannel(name: string, view: View, moderated: boolean): void {
    this.db.transaction(() => {
      this.statements.insertChannel.run(name, view, moderated ? 1 : 0, new Date().toISOString());
      this.statements.deletePendingUnhost.run(nameKey(name));
    })();
    this.latest.delete(name);
  }

  updateChannel(name: string, view: View, moderated: boolean): void {
    this.statements.updateChannel.run(view, moderated ? 1 : 0, name);
  }

  /**
   * Deletes a channel with its messages and authorizations, and records in the same transaction that
   * the tracker is to be told (`pendingUnhosts`), so an unhost survives a restart before it is sent.
   */
  deleteChannel(name: string): void {
    this.db.transaction(() => {
      this.statements.deleteMessages.run(name);
      this.statements.deleteAuthorizations.run(name);
      this.statements.deleteUsage.run(name);
      this.statements.deleteChannel.run(name);
      this.statements.addPendingUnhost.run(nameKey(name), name, new Date().toISOString());
    })();
    this.latest.delete(name);
  }

  /** Channels deleted here whose unhost the tracker has not confirmed yet. */
  pendingUnhosts(): string[] {
    return this.statements.pendingUnhosts.all().map((row) => row.name);
  }

  /** The tracker confirmed the unhost (or refused it for good): nothing more to send. */
  unhostSent(name: string): void {
    this.statements.deletePendingUnhost.run(nameKey(name));
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

  /** Revocations still in force at `now` (Unix seconds). */
  revocations(now: number): Revocation[] {
    return this.statements.revocations.all(now);
  }

  /** Keeps revocations (a later one of a device widens the earlier) and forgets those over by `now`. */
  saveRevocations(revocations: readonly Revocation[], now: number): void {
    this.db.transaction(() => {
      for (const entry of revocations) {
        this.statements.saveRevocation.run(
          nameKey(entry.username),
          entry.username,
          entry.device,
          entry.minGen,
          entry.until,
        );
      }
      this.statements.pruneRevocations.run(now);
    })();
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
    return this.usage(channel).count;
  }

  usage(channel: string): ChannelUsage {
    return this.statements.usage.get(channel) ?? { ...NO_USAGE };
  }

  /**
   * Stores a batch of messages in one transaction: each gets the next seq of its channel, unless
   * `(channel, from, msgId)` was stored before (in an earlier batch or earlier in this one), in which
   * case the original is returned as a duplicate. Either every message is stored or none is. A channel
   * over its quota then loses its oldest messages, in the same transaction.
   */
  append(batch: readonly NewMessage[]): AppendResult[] {
    const ts = new Date().toISOString();
    const next = new Map<string, number>();
    let results: AppendResult[];
    try {
      results = this.appendTransaction(batch, ts, next);
    } catch (error) {
      // The rollback may have taken certificates that were remembered as stored.
      this.certificateIds.clear();
      throw error;
    }
    // Only a committed transaction moves the counters on.
    for (const [channel, seq] of next) this.latest.set(channel, seq);
    return results;
  }

  /**
   * Inserts each new message under the next seq (a repeat of (channel, from, msgId) finds the
   * original), then adds what each channel gained to its usage and prunes it to the quota.
   */
  private appendBatch(batch: readonly NewMessage[], ts: string, next: Map<string, number>): AppendResult[] {
    const gained = new Map<string, { bytes: number; count: number }>();
    const results = batch.map((item): AppendResult => {
      const seq = (next.get(item.channel) ?? this.latestSeq(item.channel)) + 1;
      const size = messageBytes(item, ts);
      const inserted = this.statements.insertMessage.run(
        item.channel,
        seq,
        item.msgId,
        item.from,
        item.text,
        ts,
        item.sentAt,
        item.sig,
        this.certificateId(item.cert),
        size,
      );
      if (inserted.changes === 0) {
        const existing = this.statements.findByMsgId.get(item.channel, item.from, item.msgId);
        if (existing === undefined) throw new Error(`message ${item.msgId} conflicted but is not stored`);
        return { message: existing, duplicate: true };
      }
      next.set(item.channel, seq);
      const channelGain = gained.get(item.channel) ?? { bytes: 0, count: 0 };
      gained.set(item.channel, { bytes: channelGain.bytes + size, count: channelGain.count + 1 });
      const message: ChatMessage = {
        channel: item.channel,
        seq,
        msgId: item.msgId,
        from: item.from,
        text: item.text,
        ts,
        sentAt: item.sentAt,
        sig: item.sig,
        cert: item.cert,
      };
      return { message, duplicate: false };
    });
    for (const [channel, gain] of gained) {
      const before = this.usage(channel);
      const usage = { ...before, bytes: before.bytes + gain.bytes, count: before.count + gain.count };
      this.pruneToQuota(channel, usage, next.get(channel) as number);
      this.statements.saveUsage.run(channel, usage.bytes, usage.count, usage.prunedThrough);
    }
    return results;
  }

  /**
   * Deletes a channel's oldest messages until `usage` fits the quota, never `newest` (the highest seq
   * stays, so no seq is given out twice, also after a restart); updates `usage` to match.
   */
  private pruneToQuota(channel: string, usage: ChannelUsage, newest: number): void {
    const quota = this.channelQuotaBytes;
    if (quota <= 0 || usage.bytes <= quota) return;
    let through = usage.prunedThrough;
    let freed = 0;
    let removed = 0;
    for (const row of this.statements.oldest.iterate(channel, usage.prunedThrough, newest)) {
      if (usage.bytes - freed <= quota) break;
      through = row.seq;
      freed += row.size;
      removed += 1;
    }
    if (removed === 0) return;
    this.statements.pruneThrough.run(channel, through);
    usage.bytes -= freed;
    usage.count -= removed;
    usage.prunedThrough = through;
  }

  /** The id under which `cert` is stored, storing it first (inside the caller's transaction). */
  private certificateId(cert: string): number {
    let id = this.certificateIds.get(cert);
    if (id !== undefined) return id;
    id = (this.statements.findCertificate.get(cert) ?? this.statements.insertCertificate.get(cert))?.id;
    if (id === undefined) throw new Error("storing a certificate returned no id");
    if (this.certificateIds.size >= CERTIFICATE_ID_CACHE) {
      this.certificateIds.delete(this.certificateIds.keys().next().value as string);
    }
    this.certificateIds.set(cert, id);
    return id;
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
