import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Sqlite from "better-sqlite3";
import { TRACKER_MIGRATIONS } from "../../src/tracker/migrations.js";
import { SqliteTrackerStore } from "../../src/tracker/sqlite-store.js";
import type { TrackerStore } from "../../src/tracker/store.js";
import { schemaVersion } from "../../src/util/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "hychat-tracker-store-"));
let files = 0;
const nextFile = () => join(dir, `tracker-${files++}.db`);

/** The contract every TrackerStore implementation meets. */
function storeContract(name: string, open: () => TrackerStore): void {
  describe(`tracker store contract (${name})`, () => {
    test("tracker - store accounts are unique regardless of case and found in any case", () => {
      const store = open();
      try {
        assert.equal(store.createAccount("Alice", "hash-1"), true);
        assert.equal(store.createAccount("alice", "hash-2"), false);
        assert.deepEqual(store.findAccount("ALICE"), {
          username: "Alice",
          passwordHash: "hash-1",
          invisible: false,
        });
        assert.equal(store.findAccount("bob"), undefined);
        assert.equal(store.countAccounts(), 1);
      } finally {
        store.close();
      }
    });

    test("tracker - store remembers the invisible setting per user", () => {
      const store = open();
      try {
        store.createAccount("Carol", "hash");
        store.setInvisible("carol", true);
        assert.equal(store.findAccount("Carol")?.invisible, true);
        store.setInvisible("CAROL", false);
        assert.equal(store.findAccount("carol")?.invisible, false);
      } finally {
        store.close();
      }
    });

    test("tracker - store saves, replaces, lists and deletes channels by name in any case", () => {
      const store = open();
      try {
        store.saveChannel({ name: "zeta", owner: "Alice", view: "public", moderated: false });
        store.saveChannel({ name: "Alpha", owner: "Alice", view: "private", moderated: true });
        assert.deepEqual(store.findChannel("ALPHA"), {
          name: "Alpha",
          owner: "Alice",
          view: "private",
          moderated: true,
        });
        store.saveChannel({ name: "alpha", owner: "Alice", view: "public", moderated: false });
        assert.deepEqual(
          store.listChannels().map((channel) => [channel.name, channel.view, channel.moderated]),
          [
            ["alpha", "public", false],
            ["zeta", "public", false],
          ],
        );
        assert.equal(store.countChannels(), 2);
        assert.equal(store.deleteChannel("ZETA"), true);
        assert.equal(store.deleteChannel("zeta"), false);
        assert.equal(store.findChannel("zeta"), undefined);
        assert.equal(store.countChannels(), 1);
      } finally {
        store.close();
      }
    });

    test("tracker - store close is idempotent", () => {
      const store = open();
      store.close();
      store.close();
    });
  });
}

storeContract("SQLite", () => new SqliteTrackerStore(nextFile()));

describe("tracker migrations", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("tracker - a new database is migrated to the latest schema version", () => {
    const file = nextFile();
    new SqliteTrackerStore(file).close();
    const db = new Sqlite(file);
    try {
      assert.equal(schemaVersion(db), TRACKER_MIGRATIONS.length);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      db.close();
    }
  });

  test("tracker - reopening a migrated database keeps its data and runs nothing again", () => {
    const file = nextFile();
    const first = new SqliteTrackerStore(file);
    first.createAccount("dave", "hash");
    first.close();
    const second = new SqliteTrackerStore(file);
    try {
      assert.equal(second.findAccount("dave")?.passwordHash, "hash");
    } finally {
      second.close();
    }
  });

  test("tracker - a database from a newer hychat is refused", () => {
    const file = nextFile();
    const db = new Sqlite(file);
    db.pragma(`user_version = ${TRACKER_MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(() => new SqliteTrackerStore(file), /newer than this hychat knows/);
  });
});
