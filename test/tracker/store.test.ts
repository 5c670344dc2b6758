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
          store.listChannels(10).map((channel) => [channel.name, channel.view, channel.moderated]),
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

    test("tracker - store pages channels by name without case and counts them per owner", () => {
      const store = open();
      try {
        for (const [name, owner] of [
          ["b", "Alice"],
          ["A", "alice"],
          ["c", "bob"],
          ["D", "Carol"],
        ] as const) {
          store.saveChannel({ name, owner, view: "public", moderated: false });
        }
        const names = (page: { name: string }[]) => page.map((channel) => channel.name);
        assert.deepEqual(names(store.listChannels(2)), ["A", "b"]);
        assert.deepEqual(names(store.listChannels(2, "B")), ["c", "D"]);
        assert.deepEqual(names(store.listChannels(2, "d")), []);
        assert.equal(store.countChannelsOwnedBy("ALICE"), 2);
        assert.equal(store.countChannelsOwnedBy("Bob"), 1);
        assert.equal(store.countChannelsOwnedBy("dave"), 0);
      } finally {
        store.close();
      }
    });

    test("tracker - store keeps one row per account and device, found in any case of the name", () => {
      const store = open();
      try {
        store.createAccount("Dora", "hash");
        store.createAccount("Ed", "hash");
        assert.equal(store.findDevice("dora", "laptop"), undefined);
        store.saveDevice("Dora", { device: "laptop", publicKey: "key-1", gen: 1, lastSeen: 100 });
        store.saveDevice("dora", { device: "phone", publicKey: "key-2", gen: 1, lastSeen: 50 });
        store.saveDevice("Ed", { device: "laptop", publicKey: "key-3", gen: 4, lastSeen: 10 });
        assert.deepEqual(store.findDevice("DORA", "laptop"), {
          device: "laptop",
          publicKey: "key-1",
          gen: 1,
          lastSeen: 100,
        });
        // Device ids are compared exactly.
        assert.equal(store.findDevice("dora", "LAPTOP"), undefined);
        store.saveDevice("Dora", { device: "laptop", publicKey: "key-4", gen: 2, lastSeen: 200 });
        assert.equal(store.findDevice("dora", "laptop")?.publicKey, "key-4");
        store.touchDevice("DORA", "phone", 300);
        assert.deepEqual(
          store.activeDevices("dora").map((device) => [device.device, device.lastSeen]),
          [
            ["laptop", 200],
            ["phone", 300],
          ],
        );
        store.saveDevice("dora", { device: "laptop", publicKey: null, gen: 3, lastSeen: 200 });
        assert.deepEqual(
          store.activeDevices("Dora").map((device) => device.device),
          ["phone"],
        );
        assert.equal(store.findDevice("dora", "laptop")?.publicKey, null);
        assert.equal(store.activeDevices("ed").length, 1);
      } finally {
        store.close();
      }
    });

    test("tracker - store keeps one revocation per device, the highest minGen and latest until", () => {
      const store = open();
      try {
        const now = 1_000;
        assert.deepEqual(
          store.addRevocation({ username: "Fay", device: "laptop", minGen: 3, until: 2_000 }, now),
          { username: "Fay", device: "laptop", minGen: 3, until: 2_000 },
        );
        // A later one of the same device (any case of the name) merges with it.
        assert.deepEqual(
          store.addRevocation({ username: "fay", device: "laptop", minGen: 2, until: 3_000 }, now),
          { username: "fay", device: "laptop", minGen: 3, until: 3_000 },
        );
        store.addRevocation(
          { username: "guest-x", device: "g0123456789abcdef", minGen: 2, until: 1_500 },
          now,
        );
        assert.equal(store.revokedBelow("FAY", "laptop", now), 3);
        assert.equal(store.revokedBelow("fay", "phone", now), 0);
        assert.deepEqual(
          store.liveRevocations(now).map((revocation) => revocation.device),
          ["g0123456789abcdef", "laptop"],
        );
        // Those that ended are not counted, and are deleted when asked for the live ones.
        assert.equal(store.revokedBelow("guest-x", "g0123456789abcdef", 1_500), 0);
        assert.deepEqual(
          store.liveRevocations(1_500).map((revocation) => revocation.device),
          ["laptop"],
        );
        assert.deepEqual(store.liveRevocations(3_000), []);
        // An ended revocation does not merge into a new one.
        assert.deepEqual(
          store.addRevocation({ username: "Fay", device: "laptop", minGen: 1, until: 5_000 }, 4_000),
          { username: "Fay", device: "laptop", minGen: 1, until: 5_000 },
        );
      } finally {
        store.close();
      }
    });

    test("tracker - store deletes key-less device rows once no live revocation covers them", () => {
      const store = open();
      try {
        store.createAccount("Gil", "hash");
        store.saveDevice("Gil", { device: "active", publicKey: "key", gen: 1, lastSeen: 1 });
        store.saveDevice("Gil", { device: "covered", publicKey: null, gen: 2, lastSeen: 1 });
        store.saveDevice("Gil", { device: "stale", publicKey: null, gen: 2, lastSeen: 1 });
        store.addRevocation({ username: "Gil", device: "covered", minGen: 2, until: 2_000 }, 1_000);
        store.addRevocation({ username: "Gil", device: "stale", minGen: 2, until: 1_200 }, 1_000);
        assert.equal(store.deleteStaleDevices("gil", 1_500), 1);
        assert.equal(store.findDevice("Gil", "stale"), undefined);
        assert.equal(store.findDevice("Gil", "covered")?.gen, 2);
        assert.equal(store.deleteStaleDevices("gil", 2_000), 1);
        assert.equal(store.findDevice("Gil", "active")?.publicKey, "key");
      } finally {
        store.close();
      }
    });

    test("tracker - store transactions write all or nothing", () => {
      const store = open();
      try {
        assert.throws(() =>
          store.transaction(() => {
            store.createAccount("Hal", "hash");
            throw new Error("abandoned");
          }),
        );
        assert.equal(store.findAccount("Hal"), undefined);
        assert.equal(
          store.transaction(() => store.createAccount("Hal", "hash")),
          true,
        );
        assert.equal(store.findAccount("hal")?.username, "Hal");
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
