import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import {
  HistoryStore,
  HOST_DB_FILE,
  HOST_MIGRATIONS,
  type NewMessage,
} from "../../src/host/history-store.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hychat-store-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A signature-shaped string: the store keeps what members sent, it checks nothing. */
const SIG = "s".repeat(86);
const SENT_AT = "2026-11-25T09:30:00.123Z";

function message(channel: string, msgId: string, from = "alice", cert = `cert.${from}`): NewMessage {
  return { channel, from, msgId, text: `text ${msgId}`, sentAt: SENT_AT, sig: SIG, cert };
}

test("history store - migrates a new database to the latest schema, with WAL and synchronous FULL", () => {
  const dir = tempDir();
  const store = HistoryStore.open(dir);
  assert.equal(store.schemaVersion, HOST_MIGRATIONS.length);
  store.close();
  const db = new Database(join(dir, HOST_DB_FILE));
  try {
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as {
      name: string;
    }[];
    assert.ok(indexes.some((index) => index.name === "messages_idempotency"));
  } finally {
    db.close();
  }
  const reopened = HistoryStore.open(dir);
  assert.equal(reopened.schemaVersion, HOST_MIGRATIONS.length);
  reopened.close();
});

test("history store - refuses a database from a newer program", () => {
  const dir = tempDir();
  const db = new Database(join(dir, HOST_DB_FILE));
  db.pragma(`user_version = ${HOST_MIGRATIONS.length + 1}`);
  db.close();
  assert.throws(
    () => HistoryStore.open(dir),
    /host\.db has schema version \d+, newer than this hychat knows/,
  );
});

test("history store - numbers messages per channel from 1 and keeps channels, authorizations and the key", () => {
  const dir = tempDir();
  const store = HistoryStore.open(dir);
  store.addChannel("a", "public", false);
  store.addChannel("b", "private", true);
  store.setAuthorized("b", "Bob", true);
  store.setAuthorized("b", "carol", true);
  store.setAuthorized("b", "CAROL", false);
  store.saveTrackerKey({ publicKey: "key", issuer: "iss" });
  const results = store.append([message("a", "1"), message("b", "1"), message("a", "2")]);
  assert.deepEqual(
    results.map((result) => [result.message.channel, result.message.seq, result.duplicate]),
    [
      ["a", 1, false],
      ["b", 1, false],
      ["a", 2, false],
    ],
  );
  store.close();
  const reopened = HistoryStore.open(dir);
  assert.deepEqual(reopened.channels(), [
    { name: "a", view: "public", moderated: false, authorized: [] },
    { name: "b", view: "private", moderated: true, authorized: ["Bob"] },
  ]);
  assert.deepEqual(reopened.trackerKey(), { publicKey: "key", issuer: "iss" });
  assert.equal(reopened.latestSeq("a"), 2);
  assert.equal(reopened.append([message("a", "3")])[0]?.message.seq, 3);
  reopened.deleteChannel("a");
  assert.equal(reopened.latestSeq("a"), 0);
  assert.equal(reopened.storedCount("a"), 0);
  reopened.close();
});

test("history store - a repeated (channel, from, msgId) returns the original, in later and in the same batch", () => {
  const store = HistoryStore.open(tempDir());
  store.addChannel("a", "public", false);
  const [first] = store.append([message("a", "x")]);
  const results = store.append([
    message("a", "x"),
    message("a", "y"),
    message("a", "y"),
    message("a", "y", "bob"),
  ]);
  assert.deepEqual(
    results.map((result) => [result.message.seq, result.duplicate, result.message.from]),
    [
      [1, true, "alice"],
      [2, false, "alice"],
      [2, true, "alice"],
      [3, false, "bob"],
    ],
  );
  assert.equal(results[0]?.message.ts, first?.message.ts);
  store.close();
});

test("history store - a failed batch stores nothing and does not move the seq on", () => {
  const store = HistoryStore.open(tempDir());
  store.addChannel("a", "public", false);
  store.append([message("a", "1")]);
  const broken = { ...message("a", "2"), text: null as unknown as string };
  assert.throws(() => store.append([message("a", "3"), broken]));
  assert.equal(store.latestSeq("a"), 1);
  assert.equal(store.append([message("a", "4")])[0]?.message.seq, 2);
  store.close();
});

