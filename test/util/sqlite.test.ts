import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Sqlite from "better-sqlite3";
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
