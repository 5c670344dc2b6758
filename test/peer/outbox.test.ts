import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

describe("peer outbox", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-peer-outbox-");
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

  test("peer - sends queue while the host is down and are delivered once, in order, when it returns", async () => {
    let owner = await peer();
    await owner.signUp("hannah", TEST_PASSWORD);
    const hosted = await owner.host("queue");
    const port = hosted.address?.port as number;
    const sender = await peer();
    const senderLog = new EventLog(sender);
    await sender.signUp("sam", TEST_PASSWORD);
    await sender.join("queue");
    assert.equal((await sender.send("queue", "before")).status, "delivered");

    await closePeer(owner);
    await senderLog.waitFor("link", (event) => event.state === "unreachable");
    const texts = ["one", "two", "three", "four"];
    for (const text of texts) {
      const outcome = await sender.send("queue", text);
      assert.equal(outcome.status, "queued");
    }
    assert.equal(sender.joinedChannels()[0]?.pending, 4);
    assert.deepEqual(
      sender.outbox("queue").map((entry) => entry.text),
      texts,
    );
    const positions = sender.outbox("queue").map((entry) => entry.position);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );

    owner = await peer({ hostListen: { host: "127.0.0.1", port } });
    const ownerLog = new EventLog(owner);
    assert.equal((await owner.resume("hannah"))?.username, "hannah");
    await senderLog.waitForCount("delivered", 5);
    assert.equal(sender.outbox().length, 0);
    assert.deepEqual(
      senderLog.of("delivered").map((event) => event.seq),
      [1, 2, 3, 4, 5],
    );
    await senderLog.waitForCount("message", 5);
    assert.deepEqual(messageTexts(senderLog, "queue"), ["before", ...texts]);
    // The owner sees each message once: in its rejoin history or as a live event.
    const joined = await ownerLog.waitFor("joined");
    const fromHistory = joined.history.map((message) => message.text);
    await ownerLog.waitForCount(
      "message",
      texts.length - fromHistory.filter((text) => text !== "before").length,
    );
    const ownerSeen = [...fromHistory, ...messageTexts(ownerLog, "queue")].filter(
      (text) => text !== "before",
    );
    assert.deepEqual(ownerSeen, texts);
    const page = await owner.history("queue", { before: 100, limit: 50 });
    assert.deepEqual(
      page.messages.map((message) => message.seq),
      [1, 2, 3, 4, 5],
    );
  });

  test("peer - messages queued while the host was down and refused when it returns are dropped with one notice", async () => {
    let owner = await peer();
    await owner.signUp("gina", TEST_PASSWORD);
    const hosted = await owner.host("gated");
    const port = hosted.address?.port as number;
    const sender = await peer();
    const senderLog = new EventLog(sender);
    await sender.signUp("gus", TEST_PASSWORD);
    await sender.join("gated");
    await owner.setView("gated", "public", true);
    await senderLog.waitFor("settings", (event) => event.moderated);
    await closePeer(owner);
    await senderLog.waitFor("link", (event) => event.state === "unreachable");
    for (const text of ["first try", "second try"]) {
      assert.equal((await sender.send("gated", text)).status, "queued");
    }
    const queuedIds = sender.outbox("gated").map((entry) => entry.msgId);

    owner = await peer({ hostListen: { host: "127.0.0.1", port } });
    await owner.resume("gina");
    const dropped = await senderLog.waitForCount("dropped", 2);
    assert.deepEqual(
      dropped.map((event) => [event.channel, event.msgId, event.code]),
      queuedIds.map((msgId) => ["gated", msgId, "NOT_AUTHORIZED"]),
    );
    // No send waits for these entries: one notice reports the refusal, emitted with the drops.
    const notices = senderLog.of("notice");
    assert.equal(notices.length, 1);
    assert.equal(notices[0]?.code, "NOT_AUTHORIZED");
    assert.match(
      notices[0]?.text ?? "",
      /^2 queued message\(s\) to #gated refused by its host and dropped: /,
    );
    assert.equal(sender.outbox().length, 0);
  });

  test("peer - the outbox survives a restart of the sending peer", async () => {
    let owner = await peer();
    await owner.signUp("rita", TEST_PASSWORD);
    const hosted = await owner.host("durable");
    const port = hosted.address?.port as number;
    let sender = await peer();
    await sender.signUp("steve", TEST_PASSWORD);
    await sender.join("durable");
    await closePeer(owner);
    for (const text of ["a", "b", "c"]) assert.equal((await sender.send("durable", text)).status, "queued");
    await closePeer(sender);

    sender = await peer();
    const senderLog = new EventLog(sender);
    assert.equal((await sender.resume())?.username, "steve");
    assert.equal(sender.outbox("durable").length, 3);
    owner = await peer({ hostListen: { host: "127.0.0.1", port } });
    await owner.resume("rita");
    await senderLog.waitForCount("delivered", 3);
    assert.equal(sender.outbox().length, 0);
    const page = await owner.history("durable", { before: 100, limit: 10 });
    assert.deepEqual(
      page.messages.map((message) => [message.from, message.text]),
      [
        ["steve", "a"],
        ["steve", "b"],
        ["steve", "c"],
      ],
    );
  });

  test("peer - messages written before joining survive a restart and are delivered once, in order, on join", async () => {
    const owner = await peer();
    await owner.signUp("paula", TEST_PASSWORD);
    await owner.host("later");
    let sender = await peer();
    await sender.signUp("pete", TEST_PASSWORD);
    for (const text of ["one", "two"]) {
      assert.equal((await sender.send("later", text)).reason, "not-joined");
    }
    await closePeer(sender);

    sender = await peer();
    const log = new EventLog(sender);
    await sender.resume("pete");
    assert.deepEqual(
      log.of("queued").map((event) => [event.entry.text, event.reason]),
      [
        ["one", "not-joined"],
        ["two", "not-joined"],
      ],
    );
    await sender.join("later");
    await log.waitForCount("delivered", 2);
    assert.deepEqual(sender.outbox(), []);
    const page = await owner.history("later", { before: 100 });
    assert.deepEqual(
      page.messages.map((message) => [message.from, message.text]),
      [
        ["pete", "one"],
        ["pete", "two"],
      ],
    );
  });

  test("peer - a pending message can be cancelled; one of an online channel cannot", async () => {
    const owner = await peer();
    await owner.signUp("carla", TEST_PASSWORD);
    await owner.host("cancels");
    const sender = await peer();
    const log = new EventLog(sender);
    await sender.signUp("colin", TEST_PASSWORD);
    const kept = await sender.send("cancels", "keep me");
    const cancelled = await sender.send("cancels", "forget me");
    await sender.cancelPending(cancelled.msgId);
    const dropped = await log.waitFor("dropped");
    assert.deepEqual(
      [dropped.msgId, dropped.reason, dropped.code],
      [cancelled.msgId, "cancelled", "CANCELLED"],
    );
    await assert.rejects(sender.cancelPending(cancelled.msgId), { code: "BAD_REQUEST" });
    await sender.join("cancels");
    await log.waitFor("delivered", (event) => event.msgId === kept.msgId);
    const page = await owner.history("cancels", { before: 100 });
    assert.deepEqual(
      page.messages.map((message) => message.text),
      ["keep me"],
    );
  });

  test("peer - each message's events come in the stated order: queued, then delivered, then the host's copy", async () => {
    const owner = await peer();
    await owner.signUp("olga", TEST_PASSWORD);
    await owner.host("order");
    const sender = await peer();
    const log = new EventLog(sender);
    await sender.signUp("oscar", TEST_PASSWORD);
    await sender.join("order");
    const sent: string[] = [];
    for (let i = 0; i < 20; i += 1) sent.push((await sender.send("order", `m${i}`)).msgId);
    await log.waitForCount("message", 20, (event) => event.own);
    for (const msgId of sent) {
      const story = log.events
        .filter(
          (event) =>
            (event.type === "queued" && event.entry.msgId === msgId) ||
            ((event.type === "delivered" || event.type === "dropped") && event.msgId === msgId) ||
            (event.type === "message" && event.message.msgId === msgId),
        )
        .map((event) => event.type);
      assert.deepEqual(story, ["queued", "delivered", "message"], `events of ${msgId}`);
    }
  });
});
