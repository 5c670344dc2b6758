import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, tempDir } from "./harness.js";

interface HostServerStats {
  connections: number;
  local: number;
}

describe("peer own host", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-own-host-");
  const peers = new OpenPeers(() => tracker.address, dirs.path);

  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
  });

  test("peer - the owner's client reaches its own host in process, members over TLS, and both get every message", async () => {
    const owner = await peers.open();
    await owner.signUp("olga", TEST_PASSWORD);
    await owner.host("home");
    const member = await peers.open();
    await member.signUp("max", TEST_PASSWORD);
    await member.join("home");
    const ownerLog = new EventLog(owner);
    const memberLog = new EventLog(member);
    await owner.send("home", "from the owner");
    await member.send("home", "from a member");
    for (const log of [ownerLog, memberLog]) {
      await log.waitFor("message", (event) => event.message.text === "from a member");
      assert.deepEqual(messageTexts(log, "home"), ["from the owner", "from a member"]);
    }
    const server = (await owner.debugInfo()).host.server as HostServerStats;
    assert.deepEqual([server.connections, server.local], [2, 1]);
  });
});
