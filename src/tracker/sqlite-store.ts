import type { Database, Statement } from "better-sqlite3";
import { nameKey } from "../protocol/names.js";
import type { Revocation, View } from "../protocol/tracker-schemas.js";
import { type OpenDatabaseOptions, openDatabase } from "../util/sqlite.js";
import { usernameSkeleton } from "./confusables.js";
import { TRACKER_MIGRATIONS } from "./migrations.js";
import type { AccountRecord, ChannelRecord, DeviceRecord, TrackerStore } from "./store.js";

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

interface DeviceRow {
  device: string;
  public_key: string | null;
  gen: number;
  last_seen: number;
}

function toDevice(row: DeviceRow): DeviceRecord {
  return { device: row.device, publicKey: row.public_key, gen: row.gen, lastSeen: row.last_seen };
}

interface RevocationRow {
  username: string;
  device: string;
  min_gen: number;
  until: number;
}

function toRevocation(row: RevocationRow): Revocation {
  return { username: row.username, device: row.device, minGen: row.min_gen, until: row.until };
}

/** The tracker's store in one SQLite file (WAL, every commit synced, so a kill -9 loses nothing). */
export class SqliteTrackerStore implements TrackerStore {
  private readonly db: Database;
  private readonly statements: {
    insertAccount: Statement<[string, string, string, string, string]>;
    findAccount: Statement<[string], AccountRow>;
    findLookAlike: Statement<[string], { username: string }>;
    setInvisible: Statement<[string, number]>;
    countAccounts: Statement<[], { n: number }>;
    findChannel: Statement<[string], ChannelRow>;
    listChannels: Statement<[string, number], ChannelRow>;
    countChannelsOwnedBy: Statement<[string], { n: number }>;
    saveChannel: Statement<[string, string, string, string, number, string]>;
    deleteChannel: Statement<[string]>;
    countChannels: Statement<[], { n: number }>;
    findDevice: Statement<[string, string], DeviceRow>;
    saveDevice: Statement<[string, string, string | null, number, number]>;
    touchDevice: Statement<[number, string, string]>;
    activeDevices: Statement<[string], DeviceRow>;
    deleteStaleDevices: Statement<[string, number]>;
    pruneRevocations: Statement<[number]>;
    addRevocation: Statement<[string, string, string, number, number], RevocationRow>;
    revokedBelow: Statement<[string, string, number], { n: number | null }>;
    liveRevocations: Statement<[], RevocationRow>;
  };

