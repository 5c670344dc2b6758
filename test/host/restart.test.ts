import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { HostedChannel } from "../../src/api/index.js";
import { ChannelHost } from "../../src/host/channel-host.js";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";
import { silentLogger } from "../../src/util/logger.js";
import { TestClient } from "../helpers/client.js";
import { connectMember, startTestHost, TEST_BACKOFF } from "../helpers/host.js";
import { connectUser, startTestTracker, trustTestTracker } from "../helpers/tracker.js";

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the first `onChange` report that `matches`; a deadline rejects it. */
function changeWatcher() {
  let waiter: { matches(channel: HostedChannel): boolean; resolve(channel: HostedChannel): void } | undefined;
  return {
    onChange(channel: HostedChannel) {
      if (waiter?.matches(channel)) waiter.resolve(channel);
    },
    next(matches: (channel: HostedChannel) => boolean, timeoutMs = 15_000): Promise<HostedChannel> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no matching onChange report in time")), timeoutMs);
        waiter = {
          matches,
          resolve: (channel) => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(channel);
          },
        };
      });
    },
  };
}

async function listing(
  address: { host: string; port: number },
  channel: string,
): Promise<ChannelListing | undefined> {
  const client = await TestClient.connect(address);
  try {
    const list = await client.request("LIST", {});
    return (list.channels as ChannelListing[]).find((entry) => entry.name === channel);
  } finally {
    await client.close();
  }
}

test("restart - history, settings and authorizations survive a restart, and the channel is listed again", async () => {
  const tracker = await startTestTracker();
  const dataDir = tempDir("hychat-host-restart-");
  const alice = await connectUser(tracker.address, "alice");
  const bob = await connectUser(tracker.address, "bob");
  try {
    const first = await startTestHost({ tracker, dataDir });
    const owner = await connectMember(first.address, first.owner.ticket, "kept").catch(() => undefined);
    assert.equal(owner, undefined, "not hosted yet");
    await first.host.host("kept", { view: "private", moderated: true });
    const ownerMember = await connectMember(first.address, first.owner.ticket, "kept");
    await ownerMember.client.request("AUTHORIZE", { channel: "kept", username: "bob", grant: true });
    await ownerMember.client.request("CACHE", {
      channel: "kept",
      messages: Array.from({ length: 60 }, (_, index) => ({
        msgId: `m${index + 1}`,
        text: `message ${index + 1}`,
      })),
    });
    await ownerMember.client.close();
    await first.close();
    assert.equal((await listing(tracker.address, "kept"))?.online, false);

    const watcher = changeWatcher();
    const second = await startTestHost({ tracker, dataDir, onChange: watcher.onChange });
    try {
      const relisted = watcher.next((channel) => channel.name === "kept" && channel.listed);
      assert.deepEqual(
        second.host.channels().map(({ name, view, moderated }) => ({ name, view, moderated })),
        [{ name: "kept", view: "private", moderated: true }],
      );
      await relisted;
      const listed = await listing(tracker.address, "kept");
      assert.deepEqual(
        { online: listed?.online, address: listed?.address, view: listed?.view },
        { online: true, address: second.address, view: "private" },
      );
      const member = await connectMember(second.address, bob.ticket, "kept");
      assert.equal(member.joined.latestSeq, 60);
      assert.equal(member.joined.hasMore, true);
      assert.deepEqual(
        member.joined.history.map((message) => message.msgId),
        Array.from({ length: 50 }, (_, index) => `m${index + 11}`),
      );
      const refused = await connectMember(second.address, alice.ticket, "kept").catch(
        (error: unknown) => error,
      );
      assert.equal((refused as { code?: string }).code, "PRIVATE_CHANNEL");
      const notAuthorized = await member.client.request("MESSAGE", {
        channel: "kept",
        msgId: "b1",
        text: "bob",
      });
      assert.equal(notAuthorized.seq, 61, "bob is still authorized in the moderated channel");
      const duplicate = await connectMember(second.address, second.owner.ticket, "kept");
      const again = await duplicate.client.request("MESSAGE", {
        channel: "kept",
        msgId: "m60",
        text: "again",
      });
      assert.deepEqual({ seq: again.seq, duplicate: again.duplicate }, { seq: 60, duplicate: true });
      await duplicate.client.close();
      await member.client.close();
    } finally {
      await second.close();
    }
  } finally {
    await alice.client.close();
    await bob.client.close();
    await tracker.close();
  }
});

