import Sqlite, { type Database } from "better-sqlite3";

export type { Database };

export interface OpenDatabaseOptions {
  /** Numbered schema changes: entry `n - 1` brings `user_version` from `n - 1` to `n`. */
  migrations: readonly string[];
  /** Names the database in errors, e.g. `host.db`. */
  label: string;
}

export function schemaVersion(db: Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/**
 * Applies every migration the database has not seen yet, each in its own transaction, and returns
 * the new version. A database written by a newer hychat is refused rather than misread.
 */
export function migrate(db: Database, migrations: readonly string[], label = "database"): number {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `${label} has schema version ${current}, newer than this hychat knows (${migrations.length})`,
    );
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    const sql = migrations[version - 1] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return schemaVersion(db);
}

/**
 * Opens (creating if needed) a database the way every hychat store uses one: WAL, and
 * `synchronous = FULL` so a commit is on disk before anything it acknowledges goes out, even
 * across a power loss. Closes it again if the migrations fail.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions): Database {
  const db = new Sqlite(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, options.migrations, options.label);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
