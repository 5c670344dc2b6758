import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { barrier, connectMember, HostConnections, startTestHost, type TestHost } from "../helpers/host.js";
import { connectGuest, connectUser, type SignedInClient } from "../helpers/tracker.js";

let testHost: TestHost;
let alice: SignedInClient;
let bob: SignedInClient;
let guest: SignedInClient;
const connections = new HostConnections(() => testHost.address);
const { join } = connections;

before(async () => {
  testHost = await startTestHost({ limits: { sendRatePerSecond: 0 } });
  alice = await connectUser(testHost.tracker.address, "alice");
  bob = await connectUser(testHost.tracker.address, "bob");
  guest = await connectGuest(testHost.tracker.address, "reader");
});

after(async () => {
  await connections.closeAll();
  await Promise.all([alice, bob, guest].map((user) => user.client.close()));
  await testHost.close();
});

test("permissions - a private channel admits the owner and authorized users only; guests never", async () => {
  await testHost.host.host("secret", { view: "private" });
  const owner = await join(testHost.owner.ticket, "secret");
  await owner.client.request("AUTHORIZE", { channel: "secret", username: "BOB", grant: true });
  const refused = await connectMember(testHost.address, alice.ticket, "secret").catch(
    (error: unknown) => error,
  );
  assert.equal((refused as { code?: string }).code, "PRIVATE_CHANNEL");
  assert.equal((refused as { status?: string }).status, "UNAUTHORIZED");
  const guestRefused = await connectMember(testHost.address, guest.ticket, "secret").catch(
    (error: unknown) => error,
  );
  assert.equal((guestRefused as { code?: string }).code, "PRIVATE_CHANNEL");
  const admitted = await join(bob.ticket, "secret");
  assert.equal(admitted.joined.view, "private");
});

test("permissions - guests read but never send: GUEST_READ_ONLY", async () => {
  await testHost.host.host("readers");
  const owner = await join(testHost.owner.ticket, "readers");
  const reader = await join(guest.ticket, "readers");
  const message = await reader.client.requestError("MESSAGE", { channel: "readers", msgId: "g", text: "hi" });
  assert.equal(message.code, "GUEST_READ_ONLY");
  assert.equal(message.status, "UNAUTHORIZED");
  const cache = await reader.client.requestError("CACHE", {
    channel: "readers",
    messages: [{ msgId: "g", text: "hi" }],
  });
  assert.equal(cache.code, "GUEST_READ_ONLY");
  await owner.client.request("MESSAGE", { channel: "readers", msgId: "o", text: "for everyone" });
  assert.equal((await reader.client.nextEvent("MESSAGE")).body.text, "for everyone");
});

test("permissions - in a moderated channel only the owner and authorized users send: NOT_AUTHORIZED", async () => {
  await testHost.host.host("moderated", { moderated: true });
  const owner = await join(testHost.owner.ticket, "moderated");
  const member = await join(alice.ticket, "moderated");
  const refused = await member.client.requestError("MESSAGE", {
    channel: "moderated",
    msgId: "a",
    text: "hi",
  });
  assert.equal(refused.code, "NOT_AUTHORIZED");
  assert.equal(refused.status, "UNAUTHORIZED");
  await owner.client.request("MESSAGE", { channel: "moderated", msgId: "o", text: "owner speaks" });
  await owner.client.request("AUTHORIZE", { channel: "moderated", username: "alice", grant: true });
  const sent = await member.client.request("MESSAGE", { channel: "moderated", msgId: "a", text: "hi" });
  assert.equal(sent.seq, 2);
  await owner.client.request("AUTHORIZE", { channel: "moderated", username: "alice", grant: false });
  const revoked = await member.client.requestError("MESSAGE", {
    channel: "moderated",
    msgId: "b",
    text: "again",
  });
  assert.equal(revoked.code, "NOT_AUTHORIZED");
  await owner.client.request("VIEW", { channel: "moderated", view: "public", moderated: false });
  assert.equal(
    (await member.client.request("MESSAGE", { channel: "moderated", msgId: "b", text: "free" })).seq,
    3,
  );
});

