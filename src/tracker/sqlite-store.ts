import { chmodSync } from "node:fs";
import type { Database, Statement } from "better-sqlite3";
import { nameKey } from "../protocol/names.js";
import type { View } from "../protocol/tracker-schemas.js";
import { openDatabase } from "../util/sqlite.js";
import { TRACKER_MIGRATIONS } from "./migrations.js";
import type { AccountRecord, ChannelRecord, TrackerStore } from "./store.js";

export const TRACKER_DB_FILE = "tracker.db";

interface AccountRow {
  username: string;
  password_hash: string;
  invisible: number | null;
}

interface ChannelRow {
  name: string;
  owner: string;
  view: View;
  moderated: number;
}

function toChannel(row: ChannelRow): ChannelRecord {
  return { name: row.name, owner: row.owner, view: row.view, moderated: row.moderated === 1 };
}

/** The tracker's store in one SQLite file (WAL, every commit synced, so a kill -9 loses nothing). */
export class SqliteTrackerStore implements TrackerStore {
  private readonly db: Database;
  private readonly statements: {
    insertAccount: Statement<[string, string, string, string]>;
    findAccount: Statement<[string], AccountRow>;
    setInvisible: Statement<[string, number]>;
    countAccounts: Statement<[], { n: number }>;
    findChannel: Statement<[string], ChannelRow>;
    listChannels: Statement<[], ChannelRow>;
    saveChannel: Statement<[string, string, string, string, number, string]>;
    deleteChannel: Statement<[string]>;
    countChannels: Statement<[], { n: number }>;
  };

  constructor(file: string) {
    this.db = openDatabase(file, { migrations: TRACKER_MIGRATIONS, label: "tracker.db" });
    // Password hashes live here: owner only. SQLite gives its -wal and -shm files the same mode.
    if (file !== ":memory:") chmodSync(file, 0o600);
    const db = this.db;
    this.statements = {
      insertAccount: db.prepare(
        "INSERT INTO accounts (name_key, username, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      findAccount: db.prepare(
        `SELECT a.username, a.password_hash, s.invisible
           FROM accounts a LEFT JOIN user_settings s ON s.name_key = a.name_key
          WHERE a.name_key = ?`,
      ),
      setInvisible: db.prepare(
        `INSERT INTO user_settings (name_key, invisible) VALUES (?, ?)
           ON CONFLICT (name_key) DO UPDATE SET invisible = excluded.invisible`,
      ),
      countAccounts: db.prepare("SELECT count(*) AS n FROM accounts"),
      findChannel: db.prepare("SELECT name, owner, view, moderated FROM channels WHERE name_key = ?"),
      listChannels: db.prepare("SELECT name, owner, view, moderated FROM channels ORDER BY name_key"),
      saveChannel: db.prepare(
        `INSERT INTO channels (name_key, name, owner, view, moderated, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name_key) DO UPDATE SET
             name = excluded.name, owner = excluded.owner, view = excluded.view, moderated = excluded.moderated`,
      ),
      deleteChannel: db.prepare("DELETE FROM channels WHERE name_key = ?"),
      countChannels: db.prepare("SELECT count(*) AS n FROM channels"),
    };
  }

  createAccount(username: string, passwordHash: string): boolean {
    const result = this.statements.insertAccount.run(
      nameKey(username),
      username,
      passwordHash,
      new Date().toISOString(),
    );
    return result.changes === 1;
  }

  findAccount(username: string): AccountRecord | undefined {
    const row = this.statements.findAccount.get(nameKey(username));
    if (row === undefined) return undefined;
    return { username: row.username, passwordHash: row.password_hash, invisible: row.invisible === 1 };
  }

  setInvisible(username: string, invisible: boolean): void {
    this.statements.setInvisible.run(nameKey(username), invisible ? 1 : 0);
  }

  countAccounts(): number {
    return this.statements.countAccounts.get()?.n ?? 0;
  }

  findChannel(name: string): ChannelRecord | undefined {
    const row = this.statements.findChannel.get(nameKey(name));
    return row === undefined ? undefined : toChannel(row);
  }

  listChannels(): ChannelRecord[] {
    return this.statements.listChannels.all().map(toChannel);
  }

  saveChannel(channel: ChannelRecord): void {
    this.statements.saveChannel.run(
      nameKey(channel.name),
      channel.name,
      channel.owner,
      channel.view,
      channel.moderated ? 1 : 0,
      new Date().toISOString(),
    );
  }

  deleteChannel(name: string): boolean {
    return this.statements.deleteChannel.run(nameKey(name)).changes === 1;
  }

  countChannels(): number {
    return this.statements.countChannels.get()?.n ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
