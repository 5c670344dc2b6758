import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SESSION_FILE, userDir } from "../../src/peer/session-file.js";
import type { Address } from "../../src/protocol/tracker-schemas.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { EventLog, messageTexts, OpenPeers, occupyPort, openPeer, tempDir } from "./harness.js";

/** A resume waits this long for the tracker before it starts offline: short, the tracker is known down. */
const OFFLINE_AFTER_MS = 200;

/** A 127.0.0.1 port nothing listens on (it was free a moment ago). */
async function deadAddress(): Promise<Address> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { host: "127.0.0.1", port };
}

/** Rewrites the payload of the ticket in a saved session (the signature no longer matches). */
function rewriteSavedTicket(
  dataDir: string,
  username: string,
  change: (payload: { exp: number }) => void,
): void {
  const file = join(userDir(dataDir, username), SESSION_FILE);
  const saved = JSON.parse(readFileSync(file, "utf8")) as { ticket: string };
  const [encoded, signature] = saved.ticket.split(".");
  const payload = JSON.parse(Buffer.from(encoded ?? "", "base64url").toString("utf8")) as { exp: number };
  change(payload);
  saved.ticket = `${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;
  writeFileSync(file, JSON.stringify(saved));
}

describe("peer offline", () => {
  const dirs = tempDir("hychat-peer-offline-");
  const trackerDir = tempDir("hychat-peer-offline-tracker-");
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

  async function stopTracker(): Promise<void> {
    await tracker?.close();
    tracker = undefined;
  }

  async function restartTracker(): Promise<void> {
    tracker = await startTestTracker({ dataDir: trackerDir.path, port: trackerAddress.port });
  }

  test("peer - with the tracker down, saved sessions chat offline and resume once it is back", async () => {
    let owner = await peer();
    await owner.signUp("olive", TEST_PASSWORD);
    const hosted = await owner.host("first");
    const port = hosted.address?.port as number;
    let member = await peer();
    await member.signUp("mark", TEST_PASSWORD);
    await member.join("first");
    assert.equal((await owner.send("first", "before")).status, "delivered");
    await closePeer(owner);
    await closePeer(member);
    await stopTracker();

    owner = await peer({ hostListen: { host: "127.0.0.1", port } });
    const ownerLog = new EventLog(owner);
    assert.deepEqual(await owner.resume("olive"), { username: "olive", role: "user", invisible: false });
    member = await peer();
    const memberLog = new EventLog(member);
    assert.deepEqual(await member.resume("mark"), { username: "mark", role: "user", invisible: false });
    for (const log of [ownerLog, memberLog]) {
      const notice = await log.waitFor("notice", (event) => event.level === "warn");
      assert.match(notice.text, /tracker .* is unreachable: working offline/);
    }

    // The member finds the host where it last reached it; the owner through its own host's address.
    const memberJoined = await memberLog.waitFor("joined", (event) => event.channel.name === "first");
    assert.equal(memberJoined.channel.state, "online");
    await ownerLog.waitFor("joined", (event) => event.channel.name === "first");
    assert.equal((await member.send("first", "from mark offline")).status, "delivered");
    assert.equal((await owner.send("first", "from olive offline")).status, "delivered");
    await ownerLog.waitFor("message", (event) => event.message.text === "from olive offline");
    await memberLog.waitFor("message", (event) => event.message.text === "from olive offline");

    // Counted before the restart: the owner's channel may be listed again before both links report back.
    const mark = memberLog.events.length;
    await restartTracker();
    await ownerLog.waitFor("tracker", (event) => event.state === "connected");
    await memberLog.waitFor("tracker", (event) => event.state === "connected");
    await memberLog.waitFor(
      "directory",
      (event) =>
        memberLog.events.indexOf(event) >= mark &&
        event.channels.some((channel) => channel.name === "first" && channel.online),
    );
    const listing = (await member.listChannels()).find((channel) => channel.name === "first");
    assert.equal(listing?.online, true);
    assert.equal(listing?.address?.port, port);
    // Both signed back in on the tracker with their saved tickets.
    const users = (await member.onlineUsers()).map((user) => user.username).sort();
    assert.ok(users.includes("olive") && users.includes("mark"), `online: ${users.join(", ")}`);
    assert.equal(member.identity?.username, "mark");

    assert.equal((await member.send("first", "from mark online")).status, "delivered");
    await ownerLog.waitFor("message", (event) => event.message.text === "from mark online");
    await memberLog.waitFor("message", (event) => event.message.text === "from mark online");
    const expected = ["from mark offline", "from olive offline", "from mark online"];
    assert.deepEqual(messageTexts(memberLog, "first"), expected);
    assert.deepEqual(messageTexts(ownerLog, "first"), expected);
    const page = await member.history("first", { before: 100, limit: 50 });
    assert.deepEqual(
      page.messages.map((message) => message.text),
      ["before", ...expected],
    );
  });

  test("peer - the outbox written while host and tracker were down is delivered once when the host returns", async () => {
    let owner = await peer();
    await owner.signUp("hugo", TEST_PASSWORD);
    const hosted = await owner.host("relay");
    const port = hosted.address?.port as number;
    let member = await peer();
    let memberLog = new EventLog(member);
    await member.signUp("mia", TEST_PASSWORD);
    await member.join("relay");
    await closePeer(owner);
    await memberLog.waitFor("link", (event) => event.state === "unreachable");
    await stopTracker();

    const texts = ["w1", "w2", "w3"];
    for (const text of texts) assert.equal((await member.send("relay", text)).status, "queued");
    await closePeer(member);
    member = await peer();
    memberLog = new EventLog(member);
    assert.equal((await member.resume("mia"))?.username, "mia");
    assert.equal(member.outbox("relay").length, texts.length);

    // No --peer-host-port: the host comes back on its previous port, where the member looks for it.
    owner = await peer();
    const ownerLog = new EventLog(owner);
    assert.equal((await owner.resume("hugo"))?.username, "hugo");
    assert.equal(owner.hostedChannels()[0]?.address?.port, port);
    await memberLog.waitForCount("delivered", texts.length);
    assert.equal(member.outbox().length, 0);
    const joined = await ownerLog.waitFor("joined", (event) => event.channel.name === "relay");
    const fromHistory = joined.history.map((message) => message.text);
    await ownerLog.waitForCount("message", texts.length - fromHistory.length);
    assert.deepEqual([...fromHistory, ...messageTexts(ownerLog, "relay")], texts);
    const page = await owner.history("relay", { before: 100, limit: 50 });
    assert.deepEqual(
      page.messages.map((message) => [message.from, message.text]),
      texts.map((text) => ["mia", text]),
    );
    await restartTracker();
  });

  test("peer - offline, the owner reaches its own channel at its host's new address", async () => {
    let owner = await peer();
    await owner.signUp("nora", TEST_PASSWORD);
    const before = await owner.host("moved");
    await closePeer(owner);
    await stopTracker();

    // Another program took the old port: the restarted host has to move.
    const blocker = await occupyPort(before.address?.port as number);
    try {
      owner = await peer();
      const ownerLog = new EventLog(owner);
      assert.equal((await owner.resume("nora"))?.username, "nora");
      const hosted = owner.hostedChannels().find((channel) => channel.name === "moved");
      assert.notEqual(hosted?.address?.port, before.address?.port);
      await ownerLog.waitFor(
        "joined",
        (event) => event.channel.name === "moved" && event.channel.state === "online",
      );
      assert.equal((await owner.send("moved", "to myself")).status, "delivered");
      await restartTracker();
      await ownerLog.waitFor("tracker", (event) => event.state === "connected");
    } finally {
      await blocker.close();
    }
  });

  test("peer - an expired saved ticket does not start offline", async () => {
    const dead = await deadAddress();
    const first = await peer();
    await first.signUp("ed", TEST_PASSWORD);
    await closePeer(first);
    rewriteSavedTicket(dirs.path, "ed", (payload) => {
      payload.exp = Math.floor(Date.now() / 1000) - 60;
    });

    const offline = peers.add(await openPeer(dead, dirs.path, { offlineAfterMs: OFFLINE_AFTER_MS }));
    const log = new EventLog(offline);
    assert.equal(await offline.resume("ed"), null);
    assert.equal(offline.identity, null);
    assert.equal(log.of("notice").length, 0);
  });

  test("peer - a saved ticket the tracker refuses once back signs the offline peer out", async () => {
    const first = await peer();
    await first.signUp("fay", TEST_PASSWORD);
    await closePeer(first);
    // Still unexpired, but no longer signed by the tracker.
    rewriteSavedTicket(dirs.path, "fay", (payload) => {
      payload.exp += 60;
    });
    await stopTracker();

    const offline = await peer();
    const log = new EventLog(offline);
    assert.equal((await offline.resume("fay"))?.username, "fay");
    await restartTracker();
    const rejected = await log.waitFor("notice", (event) => event.code === "BAD_TICKET");
    assert.match(rejected.text, /^signed out/);
    await log.waitFor("identity", (event) => event.identity === null);
    assert.equal(offline.identity, null);
    assert.equal(await offline.resume("fay"), null);
  });
});
