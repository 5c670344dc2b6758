import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import {
  HistoryStore,
  HOST_DB_FILE,
  HOST_MIGRATIONS,
  MESSAGE_ROW_OVERHEAD,
  type NewMessage,
} from "../../src/host/history-store.js";
import type { HostOkBodies } from "../../src/protocol/host-schemas.js";
import { HostConnections, startTestHost } from "../helpers/host.js";
import { connectUser } from "../helpers/tracker.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hychat-quota-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SIG = "s".repeat(86);
const SENT_AT = "2026-11-25T09:30:00.123Z";
/** Length of an ISO timestamp, as the store writes `ts`. */
const TS_BYTES = new Date().toISOString().length;

function message(channel: string, index: number, text = "x".repeat(100)): NewMessage {
  return { channel, from: "alice", msgId: `m${index}`, text, sentAt: SENT_AT, sig: SIG, cert: "cert.alice" };
}

/** What the store counts for `message(channel, index, text)`. */
function bytesOf(item: NewMessage): number {
  return (
    MESSAGE_ROW_OVERHEAD +
    [item.channel, item.from, item.msgId, item.text, item.sentAt, item.sig].reduce(
      (sum, field) => sum + Buffer.byteLength(field),
      TS_BYTES,
    )
  );
}

test("channel quota - the store deletes a channel's oldest messages beyond the quota, in the same transaction", () => {
  const size = bytesOf(message("a", 10));
  const store = HistoryStore.open(tempDir(), { channelQuotaBytes: 20 * size });
  store.addChannel("a", "public", false);
  store.addChannel("b", "public", false);
  for (let index = 10; index < 60; index += 1) store.append([message("a", index)]);
  store.append([message("b", 10)]);
  const usage = store.usage("a");
  assert.deepEqual(usage, { bytes: 20 * size, count: 20, prunedThrough: 30 });
  assert.equal(store.storedCount("a"), 20);
  assert.equal(store.latestSeq("a"), 50);
  const oldest = store.page("a", { after: 0, limit: 5 });
  assert.deepEqual(
    oldest.messages.map((entry) => entry.seq),
    [31, 32, 33, 34, 35],
  );
  assert.deepEqual(store.page("a", { before: 31, limit: 10 }), { messages: [], hasMore: false });
  assert.deepEqual(store.usage("b"), { bytes: size, count: 1, prunedThrough: 0 });
  // A duplicate stores nothing and takes nothing.
  assert.equal(store.append([message("a", 59)])[0]?.duplicate, true);
  assert.deepEqual(store.usage("a"), usage);
  store.close();
});

test("channel quota - the newest message always stays, so seqs go on after a restart", () => {
  const dir = tempDir();
  const store = HistoryStore.open(dir, { channelQuotaBytes: 1 });
  store.addChannel("a", "public", false);
  store.append([message("a", 1), message("a", 2), message("a", 3)]);
  assert.deepEqual(
    store.page("a", { limit: 10 }).messages.map((entry) => entry.seq),
    [3],
  );
  store.close();
  const reopened = HistoryStore.open(dir, { channelQuotaBytes: 1 });
  assert.equal(reopened.append([message("a", 4)])[0]?.message.seq, 4);
  assert.deepEqual(reopened.usage("a").prunedThrough, 3);
  reopened.close();
});

test("channel quota - without a quota nothing is deleted; deleting a channel forgets its usage", () => {
  const store = HistoryStore.open(tempDir());
  store.addChannel("a", "public", false);
  for (let index = 0; index < 30; index += 1) store.append([message("a", index, "y".repeat(4000))]);
  assert.equal(store.usage("a").count, 30);
  assert.equal(store.usage("a").prunedThrough, 0);
  store.deleteChannel("a");
  assert.deepEqual(store.usage("a"), { bytes: 0, count: 0, prunedThrough: 0 });
  store.close();
});

test("channel quota - messages stored before the quota existed are counted by the migration", () => {
  const dir = tempDir();
  const db = new Database(join(dir, HOST_DB_FILE));
  for (const [index, sql] of HOST_MIGRATIONS.slice(0, 2).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${index + 1}`);
  }
  db.prepare("INSERT INTO channels (name, view, moderated, created_at) VALUES (?, ?, ?, ?)").run(
    "old",
    "public",
    0,
    SENT_AT,
  );
  const insert = db.prepare(
    "INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const items = [1, 2, 3].map((index) => message("old", index, "é".repeat(index)));
  for (const [position, item] of items.entries()) {
    insert.run("old", position + 1, item.msgId, item.from, item.text, SENT_AT, item.sentAt, item.sig);
  }
  db.close();
  const store = HistoryStore.open(dir);
  assert.deepEqual(store.usage("old"), {
    bytes: items.reduce((sum, item) => sum + bytesOf(item) - TS_BYTES + SENT_AT.length, 0),
    count: 3,
    prunedThrough: 0,
  });
  store.close();
});

test("channel quota - a host over its quota keeps serving: CONNECT since an old seq and HISTORY start at the oldest kept", async () => {
  const quotaMessages = 10;
  const probe = message("bounded", 0);
  const testHost = await startTestHost({
    limits: { sendRatePerSecond: 0, channelQuotaBytes: quotaMessages * (bytesOf(probe) + 64) },
  });
  const connections = new HostConnections(() => testHost.address);
  const writer = await connectUser(testHost.tracker.address, "writer");
  try {
    await testHost.host.host("bounded");
    const member = await connections.join(writer.ticket, "bounded");
    for (let index = 0; index < 60; index += 1) {
      await member.client.request("MESSAGE", {
        channel: "bounded",
        msgId: `w${index}`,
        text: "x".repeat(100),
      });
    }
    const owner = await connections.join(testHost.owner.ticket, "bounded");
    const info = (await owner.client.request("RET_INFO", { channel: "bounded" })) as HostOkBodies["RET_INFO"];
    assert.equal(info.latestSeq, 60);
    assert.ok(
      info.storedCount !== undefined && info.storedCount < 60 && info.storedCount >= quotaMessages / 2,
    );
    const kept = info.storedCount as number;
    const oldestKept = 60 - kept + 1;
    const rejoined = await connections.join(writer.ticket, "bounded", { since: 3 });
    assert.deepEqual(
      rejoined.joined.history.map((entry) => entry.seq),
      Array.from({ length: kept }, (_, index) => oldestKept + index),
    );
    assert.equal(rejoined.joined.latestSeq, 60);
    const page = (await member.client.request("HISTORY", {
      channel: "bounded",
      before: oldestKept + 2,
      limit: 50,
    })) as HostOkBodies["HISTORY"];
    assert.deepEqual(
      page.messages.map((entry) => entry.seq),
      [oldestKept, oldestKept + 1],
    );
    const debug = testHost.host.debugInfo() as { channels: { name: string; storage: unknown }[] };
    const storage = debug.channels.find((channel) => channel.name === "bounded")?.storage as {
      count: number;
      prunedThrough: number;
    };
    assert.deepEqual(
      { count: storage.count, prunedThrough: storage.prunedThrough },
      {
        count: kept,
        prunedThrough: oldestKept - 1,
      },
    );
  } finally {
    await connections.closeAll();
    await writer.client.close();
    await testHost.close();
  }
});
