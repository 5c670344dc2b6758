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
  // 2: device keys and revocations (issue 10). A device row binds an account's device to its key
  // and ticket generation; `public_key` is NULL once the device is signed out or evicted.
  `CREATE TABLE devices (
     name_key   TEXT NOT NULL REFERENCES accounts (name_key),
     device     TEXT NOT NULL,
     public_key TEXT,
     gen        INTEGER NOT NULL CHECK (gen >= 1),
     last_seen  INTEGER NOT NULL,
     PRIMARY KEY (name_key, device)
   ) STRICT;
   CREATE INDEX devices_by_use ON devices (name_key, last_seen);
   CREATE TABLE revocations (
     name_key TEXT NOT NULL,
     device   TEXT NOT NULL,
     username TEXT NOT NULL,
     min_gen  INTEGER NOT NULL CHECK (min_gen >= 1),
     until    INTEGER NOT NULL,
     PRIMARY KEY (name_key, device)
   ) STRICT;
   CREATE INDEX revocations_by_until ON revocations (until);`,
  // 3: look-alike names (issue 11). `name_skeleton` is `usernameSkeleton(username)`
  // (confusables.ts), computed here for the accounts made before. Of look-alikes made before, the
  // first made keeps the skeleton and the others none (NULL): they keep working, and a new name
  // like them is still refused by the first one's.
  `ALTER TABLE accounts ADD COLUMN name_skeleton TEXT;
   UPDATE accounts SET name_skeleton = lower(
     replace(replace(replace(replace(replace(replace(username,
       '0', 'o'), '1', 'l'), 'I', 'l'), 'm', 'rn'), 'w', 'vv'), 'W', 'vv'));
   UPDATE accounts SET name_skeleton = NULL
    WHERE rowid NOT IN (SELECT min(rowid) FROM accounts GROUP BY name_skeleton);
   CREATE UNIQUE INDEX accounts_by_skeleton ON accounts (name_skeleton);`,
  // 4: channel quotas (issue 11). Counting an owner's channels, without case like every name.
  "CREATE INDEX channels_by_owner ON channels (lower(owner));",
];