test("restart - after a tracker restart the channels are listed again without anyone acting", async () => {
  const trackerDir = tempDir("hychat-tracker-restart-");
  let tracker = await startTestTracker({ dataDir: trackerDir });
  const port = tracker.address.port;
  const watcher = changeWatcher();
  const testHost = await startTestHost({ tracker, onChange: watcher.onChange });
  try {
    await testHost.host.host("phoenix");
    await testHost.host.host("phoenix-2", { moderated: true });
    const unlisted = watcher.next((channel) => !channel.listed);
    await testHost.owner.client.close();
    await tracker.close();
    await unlisted;
    const relisted = watcher.next(() => testHost.host.channels().every((entry) => entry.listed));
    tracker = await startTestTracker({ dataDir: trackerDir, port });
    await relisted;
    const phoenix = await listing(tracker.address, "phoenix");
    assert.deepEqual(
      { online: phoenix?.online, address: phoenix?.address },
      { online: true, address: testHost.address },
    );
    assert.equal((await listing(tracker.address, "phoenix-2"))?.moderated, true);
  } finally {
    await testHost.close();
    await tracker.close();
  }
});

test("restart - with the tracker down, a restarted host still checks tickets with the cached key", async () => {
  const trackerDir = tempDir("hychat-tracker-down-");
  let tracker = await startTestTracker({ dataDir: trackerDir });
  const port = tracker.address.port;
  const dataDir = tempDir("hychat-host-down-");
  const alice = await connectUser(tracker.address, "alice");
  const first = await startTestHost({ tracker, dataDir });
  await first.host.host("offline-ok");
  await first.close();
  await alice.client.close();
  await tracker.close();

  const ownerCredentials = { ticket: first.owner.ticket, key: first.owner.key };
  const trackerTrust = trustTestTracker(tracker);
  const watcher = changeWatcher();
  const host = await ChannelHost.start({
    dataDir,
    owner: "owner",
    getCredentials: () => ownerCredentials,
    tracker: { host: "127.0.0.1", port },
    trackerTrust,
    backoff: TEST_BACKOFF,
    logger: silentLogger,
    onChange: watcher.onChange,
  });
  try {
    assert.deepEqual(
      host.channels().map((channel) => [channel.name, channel.listed]),
      [["offline-ok", false]],
    );
    const member = await connectMember(host.address, alice.ticket, "offline-ok");
    assert.equal(member.joined.role, "user");
    await member.client.close();
    const listed = watcher.next((channel) => channel.name === "offline-ok" && channel.listed);
    const waitingForTracker = host.host("hosted-while-down");
    tracker = await startTestTracker({ dataDir: trackerDir, port });
    await listed;
    assert.equal((await waitingForTracker).listed, true, "host() waits for the link to come up");
    assert.equal((await listing(tracker.address, "offline-ok"))?.online, true);
  } finally {
    await host.close();
    await tracker.close();
  }
});

test("restart - a taken listen port fails the start, unless listenPortFallback lets the OS pick one", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const { port } = blocker.address() as { port: number };
  const tracker = await startTestTracker();
  try {
    await assert.rejects(startTestHost({ tracker, listenPort: port }), { code: "EADDRINUSE" });
    const moved = await startTestHost({ tracker, listenPort: port, listenPortFallback: true });
    try {
      assert.notEqual(moved.address.port, port);
      assert.equal((await moved.host.host("elsewhere")).address?.port, moved.address.port);
    } finally {
      await moved.close();
    }
  } finally {
    await tracker.close();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});
