import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir } from "./harness.js";

/** The owner's host limits: a `CACHE` stores at most `cacheBurst` messages, so the outbox needs many. */
const HOST_LIMITS = { sendRatePerSecond: 100, sendBurst: 5, cacheBurst: 100 };
const QUEUED = 1_000;
const REPLAY_WAIT_MS = 90_000;

describe("peer outbox replay under the host's rate limit", () => {
  let tracker: TestTracker;
  const dirs = tempDir("hychat-peer-replay-");
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

  test("peer - an outbox of 1,000 messages drains completely, once and in order, a cacheBurst at a time", async () => {
    let owner = await peer({ hostLimits: HOST_LIMITS });
    await owner.signUp("rhea", TEST_PASSWORD);
    const hosted = await owner.host("replay");
    const port = hosted.address?.port as number;
    const sender = await peer();
    const senderLog = new EventLog(sender);
    await sender.signUp("sol", TEST_PASSWORD);
    await sender.join("replay");
    assert.equal((await sender.send("replay", "before")).status, "delivered");

    await closePeer(owner);
    await senderLog.waitFor("link", (event) => event.state === "unreachable");
    const texts = Array.from({ length: QUEUED }, (_, index) => `queued ${index}`);
    for (const text of texts) assert.equal((await sender.send("replay", text)).status, "queued");
    const queuedIds = sender.outbox("replay").map((entry) => entry.msgId);
    assert.equal(queuedIds.length, QUEUED);

    owner = await peer({ hostListen: { host: "127.0.0.1", port }, hostLimits: HOST_LIMITS });
    await owner.resume("rhea");
    const delivered = await senderLog.waitForCount("delivered", QUEUED + 1, () => true, REPLAY_WAIT_MS);
    assert.equal(sender.outbox().length, 0);
    assert.deepEqual(
      delivered.map((event) => event.seq),
      Array.from({ length: QUEUED + 1 }, (_, index) => index + 1),
    );
    assert.deepEqual(
      delivered.slice(1).map((event) => event.msgId),
      queuedIds,
    );

    // The host holds each message once, in the order written.
    const stored: string[] = [];
    let beforeSeq = QUEUED + 2;
    for (let page = 0; page < 10 && beforeSeq > 1; page += 1) {
      const { messages } = await owner.history("replay", { before: beforeSeq, limit: 500 });
      if (messages.length === 0) break;
      stored.unshift(...messages.map((message) => message.text));
      beforeSeq = messages[0]?.seq as number;
    }
    assert.deepEqual(stored, ["before", ...texts]);
    // Each CACHE stored at most cacheBurst messages: the limit was in force, not bypassed.
    const host = (await owner.debugInfo()).host as { batcher: { batches: number } };
    assert.ok(
      host.batcher.batches >= QUEUED / HOST_LIMITS.cacheBurst,
      `stored in ${host.batcher.batches} batches`,
    );
  });
});
