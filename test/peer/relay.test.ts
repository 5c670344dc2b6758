import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

/** A port on 127.0.0.1 where nothing answers: what a home router shows the tracker. */
async function deadPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("relay", () => {
  let tracker: TestTracker;
  let dead: { port: number; close(): Promise<void> };
  const dirs = tempDir("hychat-relay-");
  const peers = new OpenPeers(() => tracker.address, dirs.path);

  before(async () => {
    tracker = await startTestTracker({ reachabilityTimeoutMs: 1_000 });
    dead = await deadPort();
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    await dead.close();
    dirs.remove();
  });

  test("relay - a host the tracker cannot dial is listed relay, and members chat with it through the relay", async () => {
    const alice = await peers.open({ hostAdvertise: { host: "127.0.0.1", port: dead.port } });
    const bob = await peers.open();
    await alice.signUp("alice", TEST_PASSWORD);
    await bob.signUp("bob", TEST_PASSWORD);
    const hosted = await alice.host("lobby");
    assert.equal(hosted.reach, "relay");
    const listing = (await bob.listChannels()).find((channel) => channel.name === "lobby");
    assert.equal(listing?.reach, "relay");
    assert.deepEqual(listing?.address, { host: "127.0.0.1", port: dead.port });

    const aliceLog = new EventLog(alice);
    const bobLog = new EventLog(bob);
    const joined = await bob.join("lobby");
    assert.equal(joined.state, "online");
    const fromBob = await bob.send("lobby", "hello through the relay");
    assert.equal(fromBob.status, "delivered");
    const fromAlice = await alice.send("lobby", "and back");
    assert.equal(fromAlice.status, "delivered");
    await bobLog.waitForCount("message", 2);
    await aliceLog.waitForCount("message", 2);
    assert.deepEqual(messageTexts(bobLog, "lobby"), ["hello through the relay", "and back"]);
    assert.deepEqual(messageTexts(aliceLog, "lobby"), ["hello through the relay", "and back"]);

    const info = tracker.tracker.relayStats();
    assert.equal(info?.sessions, 1, "one relayed stream: bob's");
    assert.ok((info?.bytes ?? 0) > 0);
  });

  test("relay - with --no-relay an undialable host is listed unreachable and a relayed dial is refused", async () => {
    const closed = await startTestTracker({ relay: false, reachabilityTimeoutMs: 1_000 });
    const dir = tempDir("hychat-norelay-");
    const others = new OpenPeers(() => closed.address, dir.path);
    try {
      const carol = await others.open({ hostAdvertise: { host: "127.0.0.1", port: dead.port } });
      await carol.signUp("carol", TEST_PASSWORD);
      const hosted = await carol.host("attic");
      assert.equal(hosted.reach, "unreachable");
      const dave = await others.open();
      await dave.signUp("dave", TEST_PASSWORD);
      const listing = (await dave.listChannels()).find((channel) => channel.name === "attic");
      assert.equal(listing?.reach, "unreachable");
    } finally {
      await others.closeAll();
      await closed.close();
      dir.remove();
    }
  });
});
