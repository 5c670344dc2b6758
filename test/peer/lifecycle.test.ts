import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir } from "./harness.js";

describe("peer lifecycle", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-peer-lifecycle-");
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

  test("peer - the ticket is saved 0600 per user, resumed after a restart, and forgotten at sign-out", async () => {
    let alice = await peer();
    await alice.signUp("Alice", TEST_PASSWORD);
    await alice.host("garden");
    const sessionFile = join(dirs.path, "alice", "session.json");
    assert.equal(statSync(sessionFile).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dirs.path, "alice", "client.db")));
    assert.ok(existsSync(join(dirs.path, "alice", "host.db")));
    await closePeer(alice);

    alice = await peer();
    const log = new EventLog(alice);
    const identity = await alice.resume();
    assert.deepEqual(identity, { username: "Alice", role: "user", invisible: false });
    assert.deepEqual(
      alice.hostedChannels().map((hosted) => hosted.name),
      ["garden"],
    );
    await log.waitFor("joined", (event) => event.channel.name === "garden");

    await alice.signOut();
    assert.equal(alice.identity, null);
    assert.equal(existsSync(sessionFile), false);
    assert.deepEqual(alice.joinedChannels(), []);
    assert.deepEqual(alice.hostedChannels(), []);
    assert.ok(log.of("left").some((event) => event.channel === "garden" && event.reason === "user"));
    assert.equal(await alice.resume("alice"), null);
    await assert.rejects(alice.send("garden", "hi"), { code: "NOT_SIGNED_IN" });
    const other = await alice.signUp("zed", TEST_PASSWORD);
    assert.equal(other.username, "zed");
    assert.deepEqual(alice.joinedChannels(), []);
    assert.deepEqual(
      (await alice.onlineUsers()).map((user) => user.username),
      ["zed"],
    );
  });

  test("peer - a second peer signed in as the same user on the same data dir is refused until the first closes", async () => {
    const first = await peer();
    await first.signUp("twin", TEST_PASSWORD);
    await first.host("mirror");
    const second = await peer();
    await assert.rejects(second.signIn("twin", TEST_PASSWORD), { code: "DATA_DIR_IN_USE" });
    assert.equal(second.identity, null);
    assert.deepEqual(second.hostedChannels(), []);
    // The refused one took nothing over: the channel is still listed where the first one hosts it.
    const listing = (await first.listChannels()).find((channel) => channel.name === "mirror");
    assert.deepEqual(listing?.address, first.hostedChannels()[0]?.address);
    await closePeer(first);
    assert.deepEqual(await second.resume("twin"), { username: "twin", role: "user", invisible: false });
  });

  test("peer - invisible users still receive messages but leave the member list", async () => {
    const owner = await peer();
    await owner.signUp("hector", TEST_PASSWORD);
    await owner.host("hall");
    const ownerLog = new EventLog(owner);
    const shy = await peer();
    const shyLog = new EventLog(shy);
    await shy.signUp("ivy", TEST_PASSWORD);
    await shy.join("hall");
    await ownerLog.waitFor("presence", (event) => event.username === "ivy" && event.status === "online");
    await shy.setInvisible(true);
    assert.equal(shy.identity?.invisible, true);
    await ownerLog.waitFor("presence", (event) => event.username === "ivy" && event.status === "offline");
    assert.deepEqual(
      owner.members("hall").map((member) => member.username),
      ["hector"],
    );
    const users = (await owner.onlineUsers()).map((user) => user.username);
    assert.equal(users.includes("ivy"), false);
    await owner.send("hall", "anyone there?");
    await shyLog.waitFor("message", (event) => event.message.text === "anyone there?");
  });

  test("peer - unhosting closes the channel for its members", async () => {
    const owner = await peer();
    const ownerLog = new EventLog(owner);
    await owner.signUp("uma", TEST_PASSWORD);
    await owner.host("temporary");
    await ownerLog.waitFor("hosting", (event) => event.channel.name === "temporary");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("victor", TEST_PASSWORD);
    await member.join("temporary");
    await owner.unhost("temporary");
    await ownerLog.waitFor("unhosted", (event) => event.channel === "temporary");
    const left = await memberLog.waitFor("left");
    assert.deepEqual(left, { type: "left", channel: "temporary", reason: "CHANNEL_CLOSED" });
    assert.deepEqual(owner.hostedChannels(), []);
    await assert.rejects(member.join("temporary"), { code: "NO_SUCH_CHANNEL" });
  });

  test("peer - debug information covers client, host and tracker", async () => {
    const owner = await peer();
    await owner.signUp("debra", TEST_PASSWORD);
    await owner.host("debug");
    await owner.send("debug", "one");
    const info = await owner.debugInfo();
    const client = info.client as {
      channels: Record<string, { state: string }>;
      outbox: Record<string, number>;
    };
    assert.equal(client.channels.debug?.state, "online");
    assert.deepEqual(client.outbox, {});
    assert.equal((info.host as { owner: string }).owner, "debra");
    assert.equal(typeof (info.tracker as { version?: string }).version, "string");
    const channelInfo = await owner.channelInfo("debug");
    assert.equal(channelInfo.latestSeq, 1);
    assert.equal(channelInfo.owner, "debra");
  });
});
