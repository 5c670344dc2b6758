import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, occupyPort, tempDir } from "./harness.js";

describe("peer reconnect", () => {
  const dirs = tempDir("hychat-peer-reconnect-");
  const trackerDir = tempDir("hychat-peer-reconnect-tracker-");
  let tracker: TestTracker;
  const peers = new OpenPeers(() => tracker.address, dirs.path);
  const { open: peer, close: closePeer } = peers;

  before(async () => {
    tracker = await startTestTracker({ dataDir: trackerDir.path });
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
    trackerDir.remove();
  });

  test("peer - a channel that moved to another port is followed through the CHANNELS event", async () => {
    let owner = await peer();
    await owner.signUp("mover", TEST_PASSWORD);
    const first = await owner.host("moving");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("follower", TEST_PASSWORD);
    await member.join("moving");
    await owner.send("moving", "at the old place");
    await memberLog.waitFor("message", (event) => event.message.text === "at the old place");

    await closePeer(owner);
    await memberLog.waitFor("link", (event) => event.state !== "online");
    // Another program took the old port: the restarted host has to move.
    const blocker = await occupyPort(first.address?.port as number);
    try {
      owner = await peer();
      await owner.resume("mover");
      const moved = owner.hostedChannels()[0];
      assert.equal(moved?.name, "moving");
      assert.notEqual(moved?.address?.port, first.address?.port);
      await memberLog.waitFor("link", (event) => event.state === "online");
      await owner.send("moving", "at the new place");
      await memberLog.waitFor("message", (event) => event.message.text === "at the new place");
      assert.deepEqual(messageTexts(memberLog, "moving"), ["at the old place", "at the new place"]);
      const listing = (await member.listChannels()).find((channel) => channel.name === "moving");
      assert.equal(listing?.address?.port, moved?.address?.port);
    } finally {
      await blocker.close();
    }
  });

  test("peer - a rejoin with since shows the messages missed while away, without duplicates", async () => {
    const owner = await peer();
    await owner.signUp("keeper", TEST_PASSWORD);
    await owner.host("since");
    let member = await peer();
    let memberLog = new EventLog(member);
    await member.signUp("traveller", TEST_PASSWORD);
    await member.join("since");
    for (const text of ["m1", "m2"]) await owner.send("since", text);
    await memberLog.waitForCount("message", 2);
    await closePeer(member);

    for (const text of ["m3", "m4", "m5"]) await owner.send("since", text);
    member = await peer();
    memberLog = new EventLog(member);
    await member.resume("traveller");
    const joined = await memberLog.waitFor("joined");
    assert.deepEqual(
      joined.history.map((message) => message.text),
      ["m3", "m4", "m5"],
    );
    // Two unread from before the restart, three missed while away.
    assert.equal(joined.channel.unread, 5);
    await owner.send("since", "m6");
    await memberLog.waitFor("message", (event) => event.message.text === "m6");
    assert.deepEqual(messageTexts(memberLog, "since"), ["m6"]);
    const older = await member.history("since");
    assert.deepEqual(
      older.messages.map((message) => message.text),
      ["m1", "m2"],
    );
  });

  test("peer - a rejoin after more than one page of missed messages pages through all of them", async () => {
    const owner = await peer();
    await owner.signUp("chatty", TEST_PASSWORD);
    await owner.host("busy");
    let member = await peer();
    await member.signUp("reader", TEST_PASSWORD);
    await member.join("busy");
    await closePeer(member);

    const texts = Array.from({ length: 620 }, (_, index) => `busy ${index + 1}`);
    const outcomes = await Promise.all(texts.map((text) => owner.send("busy", text)));
    assert.ok(outcomes.every((outcome) => outcome.status === "delivered"));
    member = await peer();
    const memberLog = new EventLog(member);
    await member.resume("reader");
    const joined = await memberLog.waitFor("joined");
    assert.deepEqual(
      joined.history.map((message) => message.text),
      texts,
    );
    assert.deepEqual(
      joined.history.map((message) => message.seq),
      texts.map((_, index) => index + 1),
    );
  });

  test("peer - after a tracker restart sessions resume and hosted channels are listed again", async () => {
    const owner = await peer();
    const ownerLog = new EventLog(owner);
    await owner.signUp("tess", TEST_PASSWORD);
    await owner.host("steady");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("tom", TEST_PASSWORD);
    await member.join("steady");

    const port = tracker.address.port;
    await tracker.close();
    await memberLog.next("tracker", (event) => event.state === "disconnected");
    tracker = await startTestTracker({ dataDir: trackerDir.path, port });
    await memberLog.next("tracker", (event) => event.state === "connected");
    await ownerLog.waitFor("tracker", (event) => event.state === "connected");
    assert.equal(member.identity?.username, "tom");

    const mark = memberLog.events.length;
    await memberLog.waitFor(
      "directory",
      (event) =>
        memberLog.events.indexOf(event) >= mark &&
        event.channels.some((channel) => channel.name === "steady" && channel.online),
    );
    const listed = (await member.listChannels()).some(
      (channel) => channel.name === "steady" && channel.online,
    );
    assert.ok(listed, "steady is listed online again");
    const users = (await member.onlineUsers()).map((user) => user.username).sort();
    assert.ok(users.includes("tess") && users.includes("tom"));
    assert.equal((await member.send("steady", "still here")).status, "delivered");
    const debug = await member.debugInfo();
    assert.equal(typeof (debug.tracker as { uptimeS?: number }).uptimeS, "number");
  });
});
