import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Peer } from "../../src/peer/peer.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir } from "./harness.js";

/** How many LIST requests the tracker has received so far, from its own RET_INFO. */
async function listsServed(peer: Peer): Promise<number> {
  const { tracker } = await peer.debugInfo();
  assert.ok(!("error" in tracker), "RET_INFO answered");
  return tracker.requests?.LIST ?? 0;
}

describe("peer directory", () => {
  const dirs = tempDir("hychat-peer-directory-");
  let tracker: TestTracker;
  const peers = new OpenPeers(() => tracker.address, dirs.path);

  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
  });

  test("peer - CHANNELS events keep the directory current without a LIST", async () => {
    const watcher = await peers.open();
    const watcherLog = new EventLog(watcher);
    await watcher.signUp("watcher", TEST_PASSWORD);
    const otherWatchers: EventLog[] = [];
    for (const name of ["second", "third"]) {
      const other = await peers.open();
      otherWatchers.push(new EventLog(other));
      await other.signUp(name, TEST_PASSWORD);
    }
    const owner = await peers.open();
    await owner.signUp("announcer", TEST_PASSWORD);
    await watcher.listChannels();
    const listsBefore = await listsServed(watcher);

    const hosted = await owner.host("fresh");
    const listed = await watcherLog.waitFor("directory", (event) =>
      event.channels.some((channel) => channel.name === "fresh" && channel.online),
    );
    assert.deepEqual(
      listed.channels.find((channel) => channel.name === "fresh"),
      {
        name: "fresh",
        owner: "announcer",
        view: "public",
        moderated: false,
        online: true,
        address: hosted.address,
        fingerprint: hosted.fingerprint,
        members: 0,
        reach: "direct",
      },
    );

    await owner.join("fresh");
    await owner.setView("fresh", "private", true);
    await watcherLog.waitFor("directory", (event) =>
      event.channels.some((channel) => channel.name === "fresh" && channel.view === "private"),
    );

    const removed = watcherLog.next(
      "directory",
      (event) => !event.channels.some((channel) => channel.name === "fresh"),
    );
    await owner.unhost("fresh");
    await removed;
    // The owner LISTs once after its own HOST, to show the channel at once; no watcher LISTs at all.
    assert.equal(await listsServed(watcher), listsBefore + 1);
    for (const other of otherWatchers) {
      await other.waitFor("directory", (event) => event.channels.some((channel) => channel.name === "fresh"));
    }
    // What the events built is what LIST answers.
    const viaEvents = watcherLog.of("directory").at(-1)?.channels ?? [];
    assert.deepEqual(
      [...viaEvents].sort((a, b) => a.name.localeCompare(b.name)),
      [...(await watcher.listChannels())].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });
});
