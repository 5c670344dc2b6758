import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Peer } from "../../src/peer/peer.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, occupyPort, tempDir } from "./harness.js";

describe("peer host port", () => {
  const dirs = tempDir("hychat-peer-host-port-");
  const trackerDir = tempDir("hychat-peer-host-port-tracker-");
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

  async function restartOwner(username: string): Promise<{ owner: Peer; port: number | undefined }> {
    const owner = await peer();
    assert.equal((await owner.resume(username))?.username, username);
    return { owner, port: owner.hostedChannels()[0]?.address?.port };
  }

  test("peer - a restarted hosting peer comes back on the port it had", async () => {
    const before = await peer();
    await before.signUp("stayer", TEST_PASSWORD);
    const first = await before.host("stay");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("visitor", TEST_PASSWORD);
    await member.join("stay");
    await closePeer(before);
    await memberLog.waitFor("link", (event) => event.state !== "online");

    const mark = memberLog.events.length;
    const { owner, port } = await restartOwner("stayer");
    assert.equal(port, first.address?.port);
    await memberLog.waitFor(
      "link",
      (event) => memberLog.events.indexOf(event) >= mark && event.state === "online",
    );
    assert.equal((await owner.send("stay", "same place")).status, "delivered");
    await memberLog.waitFor("message", (event) => event.message.text === "same place");
  });

  test("peer - a restarted hosting peer whose port is taken moves, members follow, and the new port is kept", async () => {
    let owner = await peer();
    await owner.signUp("shifter", TEST_PASSWORD);
    const first = await owner.host("shift");
    const oldPort = first.address?.port as number;
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("tracer", TEST_PASSWORD);
    await member.join("shift");
    await closePeer(owner);
    await memberLog.waitFor("link", (event) => event.state !== "online");

    const blocker = await occupyPort(oldPort);
    let newPort: number | undefined;
    try {
      const mark = memberLog.events.length;
      const restarted = await restartOwner("shifter");
      owner = restarted.owner;
      newPort = restarted.port;
      assert.ok(newPort !== undefined && newPort !== oldPort, `moved from ${oldPort} to ${newPort}`);
      // The tracker's CHANNELS event tells the member where the channel went.
      await memberLog.waitFor("directory", (event) =>
        event.channels.some((channel) => channel.name === "shift" && channel.address?.port === newPort),
      );
      await memberLog.waitFor(
        "link",
        (event) => memberLog.events.indexOf(event) >= mark && event.state === "online",
      );
      assert.equal((await owner.send("shift", "new place")).status, "delivered");
      await memberLog.waitFor("message", (event) => event.message.text === "new place");
      assert.deepEqual(messageTexts(memberLog, "shift"), ["new place"]);
      await closePeer(owner);
    } finally {
      await blocker.close();
    }

    // The old port is free again, but the port remembered is the one the host moved to.
    const again = await restartOwner("shifter");
    assert.equal(again.port, newPort);
  });
});