test("permissions - turning a channel private removes everyone who may not see it with REMOVED PRIVATE_CHANNEL", async () => {
  await testHost.host.host("closing-doors");
  const owner = await join(testHost.owner.ticket, "closing-doors");
  await owner.client.request("AUTHORIZE", { channel: "closing-doors", username: "bob", grant: true });
  const outsider = await join(alice.ticket, "closing-doors");
  const insider = await join(bob.ticket, "closing-doors");
  const reader = await join(guest.ticket, "closing-doors");
  await owner.client.request("VIEW", { channel: "closing-doors", view: "private" });
  for (const removed of [outsider, reader]) {
    assert.deepEqual((await removed.client.nextEvent("REMOVED")).body, {
      channel: "closing-doors",
      code: "PRIVATE_CHANNEL",
    });
  }
  assert.deepEqual((await insider.client.nextEvent("CHANNEL")).body, {
    channel: "closing-doors",
    view: "private",
    moderated: false,
  });
  const offline = await insider.client.nextEvent("PRESENCE", (body) => body.username === "alice");
  assert.equal(offline.body.status, "offline");
  await barrier(owner.client, insider.client, "closing-doors", "after-private");
  const notJoined = await outsider.client.requestError("MESSAGE", {
    channel: "closing-doors",
    msgId: "x",
    text: "x",
  });
  assert.equal(notJoined.code, "NOT_JOINED");
  assert.equal(
    outsider.client.events.some((frame) => frame.event === "MESSAGE" && frame.body.msgId === "after-private"),
    false,
    "a removed connection receives nothing more from the channel",
  );
  assert.ok(await outsider.client.request("PING", {}), "the removed connection stays open");
  const again = await outsider.client.requestError("CONNECT", {
    channel: "closing-doors",
    ticket: alice.ticket,
  });
  assert.equal(again.code, "PRIVATE_CHANNEL");
});

test("permissions - revoking a user in a private channel removes them with REVOKED; in a public one they stay", async () => {
  await testHost.host.host("revocable", { view: "private" });
  const owner = await join(testHost.owner.ticket, "revocable");
  await owner.client.request("AUTHORIZE", { channel: "revocable", username: "alice", grant: true });
  const first = await join(alice.ticket, "revocable");
  const second = await join(alice.ticket, "revocable");
  await owner.client.request("AUTHORIZE", { channel: "revocable", username: "ALICE", grant: false });
  for (const connection of [first, second]) {
    assert.deepEqual((await connection.client.nextEvent("REMOVED")).body, {
      channel: "revocable",
      code: "REVOKED",
    });
  }
  await testHost.host.host("open-revoke");
  await owner.client.request("CONNECT", { channel: "open-revoke", ticket: testHost.owner.ticket });
  await owner.client.request("AUTHORIZE", { channel: "open-revoke", username: "alice", grant: true });
  const stays = await join(alice.ticket, "open-revoke");
  await owner.client.request("AUTHORIZE", { channel: "open-revoke", username: "alice", grant: false });
  await barrier(owner.client, stays.client, "open-revoke", "still-here");
  assert.equal(
    stays.client.events.some((frame) => frame.event === "REMOVED"),
    false,
  );
});

test("permissions - a user authorized while offline joins a private channel later", async () => {
  await testHost.host.host("invite-only", { view: "private" });
  const owner = await join(testHost.owner.ticket, "invite-only");
  await owner.client.request("AUTHORIZE", { channel: "invite-only", username: "carol", grant: true });
  const carol = await connectUser(testHost.tracker.address, "carol");
  try {
    const joined = await join(carol.ticket, "invite-only");
    assert.equal(joined.joined.channel, "invite-only");
  } finally {
    await carol.client.close();
  }
});
