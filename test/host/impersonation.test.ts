import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ChatMessage } from "../../src/protocol/host-schemas.js";
import { connectMember, HostConnections, startTestHost, type TestHost } from "../helpers/host.js";
import { connectGuest, connectUser, type SignedInClient } from "../helpers/tracker.js";

// Forged, expired and foreign tickets, a second user's ticket on the same channel, guests sending or
// going invisible, members using VIEW/AUTHORIZE and RET_INFO per role are covered in commands.test.ts
// and permissions.test.ts; this file covers the other ways to pass for someone else.

let testHost: TestHost;
let alice: SignedInClient;
let guest: SignedInClient;
const connections = new HostConnections(() => testHost.address);
const { join } = connections;

before(async () => {
  testHost = await startTestHost({ limits: { sendRatePerSecond: 0 } });
  alice = await connectUser(testHost.tracker.address, "alice");
  guest = await connectGuest(testHost.tracker.address, "mask");
});

after(async () => {
  await connections.closeAll();
  await Promise.all([alice, guest].map((user) => user.client.close()));
  await testHost.close();
});

/** A ticket with its payload rewritten by `change` and its original signature kept. */
function tampered(
  ticket: string,
  change: (claims: Record<string, unknown>) => Record<string, unknown>,
): string {
  const [payload, signature] = ticket.split(".") as [string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  return `${Buffer.from(JSON.stringify(change(claims))).toString("base64url")}.${signature}`;
}

test("impersonation - a CONNECT body that claims another identity is ignored: the ticket's sub decides", async () => {
  await testHost.host.host("claims");
  const owner = await join(testHost.owner.ticket, "claims");
  const member = await join(alice.ticket, "claims");
  const claimed = await member.client.request("CONNECT", {
    channel: "claims",
    ticket: alice.ticket,
    username: "owner",
    sub: "owner",
    from: "owner",
    role: "owner",
    owner: true,
  });
  assert.equal(claimed.role, "user");
  const refused = await member.client.requestError("VIEW", { channel: "claims", view: "private" });
  assert.equal(refused.code, "NOT_OWNER");
  const info = await owner.client.request("RET_INFO", { channel: "claims" });
  assert.deepEqual(info.members, [
    { username: "alice", role: "user", invisible: false },
    { username: "owner", role: "user", invisible: false },
  ]);
  const guestClaim = await join(guest.ticket, "claims");
  const again = await guestClaim.client.request("CONNECT", {
    channel: "claims",
    ticket: guest.ticket,
    role: "user",
    username: "alice",
  });
  assert.equal(again.role, "guest");
  const send = await guestClaim.client.requestError("MESSAGE", { channel: "claims", msgId: "g", text: "hi" });
  assert.equal(send.code, "GUEST_READ_ONLY");
});

test("impersonation - a ticket whose payload was changed (sub, role, exp) is BAD_TICKET", async () => {
  await testHost.host.host("tampered");
  const member = await join(alice.ticket, "tampered");
  const forgeries = [
    tampered(alice.ticket, (claims) => ({ ...claims, sub: "owner" })),
    tampered(alice.ticket, (claims) => ({ ...claims, sub: "Alice" })),
    tampered(guest.ticket, (claims) => ({ ...claims, role: "user" })),
    tampered(guest.ticket, (claims) => ({ ...claims, sub: "alice", role: "user" })),
    tampered(alice.ticket, (claims) => ({ ...claims, exp: (claims.exp as number) + 3_600 })),
    // The owner's signature under alice's payload, and the reverse.
    `${alice.ticket.split(".")[0]}.${testHost.owner.ticket.split(".")[1]}`,
    `${testHost.owner.ticket.split(".")[0]}.${alice.ticket.split(".")[1]}`,
  ];
  for (const ticket of forgeries) {
    const fresh = await connectMember(testHost.address, ticket, "tampered").catch((error: unknown) => error);
    assert.equal((fresh as { code?: string }).code, "BAD_TICKET", ticket);
    assert.equal((fresh as { status?: string }).status, "UNAUTHORIZED");
    const onJoined = await member.client.requestError("CONNECT", { channel: "tampered", ticket });
    assert.equal(onJoined.code, "BAD_TICKET", ticket);
  }
  const sent = await member.client.request("MESSAGE", { channel: "tampered", msgId: "still", text: "me" });
  assert.equal(sent.seq, 1);
  assert.equal((await member.client.nextEvent("MESSAGE")).body.from, "alice");
});

test("impersonation - after a refused CONNECT with the owner's ticket, a connection stays its first user everywhere", async () => {
  await testHost.host.host("first");
  await testHost.host.host("owners-room", { view: "private" });
  const member = await join(alice.ticket, "first");
  for (const channel of ["owners-room", "first"]) {
    const stolen = await member.client.requestError("CONNECT", { channel, ticket: testHost.owner.ticket });
    assert.equal(stolen.code, "BAD_TICKET", channel);
  }
  const notOwner = await member.client.requestError("AUTHORIZE", {
    channel: "owners-room",
    username: "alice",
    grant: true,
  });
  assert.equal(notOwner.code, "NOT_OWNER");
  const privateRoom = await member.client.requestError("CONNECT", {
    channel: "owners-room",
    ticket: alice.ticket,
  });
  assert.equal(privateRoom.code, "PRIVATE_CHANNEL");
  const info = await member.client.request("RET_INFO", { channel: "first" });
  assert.deepEqual(info.members, [{ username: "alice", role: "user" }]);
  assert.equal(info.authorized, undefined, "only the owner's RET_INFO lists authorizations");
  await member.client.request("MESSAGE", { channel: "first", msgId: "after", text: "who am I" });
  assert.equal((await member.client.nextEvent("MESSAGE")).body.from, "alice");
});

test("impersonation - from in a stored and broadcast message is the ticket's sub, whatever MESSAGE or CACHE says", async () => {
  await testHost.host.host("senders");
  const owner = await join(testHost.owner.ticket, "senders");
  const member = await join(alice.ticket, "senders");
  await member.client.request("MESSAGE", { channel: "senders", msgId: "m", text: "one", from: "owner" });
  await member.client.request("CACHE", {
    channel: "senders",
    messages: [
      { msgId: "c1", text: "two", from: "owner" },
      { msgId: "c2", text: "three", from: "guest-mask", sentAt: null },
    ],
  });
  for (const msgId of ["m", "c1", "c2"]) {
    const event = await owner.client.nextEvent("MESSAGE", (body) => body.msgId === msgId);
    assert.equal(event.body.from, "alice", msgId);
  }
  const history = await owner.client.request("HISTORY", { channel: "senders" });
  assert.deepEqual(
    (history.messages as ChatMessage[]).map((message) => [message.msgId, message.from]),
    [
      ["m", "alice"],
      ["c1", "alice"],
      ["c2", "alice"],
    ],
  );
  // The owner reusing alice's msgId is the owner's own message, not a duplicate of hers.
  const own = await owner.client.request("MESSAGE", { channel: "senders", msgId: "m", text: "mine" });
  assert.equal(own.duplicate, false);
  assert.equal(own.seq, 4);
});

test("impersonation - a guest cannot VIEW or AUTHORIZE a channel: NOT_OWNER", async () => {
  await testHost.host.host("guarded");
  const visitor = await join(guest.ticket, "guarded");
  const view = await visitor.client.requestError("VIEW", { channel: "guarded", view: "private" });
  assert.equal(view.code, "NOT_OWNER");
  assert.equal(view.status, "UNAUTHORIZED");
  for (const username of ["guest-mask", "alice"]) {
    const grant = await visitor.client.requestError("AUTHORIZE", {
      channel: "guarded",
      username,
      grant: true,
    });
    assert.equal(grant.code, "NOT_OWNER", username);
  }
  const channel = testHost.host.channels().find((hosted) => hosted.name === "guarded");
  assert.equal(channel?.view, "public");
});
