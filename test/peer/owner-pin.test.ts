import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

describe("peer owner pinning", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-owner-pin-");
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

  test("peer - a joined channel's name taken by another user gets none of the outbox until the member joins it again", async () => {
    let alice = await peer();
    await alice.signUp("alice", TEST_PASSWORD);
    await alice.host("room");
    let bob = await peer();
    await bob.signUp("bob", TEST_PASSWORD);
    await bob.join("room");
    const bobLog = new EventLog(bob);
    await closePeer(alice);
    await bobLog.waitFor("link", (event) => event.channel === "room" && event.state === "unreachable");
    assert.equal((await bob.send("room", "for alice only")).status, "queued");
    await closePeer(bob);

    // Alice gives the name up while bob is away, and mallory takes it.
    alice = await peer();
    await alice.resume("alice");
    await alice.unhost("room");
    const mallory = await peer();
    await mallory.signUp("mallory", TEST_PASSWORD);
    await mallory.host("room");
    const malloryLog = new EventLog(mallory);

    bob = await peer();
    const log = new EventLog(bob);
    await bob.resume("bob");
    const warned = await log.waitFor("notice", (event) => event.code === "OWNER_CHANGED");
    assert.match(warned.text, /#room now belongs to mallory, not alice/);
    assert.match(warned.text, /1 pending kept/);
    assert.equal(bob.outbox().length, 1);
    assert.notEqual(bob.joinedChannels().find((channel) => channel.name === "room")?.state, "online");
    assert.deepEqual(messageTexts(malloryLog, "room"), []);
    // The listing names mallory, so bob's peer never even handed her host its ticket.
    assert.equal(
      malloryLog.of("presence").some((event) => event.username === "bob"),
      false,
      "bob joined mallory's channel before accepting her",
    );

    // Joining again on purpose accepts mallory as the owner, and the kept message goes out once.
    await bob.join("room");
    await malloryLog.waitFor("message", (event) => event.message.text === "for alice only");
    await log.waitFor("delivered", (event) => event.channel === "room");
    assert.equal(bob.outbox().length, 0);
    assert.deepEqual(messageTexts(malloryLog, "room"), ["for alice only"]);
  });
});
