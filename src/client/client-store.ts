import { type Database, openDatabase, schemaVersion } from "../util/sqlite.js";
import type { HostEndpoint } from "./host-connection.js";
import { Outbox } from "./outbox.js";

/**
 * Schema changes, in order. Entry N takes the database from `user_version` N to N+1; a database
 * created by any earlier version is brought up to date by running the ones it has not seen.
 */
export const CLIENT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE outbox (
     position INTEGER PRIMARY KEY AUTOINCREMENT,
     channel TEXT NOT NULL,
     msg_id TEXT NOT NULL UNIQUE,
     text TEXT NOT NULL,
     sent_at TEXT NOT NULL
   );
   CREATE INDEX outbox_by_channel ON outbox (channel, position);`,
  `CREATE TABLE channels (
     name TEXT PRIMARY KEY,
     joined INTEGER NOT NULL DEFAULT 1,
     last_seq INTEGER,
     read_seq INTEGER NOT NULL DEFAULT 0,
     unread INTEGER NOT NULL DEFAULT 0,
     host TEXT,
     port INTEGER
   );`,
  `CREATE TABLE host_listen (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     port INTEGER NOT NULL
   );`,
  // An address without its key cannot be checked: it is forgotten, and the tracker's listing used.
  `ALTER TABLE channels ADD COLUMN fingerprint TEXT;
   UPDATE channels SET host = NULL, port = NULL;`,
  "ALTER TABLE channels ADD COLUMN owner TEXT;",
  // Entries are signed when written; older ones are signed when delivered.
  `ALTER TABLE outbox ADD COLUMN sig TEXT;
   ALTER TABLE outbox ADD COLUMN cert TEXT;`,
];

/** What this peer remembers about a channel it joined. */
export interface StoredChannel {
  name: string;
  joined: boolean;
  /** Highest seq seen, or null before the first successful join (then CONNECT asks without `since`). */
  lastSeq: number | null;
  readSeq: number;
  unread: number;
  /** Where the channel's host was last reached, and its key: tried before the tracker answers. */
  endpoint: HostEndpoint | null;
  /** Who owned the channel when this peer last joined it; null before the first join. */
  owner: string | null;
}

interface ChannelRow {
  name: string;
  joined: number;
  last_seq: number | null;
  read_seq: number;
  unread: number;
  host: string | null;
  port: number | null;
  fingerprint: string | null;
  owner: string | null;
}

function toStoredChannel(row: ChannelRow): StoredChannel {
  return {
    name: row.name,
    joined: row.joined === 1,
    lastSeq: row.last_seq,
    readSeq: row.read_seq,
    unread: row.unread,
    endpoint:
      row.host !== null && row.port !== null && row.fingerprint !== null
        ? { address: { host: row.host, port: row.port }, fingerprint: row.fingerprint }
        : null,
    owner: row.owner,
  };
}

const CLIENT_DB_REMEDY =
  "stop the peer, then restore it from a backup, or move it aside to start this user's client state " +
  "afresh (the outbox, joined channels and read positions in it are lost)";

/**
 * A user's client state on disk (`client.db`): the outbox, joined channels and read positions, and
 * the port this user's own channel host last listened on.
 */
export class ClientStore {
  readonly outbox: Outbox;
  private readonly db: Database;
  private readonly statements;

  private constructor(db: Database) {
    this.db = db;
    this.outbox = new Outbox(db);
    this.statements = {
      all: db.prepare<[], ChannelRow>("SELECT * FROM channels ORDER BY name"),
      one: db.prepare<[string], ChannelRow>("SELECT * FROM channels WHERE name = ?"),
      join: db.prepare<[string]>(
        "INSERT INTO channels (name, joined) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET joined = 1",
      ),
      leave: db.prepare<[string]>("UPDATE channels SET joined = 0 WHERE name = ?"),
      position: db.prepare<[number, number, number, string]>(
        "UPDATE channels SET last_seq = ?, unread = ?, read_seq = max(read_seq, ?) WHERE name = ?",
      ),
      relaxedSync: db.prepare("PRAGMA synchronous = NORMAL"),
      fullSync: db.prepare("PRAGMA synchronous = FULL"),
      endpoint: db.prepare<[string | null, number | null, string | null, string]>(
        "UPDATE channels SET host = ?, port = ?, fingerprint = ? WHERE name = ?",
      ),
      owner: db.prepare<[string, string]>("UPDATE channels SET owner = ? WHERE name = ?"),
      hostPort: db.prepare<[], { port: number }>("SELECT port FROM host_listen WHERE id = 1"),
      saveHostPort: db.prepare<[number]>(
        "INSERT INTO host_listen (id, port) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET port = excluded.port",
      ),
    };
  }

  /** Opens (creating if needed), checks and migrates the database at `file` (`:memory:` for tests). */
  static open(file: string): ClientStore {
    return new ClientStore(
      openDatabase(file, { migrations: CLIENT_MIGRATIONS, label: "client.db", remedy: CLIENT_DB_REMEDY }),
    );
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  channels(): StoredChannel[] {
    return this.statements.all.all().map(toStoredChannel);
  }

  channel(name: string): StoredChannel | undefined {
    const row = this.statements.one.get(name);
    return row === undefined ? undefined : toStoredChannel(row);
  }

  /** Remembers a channel as joined, keeping its read position if it was joined before. */
  markJoined(name: string): void {
    this.statements.join.run(name);
  }

  markLeft(name: string): void {
    this.statements.leave.run(name);
  }

  /**
   * Saves where a channel stands: the highest seq seen, the unread count and the read position (it
   * never moves back). Written without an fsync: a power cut loses at most a few of these writes,
   * which only means a few messages are fetched again or shown unread again, while every outbox
   * commit (messages the user wrote) stays at `synchronous = FULL`.
   */
  savePosition(name: string, position: { lastSeq: number; unread: number; readSeq: number }): void {
    this.statements.relaxedSync.run();
    try {
      this.statements.position.run(position.lastSeq, position.unread, position.readSeq, name);
    } finally {
      this.statements.fullSync.run();
    }
  }

  saveEndpoint(name: string, endpoint: HostEndpoint | null): void {
    this.statements.endpoint.run(
      endpoint?.address.host ?? null,
      endpoint?.address.port ?? null,
      endpoint?.fingerprint ?? null,
      name,
    );
  }

  saveOwner(name: string, owner: string): void {
    this.statements.owner.run(owner, name);
  }

  /** The port this user's channel host last listened on, or null if it never did. */
  hostPort(): number | null {
    return this.statements.hostPort.get()?.port ?? null;
  }

  saveHostPort(port: number): void {
    this.statements.saveHostPort.run(port);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
