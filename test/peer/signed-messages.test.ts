import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { DeviceKey } from "../../src/auth/device-key.js";
import { signMessage } from "../../src/auth/message-signature.js";
import { signTicket } from "../../src/auth/tickets.js";
import { HOST_DB_FILE } from "../../src/host/history-store.js";
import type { Peer } from "../../src/peer/peer.js";
import { userDir } from "../../src/peer/session-file.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

/** What a member shows of a channel after joining it afresh: the texts, and the drop notices. */
async function joinAndRead(peer: Peer, channel: string): Promise<{ texts: string[]; notices: string[] }> {
  const log = new EventLog(peer);
  const joined = await peer.join(channel);
  assert.equal(joined.state, "online");
  const history = log.of("joined").find((event) => event.channel.name === channel)?.history ?? [];
  const notices = log
    .of("notice")
    .filter((event) => event.code === "MESSAGES_DROPPED" && event.channel === channel)
    .map((event) => event.text);
  log.unsubscribe();
  return { texts: history.map((message) => message.text), notices };
}

describe("peer signed messages", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-signed-");
  const peers = new OpenPeers(() => tracker.address, dirs.path);
  const { open: peer, close: closePeer } = peers;

  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
  });

  test("peer - a host that rewrites, moves, re-attributes or forges stored messages has them left out, with one notice", async () => {
    let alice = await peer();
    await alice.signUp("alice", TEST_PASSWORD);
    await alice.host("room");
    await alice.host("other");
    const bob = await peer();
    await bob.signUp("bob", TEST_PASSWORD);
    await bob.join("room");
    for (const text of ["one", "two", "three", "four"]) {
      assert.equal((await bob.send("room", text)).status, "delivered");
    }
    await closePeer(bob);
    await closePeer(alice);

    // The owner edits their own host.db: what any host could do to what it serves.
    const db = new Database(join(userDir(dirs.path, "alice"), HOST_DB_FILE));
    db.prepare(
      "UPDATE messages SET text = 'I owe alice 100 euros' WHERE channel = 'room' AND text = 'two'",
    ).run();
    db.prepare("UPDATE messages SET sender = 'alice' WHERE channel = 'room' AND text = 'three'").run();
    db.prepare(
      `INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at, sig, cert_id)
       SELECT 'other', 1, msg_id, sender, text, ts, sent_at, sig, cert_id FROM messages WHERE channel = 'room' AND text = 'four'`,
    ).run();
    // A key and a certificate the tracker never made, and a message from before signing.
    const fakeTracker = generateKeyPairSync("ed25519").privateKey;
    const forger = DeviceKey.generate();
    const issuer = tracker.tracker.issuer;
    const now = Math.floor(Date.now() / 1000);
    const fakeCert = signTicket(
      {
        v: 2,
        sub: "bob",
        role: "user",
        key: forger.publicKey,
        dev: "x",
        gen: 1,
        iat: now,
        exp: now + 3600,
        iss: issuer,
      },
      fakeTracker,
    );
    const sentAt = new Date().toISOString();
    const sig = signMessage(forger, {
      channel: "room",
      from: "bob",
      msgId: "forged-1",
      sentAt,
      text: "forged",
    });
    const certId = db.prepare("INSERT INTO certificates (cert) VALUES (?) RETURNING id").get(fakeCert) as {
      id: number;
    };
    const insert = db.prepare(
      `INSERT INTO messages (channel, seq, msg_id, sender, text, ts, sent_at, sig, cert_id)
       VALUES ('room', ?, ?, 'bob', ?, ?, ?, ?, ?)`,
    );
    insert.run(5, "forged-1", "forged", sentAt, sentAt, sig, certId.id);
    insert.run(6, "legacy-1", "from before signing", sentAt, null, null, null);
    db.close();

    alice = await peer();
    await alice.resume("alice");
    const carol = await peer();
    await carol.signUp("carol", TEST_PASSWORD);
    const room = await joinAndRead(carol, "room");
    assert.deepEqual(room.texts, ["one", "four"]);
    assert.equal(room.notices.length, 1);
    assert.match(room.notices[0] ?? "", /4 messages from the host left out/);
    assert.match(room.notices[0] ?? "", /1 unsigned/);
    assert.match(room.notices[0] ?? "", /2 not certified by the tracker for their author/);
    assert.match(room.notices[0] ?? "", /1 with a signature that does not match/);
    const other = await joinAndRead(carol, "other");
    assert.deepEqual(other.texts, [], "a message moved into another channel is not shown there");
    assert.match(other.notices[0] ?? "", /1 with a signature that does not match/);
    const debug = await carol.debugInfo();
    const counts = (debug.client.channels as Record<string, { dropped: Record<string, number> }>).room
      ?.dropped;
    assert.deepEqual(counts, { unsigned: 1, uncertified: 2, forged: 1 });

    // The rewritten history is left out of HISTORY pages too.
    const page = await carol.history("room", { before: 1_000, limit: 50 });
    assert.deepEqual(
      page.messages.map((message) => message.text),
      ["one", "four"],
    );
  });

  test("peer - messages written offline are signed in the outbox and verify when delivered after both restart", async () => {
    let dave = await peer();
    await dave.signUp("dave", TEST_PASSWORD);
    await dave.host("later");
    let erin = await peer();
    await erin.signUp("erin", TEST_PASSWORD);
    await erin.join("later");
    const erinLog = new EventLog(erin);
    await closePeer(dave);
    await erinLog.waitFor("link", (event) => event.channel === "later" && event.state === "unreachable");
    assert.equal((await erin.send("later", "written offline")).status, "queued");
    await closePeer(erin);

    dave = await peer();
    await dave.resume("dave");
    const daveLog = new EventLog(dave);
    erin = await peer();
    await erin.resume("erin");
    await daveLog.waitFor("message", (event) => event.message.text === "written offline");
    const frank = await peer();
    await frank.signUp("frank", TEST_PASSWORD);
    const seen = await joinAndRead(frank, "later");
    assert.deepEqual(seen.texts, ["written offline"]);
    assert.deepEqual(seen.notices, []);
    assert.deepEqual(messageTexts(daveLog, "later"), ["written offline"]);
  });
});
