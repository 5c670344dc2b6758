import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HychatError } from "../../src/protocol/errors.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

describe("peer chat", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-peer-chat-");
  const peers = new OpenPeers(() => tracker.address, dirs.path);
  const { open: peer } = peers;

  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
  });

  test("peer - two peers chat: each message once, in order, both see it", async () => {
    const alice = await peer();
    const bob = await peer();
    const aliceLog = new EventLog(alice);
    const bobLog = new EventLog(bob);
    await alice.signUp("alice", TEST_PASSWORD);
    await bob.signUp("bob", TEST_PASSWORD);
    const hosted = await alice.host("lobby");
    assert.equal(hosted.name, "lobby");
    assert.equal(alice.joinedChannels()[0]?.state, "online");
    const joined = await bob.join("lobby");
    assert.equal(joined.state, "online");
    assert.equal(joined.owner, "alice");

    const first = await alice.send("lobby", "hello bob");
    assert.equal(first.status, "delivered");
    assert.equal(first.seq, 1);
    const second = await bob.send("lobby", "hello alice");
    assert.deepEqual([second.status, second.seq], ["delivered", 2]);
    await alice.send("lobby", "how are you?");

    await bobLog.waitForCount("message", 3);
    await aliceLog.waitForCount("message", 3);
    const expected = ["hello bob", "hello alice", "how are you?"];
    assert.deepEqual(messageTexts(bobLog, "lobby"), expected);
    assert.deepEqual(messageTexts(aliceLog, "lobby"), expected);
    assert.deepEqual(
      aliceLog.of("message").map((event) => event.own),
      [true, false, true],
    );
    assert.deepEqual(
      aliceLog.of("delivered").map((event) => event.seq),
      [1, 3],
    );
    assert.equal(alice.outbox().length, 0);
    assert.equal(bob.joinedChannels()[0]?.unread, 2);
    bob.markRead("lobby");
    assert.equal(bob.joinedChannels()[0]?.unread, 0);
    await aliceLog.waitFor("presence", (event) => event.username === "bob" && event.status === "online");
    assert.deepEqual(
      alice
        .members("lobby")
        .map((member) => member.username)
        .sort(),
      ["alice", "bob"],
    );
    const page = await bob.history("lobby", { before: 3, limit: 10 });
    assert.deepEqual(
      page.messages.map((message) => message.seq),
      [1, 2],
    );
  });

  test("peer - a message to a channel not joined yet waits in the outbox and goes out once on join", async () => {
    const owner = await peer();
    await owner.signUp("nora", TEST_PASSWORD);
    await owner.host("drop-in");
    const visitor = await peer();
    const log = new EventLog(visitor);
    await visitor.signUp("quinn", TEST_PASSWORD);
    const outcome = await visitor.send("drop-in", "hi, just arrived");
    assert.deepEqual([outcome.status, outcome.reason], ["queued", "not-joined"]);
    assert.deepEqual(visitor.joinedChannels(), []);
    assert.deepEqual(
      visitor.outbox().map((entry) => [entry.channel, entry.text]),
      [["drop-in", "hi, just arrived"]],
    );
    await visitor.join("drop-in");
    await log.waitFor("delivered", (event) => event.msgId === outcome.msgId);
    assert.deepEqual(visitor.outbox(), []);
    const page = await owner.history("drop-in", { before: 100 });
    assert.deepEqual(
      page.messages.map((message) => message.text),
      ["hi, just arrived"],
    );
    await assert.rejects(visitor.send("bad name!", "hello?"), { code: "BAD_REQUEST" });
    await assert.rejects(visitor.send("nowhere", "  "), { code: "EMPTY_TEXT" });
  });

  test("peer - a guest reads a channel but sending fails with GUEST_READ_ONLY", async () => {
    const owner = await peer();
    await owner.signUp("gina", TEST_PASSWORD);
    await owner.host("readers");
    await owner.send("readers", "welcome");
    const guest = await peer();
    const guestLog = new EventLog(guest);
    const identity = await guest.guest("reader");
    assert.deepEqual(identity, { username: "guest-reader", role: "guest", invisible: false });
    const joined = await guest.join("readers");
    assert.equal(joined.role, "guest");
    const joinedEvent = await guestLog.waitFor("joined");
    assert.deepEqual(
      joinedEvent.history.map((message) => message.text),
      ["welcome"],
    );
    await owner.send("readers", "second");
    await guestLog.waitFor("message", (event) => event.message.text === "second");
    await assert.rejects(guest.send("readers", "may I?"), (error: unknown) => {
      return error instanceof HychatError && error.code === "GUEST_READ_ONLY";
    });
    assert.equal(guest.outbox().length, 0);
  });

  test("peer - text is checked before it reaches the outbox", async () => {
    const sender = await peer();
    await sender.signUp("texter", TEST_PASSWORD);
    await sender.host("texts");
    await assert.rejects(sender.send("texts", "   "), { code: "EMPTY_TEXT" });
    await assert.rejects(sender.send("texts", "x".repeat(4001)), { code: "TEXT_TOO_LONG" });
    const emoji = "\u{1F600}".repeat(4000);
    assert.equal((await sender.send("texts", emoji)).status, "delivered");
    assert.equal(sender.outbox().length, 0);
  });

  test("peer - a message the host refuses while send waits is one dropped event and the call's error", async () => {
    const owner = await peer();
    await owner.signUp("moira", TEST_PASSWORD);
    await owner.host("announcements", { moderated: true });
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("mick", TEST_PASSWORD);
    await member.join("announcements");
    await assert.rejects(member.send("announcements", "can I talk?"), { code: "NOT_AUTHORIZED" });
    const [queued] = memberLog.of("queued");
    // Emitted before the call rejected: everything about this refusal has been told by now.
    const dropped = memberLog.of("dropped");
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]?.channel, "announcements");
    assert.equal(dropped[0]?.msgId, queued?.entry.msgId);
    assert.equal(dropped[0]?.code, "NOT_AUTHORIZED");
    assert.notEqual(dropped[0]?.message, "");
    // The rejected call shows the error; a notice would show it twice.
    assert.deepEqual(memberLog.of("notice"), []);
    assert.equal(member.outbox().length, 0);
    assert.deepEqual(await owner.authorize("announcements", "mick", true), ["mick"]);
    const outcome = await member.send("announcements", "thanks");
    assert.equal(outcome.status, "delivered");
  });

  test("peer - turning a channel private evicts members with a left event (PRIVATE_CHANNEL)", async () => {
    const owner = await peer();
    await owner.signUp("olga", TEST_PASSWORD);
    await owner.host("club");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("pete", TEST_PASSWORD);
    await member.join("club");
    assert.deepEqual(await owner.setView("club", "private"), { view: "private", moderated: false });
    const left = await memberLog.waitFor("left");
    assert.deepEqual(left, { type: "left", channel: "club", reason: "PRIVATE_CHANNEL" });
    assert.equal(member.joinedChannels().length, 0);
    await assert.rejects(member.join("club"), { code: "PRIVATE_CHANNEL" });
    // The refused join is that call's error: it was never joined, so it is not reported as left.
    assert.equal(memberLog.of("left").length, 1);
    assert.equal(member.joinedChannels().length, 0);
    await owner.authorize("club", "pete", true);
    assert.equal((await member.join("club")).state, "online");
    const info = await member.channelInfo("club");
    assert.equal(info.view, "private");
  });
});
