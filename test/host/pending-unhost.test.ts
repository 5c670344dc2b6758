import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { HostedChannel } from "../../src/api/index.js";
import { ChannelHost } from "../../src/host/channel-host.js";
import { HistoryStore } from "../../src/host/history-store.js";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";
import { silentLogger } from "../../src/util/logger.js";
import { TestClient } from "../helpers/client.js";
import { startTestHost, TEST_BACKOFF } from "../helpers/host.js";
import { startTestTracker, trustTestTracker } from "../helpers/tracker.js";

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the first `onChange` report that `matches`, also one reported before; a deadline rejects it. */
function changeWatcher() {
  const seen: HostedChannel[] = [];
  const waiters = new Set<{ matches(channel: HostedChannel): boolean; resolve(): void }>();
  return {
    onChange(channel: HostedChannel) {
      seen.push(channel);
      for (const waiter of [...waiters]) if (waiter.matches(channel)) waiter.resolve();
    },
    until(matches: (channel: HostedChannel) => boolean, timeoutMs = 15_000): Promise<void> {
      if (seen.some(matches)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error("no matching onChange report in time"));
        }, timeoutMs);
        const waiter = {
          matches,
          resolve: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        waiters.add(waiter);
      });
    },
  };
}

async function listedNames(address: { host: string; port: number }): Promise<string[]> {
  const client = await TestClient.connect(address);
  try {
    const list = await client.request("LIST", {});
    return (list.channels as ChannelListing[]).map((entry) => entry.name).sort();
  } finally {
    await client.close();
  }
}

test("pending unhost - an unhost while the tracker is down survives a host restart and reaches the tracker when it is back", async () => {
  const trackerDir = tempDir("hychat-unhost-tracker-");
  const dataDir = tempDir("hychat-unhost-host-");
  let tracker = await startTestTracker({ dataDir: trackerDir });
  const port = tracker.address.port;
  const watcher = changeWatcher();
  const first = await startTestHost({ tracker, dataDir, onChange: watcher.onChange });
  const credentials = { ticket: first.owner.ticket, key: first.owner.key };
  await first.host.host("gone");
  await first.host.host("kept");
  assert.deepEqual(await listedNames(tracker.address), ["gone", "kept"]);

  await first.owner.client.close();
  await tracker.close();
  await watcher.until((channel) => channel.name === "kept" && !channel.listed);
  await first.host.unhost("gone");
  assert.deepEqual(first.host.pendingUnhosts(), ["gone"]);
  await first.close();

  const restartedWatcher = changeWatcher();
  const restarted = await ChannelHost.start({
    dataDir,
    owner: "owner",
    getCredentials: () => credentials,
    tracker: { host: "127.0.0.1", port },
    trackerTrust: trustTestTracker(tracker),
    backoff: TEST_BACKOFF,
    logger: silentLogger,
    onChange: restartedWatcher.onChange,
  });
  try {
    assert.deepEqual(
      restarted.channels().map((channel) => channel.name),
      ["kept"],
    );
    assert.deepEqual(restarted.pendingUnhosts(), ["gone"]);
    tracker = await startTestTracker({ dataDir: trackerDir, port });
    // Pending unhosts go out before any registration, so once "kept" is listed "gone" is unlisted.
    await restartedWatcher.until((channel) => channel.name === "kept" && channel.listed);
    assert.deepEqual(await listedNames(tracker.address), ["kept"]);
    assert.deepEqual(restarted.pendingUnhosts(), []);
  } finally {
    await restarted.close();
    await tracker.close();
  }
  const store = HistoryStore.open(dataDir);
  try {
    assert.deepEqual(store.pendingUnhosts(), [], "the tracker's answer cleared it on disk");
  } finally {
    store.close();
  }
});

test("pending unhost - hosting the name again replaces the pending unhost", async () => {
  const trackerDir = tempDir("hychat-rehost-tracker-");
  let tracker = await startTestTracker({ dataDir: trackerDir });
  const port = tracker.address.port;
  const watcher = changeWatcher();
  const testHost = await startTestHost({ tracker, onChange: watcher.onChange });
  try {
    await testHost.host.host("again");
    await testHost.owner.client.close();
    await tracker.close();
    await watcher.until((channel) => channel.name === "again" && !channel.listed);
    await testHost.host.unhost("again");
    assert.deepEqual(testHost.host.pendingUnhosts(), ["again"]);
    const rehosted = testHost.host.host("again");
    tracker = await startTestTracker({ dataDir: trackerDir, port });
    assert.equal((await rehosted).listed, true);
    assert.deepEqual(testHost.host.pendingUnhosts(), []);
    assert.deepEqual(await listedNames(tracker.address), ["again"]);
  } finally {
    await testHost.close();
    await tracker.close();
  }
});
