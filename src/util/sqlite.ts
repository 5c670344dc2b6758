import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import Sqlite, { type Database } from "better-sqlite3";
import { DamagedDataError, DataFileError } from "./damaged-data.js";

export type { Database };

export interface OpenDatabaseOptions {
  /** Numbered schema changes: entry `n - 1` brings `user_version` from `n - 1` to `n`. */
  migrations: readonly string[];
  /** Names the database in errors, e.g. `host.db`. */
  label: string;
  /**
   * The files beside this one say it must already hold data: a missing file, or one without a
   * schema (emptied, truncated), is refused instead of being started afresh.
   */
  expectData?: boolean;
  /** What to do when the file is damaged, in the refusal (default: restore it or move it aside). */
  remedy?: string;
}

const DEFAULT_REMEDY =
  "stop hychat, then restore it from a backup, or move it aside to start afresh without what it held";

/** Problems `PRAGMA quick_check` reports at most in the refusal. */
const SHOWN_PROBLEMS = 3;

/** The SQLite result codes that mean the file's content is damaged, not merely unreadable. */
const DAMAGE_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

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
 * Opens (creating if needed) a database the way every hychat store uses one: owner-only (0600),
 * WAL, and `synchronous = FULL` so a commit is on disk before anything it acknowledges goes out,
 * even across a power loss. The file is checked (`PRAGMA quick_check`) before use: damage is
 * refused with `DAMAGED_DATA`, and every other failure names the file.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions): Database {
  const remedy = options.remedy ?? DEFAULT_REMEDY;
  const inMemory = file === ":memory:";
  if (!inMemory) prepareFile(file, options.expectData === true, remedy);
  let db: Database;
  try {
    db = new Sqlite(file);
  } catch (error) {
    throw openFailure(file, error, remedy);
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    if (!inMemory) checkIntegrity(db, file, remedy);
    if (options.expectData === true && schemaVersion(db) === 0) {
      throw new DamagedDataError(file, "holds no data (it was emptied or truncated)", remedy);
    }
    migrate(db, options.migrations, options.label);
    return db;
  } catch (error) {
    db.close();
    throw openFailure(file, error, remedy);
  }
}

/** Damage reported by SQLite itself becomes `DAMAGED_DATA`; anything else keeps its code and names the file. */
function openFailure(file: string, error: unknown, remedy: string): Error {
  if (error instanceof DamagedDataError) return error;
  if (DAMAGE_CODES.test(String((error as { code?: unknown } | null)?.code))) {
    return new DamagedDataError(file, `is damaged (${(error as Error).message})`, remedy);
  }
  return new DataFileError(file, error);
}

/**
 * Gives the file mode 0600 before SQLite opens it: SQLite creates the `-wal` and `-shm` files with
 * the database's own mode, so they are never readable by others either, whatever the umask.
 */
function prepareFile(file: string, expectData: boolean, remedy: string): void {
  try {
    if (existsSync(file)) {
      for (const path of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(path)) chmodSync(path, 0o600);
      return;
    }
  } catch (error) {
    throw new DataFileError(file, error);
  }
  if (expectData) throw new DamagedDataError(file, "is missing", remedy);
  try {
    // "a": made with this mode if still missing, left as it is if another process just made it.
    closeSync(openSync(file, "a", 0o600));
  } catch (error) {
    throw new DataFileError(file, error);
  }
}

function checkIntegrity(db: Database, file: string, remedy: string): void {
  const rows = db.pragma("quick_check") as { quick_check: string }[];
  // One problem a line, under a "*** in database main ***" heading.
  const problems = rows
    .flatMap((row) => row.quick_check.split("\n"))
    .filter((line) => line !== "ok" && !line.startsWith("*** "));
  if (problems.length === 0) return;
  const shown = problems.slice(0, SHOWN_PROBLEMS).join("; ");
  const more = problems.length > SHOWN_PROBLEMS ? ` and ${problems.length - SHOWN_PROBLEMS} more` : "";
  throw new DamagedDataError(file, `is damaged (quick_check: ${shown}${more})`, remedy);
}
