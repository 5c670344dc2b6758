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
