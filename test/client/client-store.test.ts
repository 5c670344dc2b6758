import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { messageBytes } from "../../src/auth/canonical.js";
import { DeviceKey } from "../../src/auth/device-key.js";
import { verifySignature } from "../../src/auth/signatures.js";
import { CLIENT_MIGRATIONS, ClientStore } from "../../src/client/client-store.js";
import type { Author } from "../../src/client/outbox.js";

const HOST_KEY = `sha256:${"ab".repeat(32)}`;
/** Who writes the outbox entries: the outbox signs them, it never reads the ticket. */
const AUTHOR: Author = { username: "alice", key: DeviceKey.generate(), ticket: "payload.signature" };

describe("client store", () => {
  const dir = mkdtempSync(join(tmpdir(), "hychat-client-store-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("client - a new database gets every migration, and reopening applies none twice", () => {
    const file = join(dir, "fresh.db");
    const store = ClientStore.open(file);
    assert.equal(store.schemaVersion, CLIENT_MIGRATIONS.length);
    store.close();
    const again = ClientStore.open(file);
    assert.equal(again.schemaVersion, CLIENT_MIGRATIONS.length);
    again.close();
  });

  test("client - a database from the first schema is migrated and keeps its outbox", () => {
    const file = join(dir, "old.db");
    const db = new Database(file);
    db.exec(CLIENT_MIGRATIONS[0] as string);
    db.pragma("user_version = 1");
    db.prepare("INSERT INTO outbox (channel, msg_id, text, sent_at) VALUES (?, ?, ?, ?)").run(
      "general",
      "m-1",
      "kept",
      "2026-11-25T09:30:00.123Z",
    );
    db.close();
    const store = ClientStore.open(file);
    assert.equal(store.schemaVersion, CLIENT_MIGRATIONS.length);
    assert.deepEqual(
      store.outbox.entries().map((entry) => [entry.channel, entry.msgId, entry.text, entry.sig, entry.cert]),
      [["general", "m-1", "kept", null, null]],
    );
    store.markJoined("general");
    assert.equal(store.channel("general")?.joined, true);
    assert.equal(store.hostPort(), null);
    store.saveHostPort(40123);
    assert.equal(store.hostPort(), 40123);
    store.close();
  });

  test("client - the port of the user's own host persists, the last one saved wins", () => {
    const file = join(dir, "host-port.db");
    const store = ClientStore.open(file);
    assert.equal(store.hostPort(), null);
    store.saveHostPort(40123);
    store.saveHostPort(40124);
    store.close();
    const reopened = ClientStore.open(file);
    assert.equal(reopened.hostPort(), 40124);
    reopened.close();
  });

  test("client - outbox entries are durable, ordered per channel, and leave only when removed", () => {
    const file = join(dir, "outbox.db");
    const store = ClientStore.open(file);
    const a1 = store.outbox.add("a", "first", AUTHOR);
    store.outbox.add("b", "other", AUTHOR);
    const a2 = store.outbox.add("a", "second", AUTHOR);
    assert.ok(a1.position < a2.position);
    assert.match(a1.msgId, /^[0-9a-f-]{36}$/);
    assert.match(a1.sentAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Signed when written, by the author's key, with the author's ticket as its certificate.
    assert.equal(a1.cert, AUTHOR.ticket);
    assert.ok(
      verifySignature(
        AUTHOR.key.publicKey,
        messageBytes({ channel: "a", from: "alice", msgId: a1.msgId, sentAt: a1.sentAt, text: "first" }),
        a1.sig as string,
      ),
    );
    store.close();

    const reopened = ClientStore.open(file);
    assert.deepEqual(
      reopened.outbox.head("a", 10).map((entry) => entry.text),
      ["first", "second"],
    );
    assert.deepEqual(
      reopened.outbox.head("a", 1).map((entry) => entry.text),
      ["first"],
    );
    assert.deepEqual(reopened.outbox.counts(), { a: 2, b: 1 });
    reopened.outbox.remove([a1.msgId]);
    assert.equal(reopened.outbox.count("a"), 1);
    assert.deepEqual(
      reopened.outbox.removeChannel("b").map((entry) => entry.text),
      ["other"],
    );
    assert.deepEqual(
      reopened.outbox.entries().map((entry) => entry.text),
      ["second"],
    );
    reopened.close();
  });

  test("client - joined channels, read positions and addresses persist", () => {
    const file = join(dir, "channels.db");
    const store = ClientStore.open(file);
    store.markJoined("news");
    assert.deepEqual(store.channel("news"), {
      name: "news",
      joined: true,
      lastSeq: null,
      readSeq: 0,
      unread: 0,
      endpoint: null,
      owner: null,
    });
    store.savePosition("news", { lastSeq: 42, unread: 3, readSeq: 0 });
    store.saveEndpoint("news", { address: { host: "127.0.0.1", port: 4567 }, fingerprint: HOST_KEY });
    store.markJoined("old");
    store.markLeft("old");
    store.close();

    const reopened = ClientStore.open(file);
    assert.deepEqual(reopened.channel("news"), {
      name: "news",
      joined: true,
      lastSeq: 42,
      readSeq: 0,
      unread: 3,
      endpoint: { address: { host: "127.0.0.1", port: 4567 }, fingerprint: HOST_KEY },
      owner: null,
    });
    reopened.savePosition("news", { lastSeq: 42, unread: 0, readSeq: 42 });
    assert.deepEqual([reopened.channel("news")?.readSeq, reopened.channel("news")?.unread], [42, 0]);
    // The read position never moves back, whatever a late write says.
    reopened.savePosition("news", { lastSeq: 43, unread: 1, readSeq: 10 });
    assert.deepEqual([reopened.channel("news")?.readSeq, reopened.channel("news")?.lastSeq], [42, 43]);
    assert.deepEqual(
      reopened.channels().map((channel) => [channel.name, channel.joined]),
      [
        ["news", true],
        ["old", false],
      ],
    );
    reopened.markJoined("old");
    assert.equal(reopened.channel("old")?.joined, true);
    reopened.close();
  });
});
