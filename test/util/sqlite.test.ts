import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Sqlite from "better-sqlite3";
import { DamagedDataError } from "../../src/util/damaged-data.js";
import { migrate, openDatabase, schemaVersion } from "../../src/util/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "hychat-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("util - migrations run in order from the first schema, each once", () => {
  const db = new Sqlite(":memory:");
  try {
    const steps = [
      "CREATE TABLE t (a INTEGER)",
      "ALTER TABLE t ADD COLUMN b INTEGER",
      "INSERT INTO t VALUES (1, 2)",
    ];
    assert.equal(migrate(db, steps.slice(0, 1)), 1);
    assert.equal(migrate(db, steps), 3);
    assert.equal(migrate(db, steps), 3);
    assert.deepEqual(db.prepare("SELECT a, b FROM t").all(), [{ a: 1, b: 2 }]);
  } finally {
    db.close();
  }
});

test("util - a failing migration leaves the database at the previous version", () => {
  const db = new Sqlite(":memory:");
  try {
    assert.throws(() => migrate(db, ["CREATE TABLE t (a INTEGER)", "CREATE TABLE t (a INTEGER)"]));
    assert.equal(schemaVersion(db), 1);
  } finally {
    db.close();
  }
});

test("util - openDatabase uses WAL with full sync, and refuses a database from a newer hychat", () => {
  const file = join(dir, "newer.db");
  const db = openDatabase(file, { migrations: ["CREATE TABLE t (a INTEGER)"], label: "test.db" });
  try {
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(db.pragma("synchronous", { simple: true }), 2);
    db.pragma("user_version = 5");
  } finally {
    db.close();
  }
  assert.throws(
    () => openDatabase(file, { migrations: ["CREATE TABLE t (a INTEGER)"], label: "test.db" }),
    /test\.db has schema version 5, newer than this hychat knows \(1\)/,
  );
});

const INDEXED = ["CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t (b)"];

function filledDatabase(name: string): string {
  const file = join(dir, name);
  const db = openDatabase(file, { migrations: INDEXED, label: "test.db" });
  const insert = db.prepare("INSERT INTO t (b) VALUES (?)");
  db.transaction(() => {
    for (let row = 0; row < 2000; row++) insert.run(`value number ${row}`);
  })();
  db.close();
  return file;
}

function refusal(file: string, problem: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof DamagedDataError, String(error));
    assert.equal(error.code, "DAMAGED_DATA");
    assert.equal(error.file, file);
    assert.match(error.message, problem);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  };
}

test("util - openDatabase makes the file and its -wal and -shm owner-only, whatever the umask", () => {
  const file = join(dir, "modes.db");
  writeFileSync(`${file}-wal`, "");
  const umask = process.umask(0o022);
  try {
    const db = openDatabase(file, { migrations: INDEXED, label: "test.db" });
    db.prepare("INSERT INTO t (b) VALUES ('x')").run();
    for (const path of [file, `${file}-wal`, `${file}-shm`]) {
      assert.equal(statSync(path).mode & 0o777, 0o600, path);
    }
    db.close();
  } finally {
    process.umask(umask);
  }
});

test("util - openDatabase refuses a damaged file with DAMAGED_DATA, naming it", () => {
  const file = filledDatabase("damaged-index.db");
  // Page 3 is the root of the index: quick_check reports it.
  const fd = openSync(file, "r+");
  writeSync(fd, Buffer.alloc(4096), 0, 4096, 2 * 4096);
  closeSync(fd);
  assert.throws(
    () => openDatabase(file, { migrations: INDEXED, label: "test.db", remedy: "do this" }),
    refusal(file, /^\S+damaged-index\.db is damaged \(quick_check: .*\): do this$/),
  );
  const garbage = join(dir, "garbage.db");
  writeFileSync(garbage, "not a database ".repeat(100));
  assert.throws(
    () => openDatabase(garbage, { migrations: INDEXED, label: "test.db" }),
    refusal(garbage, /is damaged \(file is not a database\): .*restore it from a backup/),
  );
});

test("util - openDatabase with expectData refuses a missing or emptied file rather than starting afresh", () => {
  const missing = join(dir, "missing.db");
  assert.throws(
    () => openDatabase(missing, { migrations: INDEXED, label: "test.db", expectData: true }),
    refusal(missing, /is missing/),
  );
  assert.ok(!existsSync(missing), "not created");
  const emptied = filledDatabase("emptied.db");
  truncateSync(emptied, 0);
  assert.throws(
    () => openDatabase(emptied, { migrations: INDEXED, label: "test.db", expectData: true }),
    refusal(emptied, /holds no data/),
  );
  const kept = filledDatabase("kept.db");
  const db = openDatabase(kept, { migrations: INDEXED, label: "test.db", expectData: true });
  assert.equal(db.prepare<[], { n: number }>("SELECT count(*) AS n FROM t").get()?.n, 2000);
  db.close();
});

test("util - openDatabase names the file in any other failure", () => {
  const inMissingDir = join(dir, "no-such-dir", "x.db");
  assert.throws(
    () => openDatabase(inMissingDir, { migrations: INDEXED, label: "test.db" }),
    (error: unknown) => {
      assert.ok((error as Error).message.startsWith(`${inMissingDir}: `), String(error));
      assert.equal((error as { code?: unknown }).code, "ENOENT");
      return true;
    },
  );
});
