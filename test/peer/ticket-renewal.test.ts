import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { loadSession, userDir } from "../../src/peer/session-file.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir, WAIT_MS } from "./harness.js";

/** Short enough that the test outlives the first tickets, long enough for a tracker restart. */
const TICKET_TTL_S = 4;
const POLL_MS = 50;

/** Polls `check` until it holds, failing after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

describe("peer ticket renewal", () => {
  const dirs = tempDir("hychat-peer-renewal-");
  const trackerDir = tempDir("hychat-peer-renewal-tracker-");
  let tracker: TestTracker;
  const peers = new OpenPeers(() => tracker.address, dirs.path, {
    ticketRenewFraction: 0.2,
    ticketRenewMinDelayMs: 100,
  });
  const { open: peer, close: closePeer } = peers;

  before(async () => {
    tracker = await startTestTracker({ dataDir: trackerDir.path, ticketTtlS: TICKET_TTL_S });
  });
  after(async () => {
    await peers.closeAll();
    await tracker.close();
    dirs.remove();
    trackerDir.remove();
  });

  function savedExpiry(username: string): number {
    const saved = loadSession(userDir(dirs.path, username));
    assert.ok(saved !== null, `${username} has a saved session`);
    return Date.parse(saved.expiresAt);
  }

  test("peer - a long-running peer stays signed in, listed and joinable past its first ticket's expiry", async () => {
    const owner = await peer();
    const ownerLog = new EventLog(owner);
    await owner.signUp("lasting", TEST_PASSWORD);
    await owner.host("durable");
    const member = await peer();
    const memberLog = new EventLog(member);
    await member.signUp("visitor", TEST_PASSWORD);
    const firstExpiry = Math.max(savedExpiry("lasting"), savedExpiry("visitor"));

    await until(() => Date.now() > firstExpiry, "the first tickets expire");
    // The renewed tickets were saved, and outlive the first ones.
    assert.ok(savedExpiry("lasting") > firstExpiry);
    assert.ok(savedExpiry("visitor") > firstExpiry);

    // A tracker restart makes every link sign in again, with the ticket it holds now.
    const port = tracker.address.port;
    const ownerMark = ownerLog.events.length;
    const memberMark = memberLog.events.length;
    await tracker.close();
    tracker = await startTestTracker({ dataDir: trackerDir.path, port, ticketTtlS: TICKET_TTL_S });
    await ownerLog.waitFor(
      "tracker",
      (event) => ownerLog.events.indexOf(event) >= ownerMark && event.state === "connected",
    );
    await memberLog.waitFor(
      "directory",
      (event) =>
        memberLog.events.indexOf(event) >= memberMark &&
        event.channels.some((channel) => channel.name === "durable" && channel.online),
    );
    assert.equal(owner.identity?.username, "lasting");
    assert.equal(member.identity?.username, "visitor");

    // Joining CONNECTs with the member's renewed ticket; the first one would be BAD_TICKET by now.
    await member.join("durable");
    assert.equal((await owner.send("durable", "still here")).status, "delivered");
    await memberLog.waitFor("message", (event) => event.message.text === "still here");

    for (const log of [ownerLog, memberLog]) {
      assert.deepEqual(
        log.of("identity").filter((event) => event.identity === null),
        [],
      );
      assert.deepEqual(
        log.of("notice").filter((event) => event.code === "BAD_TICKET"),
        [],
      );
    }

    // A restarted peer resumes with the saved, renewed ticket and brings its channel back.
    await closePeer(owner);
    const restarted = await peer();
    assert.equal((await restarted.resume("lasting"))?.username, "lasting");
    await until(
      () => restarted.hostedChannels().some((hosted) => hosted.name === "durable" && hosted.listed),
      "the restarted peer lists its channel again",
    );
  });
});