  /** Password hashes live here: `openDatabase` keeps the file and its -wal and -shm owner-only. */
  constructor(file: string, options: Pick<OpenDatabaseOptions, "expectData" | "remedy"> = {}) {
    this.db = openDatabase(file, { migrations: TRACKER_MIGRATIONS, label: "tracker.db", ...options });
    const db = this.db;
    this.statements = {
      // Also does nothing when a look-alike holds the skeleton (its unique index).
      insertAccount: db.prepare(
        `INSERT INTO accounts (name_key, username, password_hash, created_at, name_skeleton)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      findLookAlike: db.prepare("SELECT username FROM accounts WHERE name_skeleton = ?"),
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
      listChannels: db.prepare(
        "SELECT name, owner, view, moderated FROM channels WHERE name_key > ? ORDER BY name_key LIMIT ?",
      ),
      // lower() is nameKey for the ASCII names allowed; it matches the channels_by_owner index.
      countChannelsOwnedBy: db.prepare("SELECT count(*) AS n FROM channels WHERE lower(owner) = ?"),
      saveChannel: db.prepare(
        `INSERT INTO channels (name_key, name, owner, view, moderated, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name_key) DO UPDATE SET
             name = excluded.name, owner = excluded.owner, view = excluded.view, moderated = excluded.moderated`,
      ),
      deleteChannel: db.prepare("DELETE FROM channels WHERE name_key = ?"),
      countChannels: db.prepare("SELECT count(*) AS n FROM channels"),
      findDevice: db.prepare(
        "SELECT device, public_key, gen, last_seen FROM devices WHERE name_key = ? AND device = ?",
      ),
      saveDevice: db.prepare(
        `INSERT INTO devices (name_key, device, public_key, gen, last_seen) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name_key, device) DO UPDATE SET
             public_key = excluded.public_key, gen = excluded.gen, last_seen = excluded.last_seen`,
      ),
      touchDevice: db.prepare("UPDATE devices SET last_seen = ? WHERE name_key = ? AND device = ?"),
      activeDevices: db.prepare(
        `SELECT device, public_key, gen, last_seen FROM devices
          WHERE name_key = ? AND public_key IS NOT NULL ORDER BY last_seen, device`,
      ),
      deleteStaleDevices: db.prepare(
        `DELETE FROM devices
          WHERE name_key = ? AND public_key IS NULL
            AND NOT EXISTS (SELECT 1 FROM revocations r
                             WHERE r.name_key = devices.name_key AND r.device = devices.device
                               AND r.until > ?)`,
      ),
      pruneRevocations: db.prepare("DELETE FROM revocations WHERE until <= ?"),
      addRevocation: db.prepare(
        `INSERT INTO revocations (name_key, device, username, min_gen, until) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name_key, device) DO UPDATE SET
             username = excluded.username,
             min_gen = max(min_gen, excluded.min_gen),
             until = max(until, excluded.until)
         RETURNING username, device, min_gen, until`,
      ),
      revokedBelow: db.prepare(
        "SELECT max(min_gen) AS n FROM revocations WHERE name_key = ? AND device = ? AND until > ?",
      ),
      liveRevocations: db.prepare(
        "SELECT username, device, min_gen, until FROM revocations ORDER BY until, name_key, device",
      ),
    };
  }

  createAccount(username: string, passwordHash: string): boolean {
    const result = this.statements.insertAccount.run(
      nameKey(username),
      username,
      passwordHash,
      new Date().toISOString(),
      usernameSkeleton(username),
    );
    return result.changes === 1;
  }

  findLookAlike(username: string): string | undefined {
    return this.statements.findLookAlike.get(usernameSkeleton(username))?.username;
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

  listChannels(limit: number, after?: string): ChannelRecord[] {
    return this.statements.listChannels.all(after === undefined ? "" : nameKey(after), limit).map(toChannel);
  }

  countChannelsOwnedBy(owner: string): number {
    return this.statements.countChannelsOwnedBy.get(nameKey(owner))?.n ?? 0;
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

  findDevice(username: string, device: string): DeviceRecord | undefined {
    const row = this.statements.findDevice.get(nameKey(username), device);
    return row === undefined ? undefined : toDevice(row);
  }

  saveDevice(username: string, record: DeviceRecord): void {
    this.statements.saveDevice.run(
      nameKey(username),
      record.device,
      record.publicKey,
      record.gen,
      record.lastSeen,
    );
  }

  touchDevice(username: string, device: string, lastSeen: number): void {
    this.statements.touchDevice.run(lastSeen, nameKey(username), device);
  }

  activeDevices(username: string): DeviceRecord[] {
    return this.statements.activeDevices.all(nameKey(username)).map(toDevice);
  }

  deleteStaleDevices(username: string, now: number): number {
    return this.statements.deleteStaleDevices.run(nameKey(username), now).changes;
  }

  addRevocation(revocation: Revocation, now: number): Revocation {
    return this.transaction(() => {
      this.statements.pruneRevocations.run(now);
      const row = this.statements.addRevocation.get(
        nameKey(revocation.username),
        revocation.device,
        revocation.username,
        revocation.minGen,
        revocation.until,
      );
      if (row === undefined) throw new Error("the revocation was not stored");
      return toRevocation(row);
    });
  }

  revokedBelow(username: string, device: string, now: number): number {
    return this.statements.revokedBelow.get(nameKey(username), device, now)?.n ?? 0;
  }

  liveRevocations(now: number): Revocation[] {
    return this.transaction(() => {
      this.statements.pruneRevocations.run(now);
      return this.statements.liveRevocations.all().map(toRevocation);
    });
  }

  transaction<T>(work: () => T): T {
    // Nested calls run inside the outer transaction (better-sqlite3 uses savepoints for them).
    return this.db.transaction(work)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
