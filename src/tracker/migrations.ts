import type { Database } from "better-sqlite3";

/**
 * The tracker's schema changes, in order. Migration `n` (1-based) brings `user_version` from
 * `n - 1` to `n`. Never edit a released migration; append a new one.
 */
export const TRACKER_MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     name_key      TEXT PRIMARY KEY,
     username      TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     created_at    TEXT NOT NULL
   ) STRICT;
   CREATE TABLE user_settings (
     name_key  TEXT PRIMARY KEY REFERENCES accounts (name_key),
     invisible INTEGER NOT NULL DEFAULT 0 CHECK (invisible IN (0, 1))
   ) STRICT;
   CREATE TABLE channels (
     name_key   TEXT PRIMARY KEY,
     name       TEXT NOT NULL,
     owner      TEXT NOT NULL,
     view       TEXT NOT NULL CHECK (view IN ('public', 'private')),
     moderated  INTEGER NOT NULL CHECK (moderated IN (0, 1)),
     created_at TEXT NOT NULL
   ) STRICT;`,
];

export function schemaVersion(db: Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** Applies every migration the database has not seen yet, each in its own transaction. */
export function migrate(db: Database, migrations: readonly string[] = TRACKER_MIGRATIONS): number {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `tracker database has schema version ${current}, newer than this hychat knows (${migrations.length})`,
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
