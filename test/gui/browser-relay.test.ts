import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startTestTracker, type TestTracker } from "../helpers/tracker.js";
import {
  browserSkipReason,
  deliveredMessage,
  ensurePageBuilt,
  hostChannel,
  joinChannel,
  launchBrowser,
  openGui,
  openPeer,
  removeDir,
  sendMessage,
  signUp,
  type TestPeer,
  tempDataDir,
} from "./browser-harness.js";

const PASSWORD = "correct horse battery";

describe("gui browser: a channel behind NAT", { skip: browserSkipReason() }, () => {
  let tracker: TestTracker;
  let browser: Browser;
  let closedPort: Server;
  const peers: TestPeer[] = [];
  const dirs: string[] = [];

  async function guiPeer(name: string, advertisePort?: number): Promise<Page> {
    const dir = tempDataDir(name);
    dirs.push(dir);
    const peer = await openPeer(
      tracker.address,
      dir,
      true,
      advertisePort === undefined ? {} : { hostAdvertise: { host: "127.0.0.1", port: advertisePort } },
    );
    peers.push(peer);
    if (peer.gui === undefined) throw new Error("no GUI server");
    return (await openGui(browser, peer.gui)).page;
  }

  before(async () => {
    ensurePageBuilt();
    tracker = await startTestTracker({ reachabilityTimeoutMs: 1_000 });
    browser = await launchBrowser();
    // What a home router shows the tracker: a port where the connection is dropped at once.
    closedPort = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closedPort.listen(0, "127.0.0.1", resolve));
  });

  after(async () => {
    await browser?.close();
    for (const peer of peers) await peer.stop();
    await tracker?.close();
    await new Promise<void>((resolve) => closedPort.close(() => resolve()));
    for (const dir of dirs) removeDir(dir);
  });

  test("gui - a channel the tracker cannot dial shows via relay, and members chat with it", async () => {
    const address = closedPort.address();
    assert.ok(address !== null && typeof address === "object");
    const alice = await guiPeer("alice", address.port);
    const bob = await guiPeer("bob");
    await signUp(alice, "alice", PASSWORD);
    await hostChannel(alice, "attic");
    await signUp(bob, "bob", PASSWORD);
    const row = bob.locator("tr[data-channel=attic]");
    await row.getByText("via relay").waitFor();
    await joinChannel(bob, "attic");
    await sendMessage(bob, "attic", "hello from outside");
    await deliveredMessage(bob, "attic", "hello from outside").waitFor();
    await deliveredMessage(alice, "attic", "hello from outside").waitFor();
    await sendMessage(alice, "attic", "hello from home");
    await deliveredMessage(bob, "attic", "hello from home").waitFor();
    assert.equal(tracker.tracker.relayStats()?.sessions, 1);
  });
});
