import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Address } from "../../src/protocol/tracker-schemas.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir } from "./harness.js";

/** A resume waits this long for the tracker before it starts offline: short, the tracker is known down. */
const OFFLINE_AFTER_MS = 200;

describe("peer unhost while the tracker is down", () => {
  const dirs = tempDir("hychat-peer-unhost-");
  const trackerDir = tempDir("hychat-peer-unhost-tracker-");
  let tracker: TestTracker | undefined;
  let trackerAddress: Address;
  const peers = new OpenPeers(() => trackerAddress, dirs.path, { offlineAfterMs: OFFLINE_AFTER_MS });
  const { open: peer, close: closePeer } = peers;

  before(async () => {
    tracker = await startTestTracker({ dataDir: trackerDir.path });
    trackerAddress = tracker.address;
  });
  after(async () => {
    await peers.closeAll();
    await tracker?.close();
    dirs.remove();
    trackerDir.remove();
  });

  test("peer - /unhost with the tracker down is kept on disk, survives a restart, and reaches the tracker when it is back", async () => {
    let owner = await peer();
    await owner.signUp("uma", TEST_PASSWORD);
    await owner.host("fleeting");
    await owner.host("lasting");
    const ownerLog = new EventLog(owner);
    await tracker?.close();
    tracker = undefined;
    await ownerLog.waitFor("tracker", (event) => event.state === "disconnected");

    await owner.unhost("fleeting");
    const notice = await ownerLog.waitFor("notice", (event) => event.channel === "fleeting");
    assert.match(
      notice.text,
      /the tracker could not be told yet: it will be told that #fleeting is no longer hosted/,
    );
    await closePeer(owner);

    owner = await peer();
    const restartedLog = new EventLog(owner);
    assert.equal((await owner.resume("uma"))?.username, "uma");
    assert.deepEqual(
      owner.hostedChannels().map((channel) => channel.name),
      ["lasting"],
    );

    tracker = await startTestTracker({ dataDir: trackerDir.path, port: trackerAddress.port });
    // The unhost goes out before the host registers anything, so once "lasting" is listed it is done.
    await restartedLog.waitFor(
      "hosting",
      (event) => event.channel.name === "lasting" && event.channel.listed,
    );
    await restartedLog.waitFor("notice", (event) => event.channel === "fleeting");
    const names = (await owner.listChannels()).map((channel) => channel.name);
    assert.deepEqual(names, ["lasting"]);
    const host = (await owner.debugInfo()).host as { link: { pendingUnhosts: string[] } };
    assert.deepEqual(host.link.pendingUnhosts, []);
  });

  test("peer - a host whose only channel's unhost is pending keeps running until the tracker is told", async () => {
    tracker ??= await startTestTracker({ dataDir: trackerDir.path, port: trackerAddress.port });
    let owner = await peer();
    await owner.signUp("ursa", TEST_PASSWORD);
    await owner.host("solo");
    const ownerLog = new EventLog(owner);
    await tracker.close();
    tracker = undefined;
    await ownerLog.waitFor("tracker", (event) => event.state === "disconnected");
    await owner.unhost("solo");
    await closePeer(owner);

    owner = await peer();
    const restartedLog = new EventLog(owner);
    await owner.resume("ursa");
    assert.deepEqual(owner.hostedChannels(), []);
    tracker = await startTestTracker({ dataDir: trackerDir.path, port: trackerAddress.port });
    const told = await restartedLog.waitFor("notice", (event) => event.channel === "solo");
    assert.equal(told.text, "the tracker was told that #solo is no longer hosted");
    assert.ok(!(await owner.listChannels()).some((channel) => channel.name === "solo"));
  });
});
