import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { HOST_DB_FILE } from "../../src/host/history-store.js";
import { userDir } from "../../src/peer/session-file.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog } from "../peer/harness.js";
import {
  alertWith,
  browserSkipReason,
  deliveredMessage,
  ensurePageBuilt,
  ensureScreenshotDir,
  joinChannel,
  launchBrowser,
  openGui,
  openPeer,
  removeDir,
  screenshot,
  signUp,
  type TestPeer,
  tempDataDir,
} from "./browser-harness.js";

const FORGED = "I owe alice 100 euros";

describe("gui browser: signed messages", { skip: browserSkipReason() }, () => {
  let tracker: TestTracker;
  let browser: Browser;
  const peers = new Set<TestPeer>();
  const dirs: string[] = [];

  async function peer(name: string, withGui: boolean, dataDir?: string): Promise<TestPeer> {
    const dir = dataDir ?? tempDataDir(name);
    if (dataDir === undefined) dirs.push(dir);
    const opened = await openPeer(tracker.address, dir, withGui);
    peers.add(opened);
    return opened;
  }

  async function stop(opened: TestPeer): Promise<void> {
    peers.delete(opened);
    await opened.stop();
  }

  before(async () => {
    ensurePageBuilt();
    ensureScreenshotDir();
    tracker = await startTestTracker();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    for (const opened of peers) await opened.stop();
    await tracker?.close();
    for (const dir of dirs) removeDir(dir);
  });

  test("gui - a message the host tampered with is not shown, and the user is told messages were left out", async () => {
    let alice = await peer("alice", false);
    await alice.peer.signUp("alice", TEST_PASSWORD);
    await alice.peer.host("room");
    const bob = await peer("bob", false);
    await bob.peer.signUp("bob", TEST_PASSWORD);
    await bob.peer.join("room");
    for (const text of ["one", "two", "three"]) {
      assert.equal((await bob.peer.send("room", text)).status, "delivered");
    }
    await stop(bob);
    await stop(alice);

    // The owner rewrites one stored message in their own host.db: what any host could do.
    const db = new Database(join(userDir(alice.dataDir, "alice"), HOST_DB_FILE));
    try {
      const changed = db
        .prepare("UPDATE messages SET text = ? WHERE channel = 'room' AND text = 'two'")
        .run(FORGED);
      assert.equal(changed.changes, 1);
    } finally {
      db.close();
    }
    alice = await peer("alice", false, alice.dataDir);
    const aliceLog = new EventLog(alice.peer);
    await alice.peer.resume("alice");
    await aliceLog.waitFor("hosting", (event) => event.channel.name === "room" && event.channel.listed);

    const carol = await peer("carol", true);
    if (carol.gui === undefined) throw new Error("no GUI server");
    const { page } = await openGui(browser, carol.gui);
    await signUp(page, "carol", TEST_PASSWORD);
    await joinChannel(page, "room");
    await deliveredMessage(page, "room", "three").waitFor();
    const notice = alertWith(page, "1 message from the host left out");
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? "", /1 with a signature that does not match/);
    assert.match((await notice.textContent()) ?? "", /MESSAGES_DROPPED/);
    await screenshot(page, "messages-dropped");
    assert.deepEqual(await messageTexts(page, "room"), ["one", "three"]);
    assert.equal(await page.getByText(FORGED).count(), 0, "the forged text is on the page");
  });
});

/** The texts of the messages in a channel's log, in order. */
function messageTexts(page: Page, channel: string): Promise<string[]> {
  return page
    .getByRole("log", { name: `#${channel} messages` })
    .locator("li.message .text")
    .allTextContents();
}
