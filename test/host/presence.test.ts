import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { HostedChannel } from "../../src/api/index.js";
import type { TestClient } from "../helpers/client.js";
import { barrier, HostConnections, startTestHost, type TestHost } from "../helpers/host.js";
import { connectUser, type SignedInClient } from "../helpers/tracker.js";

let testHost: TestHost;
let alice: SignedInClient;
let bob: SignedInClient;
let carol: SignedInClient;
const connections = new HostConnections(() => testHost.address);
const { join } = connections;
const changes: HostedChannel[] = [];
let onChangeWaiter: ((channel: HostedChannel) => void) | undefined;

before(async () => {
  testHost = await startTestHost({
    limits: { sendRatePerSecond: 0, membersReportIntervalMs: 50 },
    onChange: (channel) => {
      changes.push(channel);
      onChangeWaiter?.(channel);
    },
  });
  alice = await connectUser(testHost.tracker.address, "alice");
  bob = await connectUser(testHost.tracker.address, "bob");
  carol = await connectUser(testHost.tracker.address, "carol");
});

after(async () => {
  await connections.closeAll();
  await Promise.all([alice, bob, carol].map((user) => user.client.close()));
  await testHost.close();
});

function presence(client: TestClient, username: string): string[] {
  return client.events
    .filter((frame) => frame.event === "PRESENCE" && frame.body.username === username)
    .map((frame) => frame.body.status as string);
}

/** Waits (bounded) until the tracker lists `channel` with `members`. */
async function listedMembers(channel: string, members: number): Promise<number | undefined> {
  const deadline = Date.now() + 10_000;
  let seen: number | undefined;
  while (Date.now() < deadline) {
    const list = await alice.client.request("LIST", {});
    seen = (list.channels as { name: string; members: number }[]).find(
      (entry) => entry.name === channel,
    )?.members;
    if (seen === members) return seen;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seen;
}

test("presence - online when a user's first connection joins, offline when the last one leaves", async () => {
  await testHost.host.host("room");
  const watcher = await join(alice.ticket, "room");
  const first = await join(bob.ticket, "room");
  assert.deepEqual((await watcher.client.nextEvent("PRESENCE")).body, {
    channel: "room",
    username: "bob",
    role: "user",
    status: "online",
  });
  const second = await join(bob.ticket, "room");
  await first.client.request("DISCONNECT", { channel: "room" });
  await barrier(second.client, watcher.client, "room", "b1");
  assert.deepEqual(
    presence(watcher.client, "bob"),
    [],
    "a second connection and its first leaving change nothing",
  );
  await second.client.close();
  assert.deepEqual((await watcher.client.nextEvent("PRESENCE")).body, {
    channel: "room",
    username: "bob",
    role: "user",
    status: "offline",
  });
  assert.equal(await listedMembers("room", 1), 1);
});

test("presence - invisible users never appear, still receive everything, and toggle offline/online", async () => {
  await testHost.host.host("hideout");
  await testHost.host.host("hideout-2");
  const owner = await join(testHost.owner.ticket, "hideout");
  const watcher = await join(alice.ticket, "hideout");
  const hidden = await join(carol.ticket, "hideout", { invisible: true });
  assert.deepEqual(
    hidden.joined.members.map((member) => member.username),
    ["alice", "owner"],
  );
  await barrier(owner.client, hidden.client, "hideout", "seen-by-hidden");
  await watcher.client.nextEvent("MESSAGE", (body) => body.msgId === "seen-by-hidden");
  assert.deepEqual(presence(watcher.client, "carol"), [], "joining invisibly announces nothing");
  const joinedLater = await join(bob.ticket, "hideout");
  assert.deepEqual(
    joinedLater.joined.members.map((member) => member.username),
    ["alice", "bob", "owner"],
  );
  const memberInfo = await watcher.client.request("RET_INFO", { channel: "hideout" });
  assert.equal(
    (memberInfo.members as { username: string }[]).some((member) => member.username === "carol"),
    false,
  );
  assert.equal(await listedMembers("hideout", 3), 3);

  await hidden.client.request("CONNECT", { channel: "hideout-2", ticket: carol.ticket });
  const otherRoom = await join(alice.ticket, "hideout-2");
  await hidden.client.request("INVISIBLE", { invisible: false });
  assert.equal(
    (await watcher.client.nextEvent("PRESENCE", (body) => body.username === "carol")).body.status,
    "online",
  );
  assert.deepEqual(
    (await otherRoom.client.nextEvent("PRESENCE", (body) => body.username === "carol")).body,
    { channel: "hideout-2", username: "carol", role: "user", status: "online" },
    "INVISIBLE applies to every channel of the connection",
  );
  assert.equal(await listedMembers("hideout", 4), 4);
  await hidden.client.request("INVISIBLE", { invisible: true });
  assert.equal(
    (await watcher.client.nextEvent("PRESENCE", (body) => body.username === "carol")).body.status,
    "offline",
  );
  assert.equal(
    (await otherRoom.client.nextEvent("PRESENCE", (body) => body.username === "carol")).body.status,
    "offline",
  );
  await hidden.client.close();
  await barrier(owner.client, watcher.client, "hideout", "after-hidden-left");
  assert.deepEqual(presence(watcher.client, "carol"), [], "an invisible user leaving announces nothing");
});

test("presence - the host reports visible member counts through onChange", async () => {
  const reached = new Promise<HostedChannel>((resolve) => {
    onChangeWaiter = (channel) => {
      if (channel.name === "counted" && channel.members === 2) resolve(channel);
    };
  });
  await testHost.host.host("counted");
  await join(alice.ticket, "counted");
  await join(carol.ticket, "counted", { invisible: true });
  await join(bob.ticket, "counted");
  const channel = await reached;
  onChangeWaiter = undefined;
  assert.equal(channel.listed, true);
  assert.ok(changes.some((entry) => entry.name === "counted" && entry.members === 1));
});