test("history store - pages are ascending and hasMore points the way they were read", () => {
  const store = HistoryStore.open(tempDir());
  store.addChannel("a", "public", false);
  const total = 23;
  store.append(Array.from({ length: total }, (_, index) => message("a", String(index + 1))));
  const seqs = (page: { messages: { seq: number }[] }) => page.messages.map((entry) => entry.seq);
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, index) => from + index);
  fc.assert(
    fc.property(
      fc.option(fc.integer({ min: 0, max: total + 2 }), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: total + 2 }), { nil: undefined }),
      fc.integer({ min: 1, max: total + 2 }),
      (before, afterSeq, limit) => {
        const page = store.page("a", { before, after: afterSeq, limit });
        const low = (afterSeq ?? 0) + 1;
        const high = Math.min(total, (before ?? total + 1) - 1);
        const all = low <= high ? range(low, high) : [];
        const expected =
          afterSeq !== undefined ? all.slice(0, limit) : all.slice(Math.max(0, all.length - limit));
        assert.deepEqual(seqs(page), expected);
        assert.equal(page.hasMore, all.length > limit);
      },
    ),
  );
  store.close();
});

test("history store - signatures and certificates come back with their messages, each certificate stored once", () => {
  const dir = tempDir();
  const store = HistoryStore.open(dir);
  store.addChannel("a", "public", false);
  store.addChannel("b", "public", false);
  const results = store.append([
    message("a", "1"),
    message("a", "2", "bob"),
    message("b", "1"),
    { ...message("a", "3"), sig: "t".repeat(86), cert: "cert.alice-renewed" },
  ]);
  assert.deepEqual(
    results.map((result) => [result.message.sig, result.message.cert]),
    [
      [SIG, "cert.alice"],
      [SIG, "cert.bob"],
      [SIG, "cert.alice"],
      ["t".repeat(86), "cert.alice-renewed"],
    ],
  );
  store.close();
  const reopened = HistoryStore.open(dir);
  const page = reopened.page("a", { limit: 10 });
  assert.deepEqual(
    page.messages.map((entry) => [entry.seq, entry.from, entry.sentAt, entry.sig, entry.cert]),
    [
      [1, "alice", SENT_AT, SIG, "cert.alice"],
      [2, "bob", SENT_AT, SIG, "cert.bob"],
      [3, "alice", SENT_AT, "t".repeat(86), "cert.alice-renewed"],
    ],
  );
  const db = new Database(join(dir, HOST_DB_FILE), { readonly: true });
  try {
    const certificates = db.prepare("SELECT cert FROM certificates ORDER BY cert").all() as {
      cert: string;
    }[];
    assert.deepEqual(
      certificates.map((row) => row.cert),
      ["cert.alice", "cert.alice-renewed", "cert.bob"],
    );
  } finally {
    db.close();
  }
  // A duplicate answers the stored original, certificate included.
  const [again] = reopened.append([{ ...message("a", "1"), cert: "cert.other" }]);
  assert.deepEqual([again?.duplicate, again?.message.cert], [true, "cert.alice"]);
  reopened.close();
});

test("history store - a certificate first seen in a failed batch is stored with the next message that brings it", () => {
  const dir = tempDir();
  const store = HistoryStore.open(dir);
  store.addChannel("a", "public", false);
  const broken = { ...message("a", "2", "carol"), text: null as unknown as string };
  assert.throws(() => store.append([message("a", "1", "carol"), broken]));
  const [stored] = store.append([message("a", "3", "carol")]);
  assert.equal(stored?.message.cert, "cert.carol");
  assert.deepEqual(
    store.page("a", { limit: 10 }).messages.map((entry) => [entry.seq, entry.msgId, entry.cert]),
    [[1, "3", "cert.carol"]],
  );
  store.close();
});

test("history store - messages stored before signing come back unsigned, beside signed ones", () => {
  const dir = tempDir();
  const db = new Database(join(dir, HOST_DB_FILE));
  db.exec(HOST_MIGRATIONS[0] as string);
  db.pragma("user_version = 1");
  db.prepare("INSERT INTO channels (name, view, moderated, created_at) VALUES (?, ?, ?, ?)").run(
    "a",
    "public",
    0,
    SENT_AT,
  );
  db.prepare(
    "INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ).run("a", 1, "old", "alice", "from before", SENT_AT, null);
  db.close();
  const store = HistoryStore.open(dir);
  assert.equal(store.schemaVersion, HOST_MIGRATIONS.length);
  assert.equal(store.append([message("a", "new")])[0]?.message.seq, 2);
  assert.deepEqual(
    store
      .page("a", { limit: 10 })
      .messages.map((entry) => [entry.msgId, entry.sentAt, entry.sig, entry.cert]),
    [
      ["old", null, null, null],
      ["new", SENT_AT, SIG, "cert.alice"],
    ],
  );
  store.close();
});
