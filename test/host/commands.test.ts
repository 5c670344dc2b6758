import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { loadOrCreateIdentity } from "../../src/auth/keys.js";
import { signMessage } from "../../src/auth/message-signature.js";
import { nowSeconds, signTicket, type TicketPayload } from "../../src/auth/tickets.js";
import type { ChatMessage, HostOkBodies } from "../../src/protocol/host-schemas.js";
import { registerTicketKey, type TestClient } from "../helpers/client.js";
import { HostConnections, startTestHost, type TestHost } from "../helpers/host.js";
import { connectGuest, connectUser, type SignedInClient } from "../helpers/tracker.js";

let testHost: TestHost;
let alice: SignedInClient;
let bob: SignedInClient;
let guest: SignedInClient;
const connections = new HostConnections(() => testHost.address);
const { join, client } = connections;

before(async () => {
  testHost = await startTestHost({ limits: { sendRatePerSecond: 0 } });
  alice = await connectUser(testHost.tracker.address, "alice");
  bob = await connectUser(testHost.tracker.address, "bob");
  guest = await connectGuest(testHost.tracker.address, "visitor");
});

after(async () => {
  await connections.closeAll();
  await Promise.all([alice, bob, guest].map((user) => user.client.close()));
  await testHost.close();
});

function seqs(messages: unknown): number[] {
  return (messages as ChatMessage[]).map((message) => message.seq);
}

/** Stores `count` messages from the owner through CACHE (the owner is never rate limited). */
async function fill(owner: TestClient, channel: string, count: number, prefix: string): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const size = Math.min(500, count - start);
    await owner.request("CACHE", {
      channel,
      messages: Array.from({ length: size }, (_, index) => ({
        msgId: `${prefix}-${start + index}`,
        text: `message ${start + index}`,
        sentAt: "2026-01-01T00:00:00.000Z",
      })),
    });
  }
}

test("host - host() lists the channel on the tracker; a name owned by someone else is CHANNEL_TAKEN and kept nowhere", async () => {
  const hosted = await testHost.host.host("listed", { view: "public", moderated: true });
  assert.deepEqual(hosted, {
    name: "listed",
    view: "public",
    moderated: true,
    address: testHost.address,
    fingerprint: testHost.host.fingerprint,
    listed: true,
    reach: "direct",
    members: 0,
  });
  const list = await alice.client.request("LIST", {});
  const listing = (list.channels as { name: string }[]).find((channel) => channel.name === "listed");
  assert.deepEqual(listing, {
    name: "listed",
    owner: "owner",
    view: "public",
    moderated: true,
    online: true,
    address: testHost.address,
    fingerprint: testHost.host.fingerprint,
    members: 0,
    reach: "direct",
  });
  const other = await startTestHost({ tracker: testHost.tracker, owner: "mallory" });
  try {
    await assert.rejects(other.host.host("listed"), { code: "CHANNEL_TAKEN" });
    assert.deepEqual(other.host.channels(), []);
  } finally {
    await other.close();
  }
  await assert.rejects(testHost.host.host("bad name!"), { code: "BAD_REQUEST" });
  await assert.rejects(testHost.host.unhost("never-hosted"), { code: "NO_SUCH_CHANNEL" });
});

test("host - host() on a hosted channel changes its settings and returns it", async () => {
  await testHost.host.host("rehost");
  const changed = await testHost.host.host("rehost", { moderated: true });
  assert.equal(changed.moderated, true);
  assert.equal(changed.view, "public");
  const same = await Promise.all([testHost.host.host("twice"), testHost.host.host("twice")]);
  assert.deepEqual(same[0], same[1]);
  assert.equal(testHost.host.channels().filter((channel) => channel.name === "twice").length, 1);
});

test("host - PING answers anyone with the host's clock", async () => {
  const connection = await client();
  const reply = await connection.request("PING", {});
  assert.match(reply.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test("host - CONNECT answers settings, role, members and history", async () => {
  await testHost.host.host("connect", { moderated: true });
  const first = await join(alice.ticket, "connect");
  assert.deepEqual(first.joined, {
    channel: "connect",
    owner: "owner",
    view: "public",
    moderated: true,
    role: "user",
    members: [{ username: "alice", role: "user" }],
    history: [],
    latestSeq: 0,
    hasMore: false,
  });
  const otherCase = await join(bob.ticket, "CONNECT");
  assert.equal(otherCase.joined.channel, "connect", "channel names are unique regardless of case");
  await otherCase.client.request("DISCONNECT", { channel: "Connect" });
  const visitor = await join(guest.ticket, "connect");
  assert.equal(visitor.joined.role, "guest");
  assert.deepEqual(visitor.joined.members, [
    { username: "alice", role: "user" },
    { username: "guest-visitor", role: "guest" },
  ]);
});

test("host - CONNECT refuses bad, forged, expired and foreign tickets with BAD_TICKET, and unknown channels", async () => {
  await testHost.host.host("tickets");
  const connection = await client();
  const identity = loadOrCreateIdentity(testHost.tracker.dataDir);
  const now = nowSeconds();
  // Every ticket certifies this key and comes with its proof: only the ticket itself is wrong.
  const key = DeviceKey.generate();
  const payload = {
    v: 2 as const,
    sub: "alice",
    role: "user" as const,
    key: key.publicKey,
    dev: "hand-made-device",
    gen: 1,
    iat: now,
    exp: now + 60,
    iss: identity.issuer,
  };
  const forged = signTicket(payload, generateKeyPairSync("ed25519").privateKey);
  const expired = signTicket({ ...payload, iat: now - 120, exp: now - 60 }, identity.privateKey);
  const foreign = signTicket({ ...payload, iss: "another-tracker" }, identity.privateKey);
  const older = signTicket({ ...payload, v: 1 } as unknown as TicketPayload, identity.privateKey);
  for (const ticket of ["garbage", "a.b", forged, expired, foreign, older]) {
    const error = await connection.requestError("CONNECT", { channel: "tickets", ticket }, { key });
    assert.equal(error.code, "BAD_TICKET", ticket);
    assert.equal(error.status, "UNAUTHORIZED");
  }
  const valid = signTicket(payload, identity.privateKey);
  registerTicketKey(valid, key);
  const missing = await connection.requestError("CONNECT", { channel: "nowhere", ticket: valid });
  assert.equal(missing.code, "NO_SUCH_CHANNEL");
  const joined = await connection.request("CONNECT", { channel: "tickets", ticket: valid });
  assert.equal(joined.role, "user");
});

test("host - a connection keeps the identity of its first ticket, and a repeated CONNECT answers like the first", async () => {
  await testHost.host.host("identity");
  const member = await join(alice.ticket, "identity");
  const stolen = await member.client.requestError("CONNECT", { channel: "identity", ticket: bob.ticket });
  assert.equal(stolen.code, "BAD_TICKET");
  const again = await member.client.request("CONNECT", { channel: "identity", ticket: alice.ticket });
  assert.deepEqual(again, member.joined);
  // The repeat announced nothing: a later broadcast is the next event this connection sees.
  const watcher = await join(bob.ticket, "identity");
  await member.client.nextEvent("PRESENCE", (body) => body.username === "bob");
  await member.client.request("CONNECT", { channel: "identity", ticket: alice.ticket });
  await watcher.client.request("MESSAGE", { channel: "identity", msgId: "barrier", text: "barrier" });
  await watcher.client.nextEvent("MESSAGE", (body) => body.msgId === "barrier");
  assert.deepEqual(
    watcher.client.events.filter((frame) => frame.event === "PRESENCE"),
    [],
    "a repeated CONNECT sends no presence",
  );
});

test("host - DISCONNECT leaves one channel; afterwards its commands answer NOT_JOINED", async () => {
  await testHost.host.host("leave-a");
  await testHost.host.host("leave-b");
  const member = await join(alice.ticket, "leave-a");
  await member.client.request("CONNECT", { channel: "leave-b", ticket: alice.ticket });
  assert.deepEqual(await member.client.request("DISCONNECT", { channel: "leave-a" }), {});
  for (const [command, body] of [
    ["DISCONNECT", { channel: "leave-a" }],
    ["MESSAGE", { channel: "leave-a", msgId: "m", text: "hi" }],
    ["CACHE", { channel: "leave-a", messages: [{ msgId: "m", text: "hi" }] }],
    ["HISTORY", { channel: "leave-a" }],
    ["RET_INFO", { channel: "leave-a" }],
  ] as const) {
    const error = await member.client.requestError(command, body);
    assert.equal(error.code, "NOT_JOINED", command);
  }
  const still = await member.client.request("MESSAGE", { channel: "leave-b", msgId: "m", text: "hi" });
  assert.equal(still.seq, 1);
});

test("host - MESSAGE stores, answers before the event, and broadcasts the flat message shape", async () => {
  await testHost.host.host("send");
  const sender = await join(alice.ticket, "send");
  const other = await join(bob.ticket, "send");
  const sentAt = "2026-11-25T09:30:00.123Z";
  const sig = signMessage(alice.key, { channel: "send", from: "alice", msgId: "m-1", sentAt, text: "hello" });
  const reply = (await sender.client.request(
    "MESSAGE",
    { channel: "send", msgId: "m-1", text: "hello", sentAt, sig, cert: alice.ticket },
    { raw: true },
  )) as unknown as HostOkBodies["MESSAGE"];
  assert.equal(reply.seq, 1);
  assert.equal(reply.duplicate, false);
  assert.match(reply.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // The author's signature and certificate travel with the message, as the author sent them.
  const expected = {
    channel: "send",
    seq: 1,
    msgId: "m-1",
    from: "alice",
    text: "hello",
    ts: reply.ts,
    sentAt,
    sig,
    cert: alice.ticket,
  };
  assert.deepEqual((await sender.client.nextEvent("MESSAGE")).body, expected);
  assert.deepEqual((await other.client.nextEvent("MESSAGE")).body, expected);
  // sentAt, sig and cert are required: a body without one is refused, and nothing is stored.
  for (const field of ["sentAt", "sig", "cert"] as const) {
    const body: Record<string, unknown> = { ...expected, msgId: `without-${field}` };
    delete body[field];
    const refused = await sender.client.requestError("MESSAGE", body, { raw: true });
    assert.equal(refused.code, "BAD_REQUEST", field);
    assert.match(refused.message, new RegExp(`^${field}: `));
  }
  const info = await sender.client.request("RET_INFO", { channel: "send" });
  assert.equal(info.latestSeq, 1);
});

test("host - MESSAGE and CACHE refuse a certificate that is not the sender's, or not in force when written: BAD_SIGNATURE", async () => {
  await testHost.host.host("certs");
  const sender = await join(alice.ticket, "certs");
  const identity = loadOrCreateIdentity(testHost.tracker.dataDir);
  const now = nowSeconds();
  const claims = {
    v: 2 as const,
    sub: "alice",
    role: "user" as const,
    key: alice.key.publicKey,
    dev: "old-device",
    gen: 1,
    iat: now - 7_200,
    exp: now - 3_600,
    iss: identity.issuer,
  };
  const expired = signTicket(claims, identity.privateKey);
  const forged = signTicket({ ...claims, exp: now + 3_600 }, generateKeyPairSync("ed25519").privateKey);
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  const send = (msgId: string, cert: string, sentAt = new Date().toISOString()) =>
    sender.client.request("MESSAGE", { channel: "certs", msgId, text: msgId, sentAt, cert });
  for (const [msgId, cert, sentAt] of [
    ["bobs-cert", bob.ticket, undefined],
    ["guests-cert", guest.ticket, undefined],
    ["forged-cert", forged, undefined],
    ["garbage-cert", "a.b", undefined],
    ["far-future", alice.ticket, "2999-01-01T00:00:00.000Z"],
    // Written more than 5 minutes after the certificate expired.
    ["after-expiry", expired, iso(claims.exp + 6 * 60)],
  ] as const) {
    const refused = await send(msgId, cert, sentAt).then(
      () => undefined,
      (error: unknown) => error as { code?: string },
    );
    assert.equal(refused?.code, "BAD_SIGNATURE", msgId);
  }
  // A certificate that has expired since still vouches for what was written while it was in force.
  assert.equal((await send("while-valid", expired, iso(claims.exp - 60))).seq, 1);
  assert.equal((await send("within-skew", expired, iso(claims.exp + 4 * 60))).seq, 2);
  // One bad certificate in a CACHE refuses all of it.
  const batch = await sender.client.requestError("CACHE", {
    channel: "certs",
    messages: [
      { msgId: "c-1", text: "fine" },
      { msgId: "c-2", text: "not mine", cert: bob.ticket },
    ],
  });
  assert.equal(batch.code, "BAD_SIGNATURE");
  const info = await sender.client.request("RET_INFO", { channel: "certs" });
  assert.equal(info.latestSeq, 2, "nothing refused was stored");
});

test("host - MESSAGE refuses empty, blank and too long text, and bad bodies", async () => {
  await testHost.host.host("text");
  const sender = await join(alice.ticket, "text");
  const send = (text: unknown, msgId = "x") =>
    sender.client.requestError("MESSAGE", { channel: "text", msgId, text });
  assert.equal((await send("")).code, "EMPTY_TEXT");
  assert.equal((await send(" \n\t\u00a0")).code, "EMPTY_TEXT");
  assert.equal((await send("😀".repeat(4001))).code, "TEXT_TOO_LONG");
  assert.equal((await send(42)).code, "BAD_REQUEST");
  assert.equal((await send("hi", "")).code, "BAD_REQUEST");
  assert.equal((await send("hi", "x".repeat(65))).code, "BAD_REQUEST");
  const longest = await sender.client.request("MESSAGE", {
    channel: "text",
    msgId: "max",
    text: "😀".repeat(4000),
  });
  assert.equal(longest.seq, 1);
});

test("host - CACHE stores in order with per-message results, all or nothing", async () => {
  await testHost.host.host("cache");
  const sender = await join(alice.ticket, "cache");
  await sender.client.request("MESSAGE", { channel: "cache", msgId: "before", text: "first" });
  const refused = await sender.client.requestError("CACHE", {
    channel: "cache",
    messages: [
      { msgId: "c1", text: "fine", sentAt: null },
      { msgId: "c2", text: "   ", sentAt: null },
    ],
  });
  assert.equal(refused.code, "EMPTY_TEXT");
  assert.match(refused.message, /messages\.1\.text/);
  const info = await sender.client.request("RET_INFO", { channel: "cache" });
  assert.equal(info.latestSeq, 1, "nothing of the refused CACHE was stored");
  const reply = await sender.client.request("CACHE", {
    channel: "cache",
    messages: [
      { msgId: "c1", text: "one", sentAt: "2026-01-01T00:00:00.000Z" },
      { msgId: "before", text: "again" },
      { msgId: "c2", text: "two" },
    ],
  });
  assert.deepEqual(
    (reply.results as { msgId: string; seq: number; duplicate: boolean }[]).map((result) => [
      result.msgId,
      result.seq,
      result.duplicate,
    ]),
    [
      ["c1", 2, false],
      ["before", 1, true],
      ["c2", 3, false],
    ],
  );
  assert.equal(
    (await sender.client.requestError("CACHE", { channel: "cache", messages: [] })).code,
    "BAD_REQUEST",
  );
  const tooMany = Array.from({ length: 501 }, (_, index) => ({ msgId: `t${index}`, text: "x" }));
  assert.equal(
    (await sender.client.requestError("CACHE", { channel: "cache", messages: tooMany })).code,
    "BAD_REQUEST",
  );
});

test("host - CONNECT without since gives the last 50, with since everything after it up to 500", async () => {
  await testHost.host.host("paging");
  const owner = await join(testHost.owner.ticket, "paging");
  await fill(owner.client, "paging", 620, "p");
  const latest = await join(alice.ticket, "paging");
  assert.deepEqual(
    seqs(latest.joined.history),
    Array.from({ length: 50 }, (_, index) => 571 + index),
  );
  assert.equal(latest.joined.hasMore, true);
  assert.equal(latest.joined.latestSeq, 620);
  const since = await join(bob.ticket, "paging", { since: 600 });
  assert.deepEqual(
    seqs(since.joined.history),
    Array.from({ length: 20 }, (_, index) => 601 + index),
  );
  assert.equal(since.joined.hasMore, false);
  const far = await join(bob.ticket, "paging", { since: 10 });
  assert.deepEqual(
    seqs(far.joined.history),
    Array.from({ length: 500 }, (_, index) => 11 + index),
  );
  assert.equal(far.joined.hasMore, true);
  const current = await join(bob.ticket, "paging", { since: 620 });
  assert.deepEqual(current.joined.history, []);
  assert.equal(current.joined.hasMore, false);
  const first = latest.joined.history[0] as ChatMessage;
  assert.deepEqual(Object.keys(first).sort(), [
    "cert",
    "channel",
    "from",
    "msgId",
    "sentAt",
    "seq",
    "sig",
    "text",
    "ts",
  ]);
});

test("host - HISTORY pages before, after, between and latest, ascending, hasMore the way asked", async () => {
  await testHost.host.host("history");
  const owner = await join(testHost.owner.ticket, "history");
  await fill(owner.client, "history", 120, "h");
  const history = async (body: object) => {
    const page = await owner.client.request("HISTORY", { channel: "history", ...body });
    return { seqs: seqs(page.messages), hasMore: page.hasMore };
  };
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, index) => from + index);
  assert.deepEqual(await history({}), { seqs: range(71, 120), hasMore: true });
  assert.deepEqual(await history({ limit: 500 }), { seqs: range(1, 120), hasMore: false });
  assert.deepEqual(await history({ before: 30, limit: 10 }), { seqs: range(20, 29), hasMore: true });
  assert.deepEqual(await history({ before: 5, limit: 10 }), { seqs: range(1, 4), hasMore: false });
  assert.deepEqual(await history({ after: 100, limit: 10 }), { seqs: range(101, 110), hasMore: true });
  assert.deepEqual(await history({ after: 115 }), { seqs: range(116, 120), hasMore: false });
  assert.deepEqual(await history({ after: 10, before: 20, limit: 5 }), {
    seqs: range(11, 15),
    hasMore: true,
  });
  assert.deepEqual(await history({ after: 10, before: 20, limit: 9 }), {
    seqs: range(11, 19),
    hasMore: false,
  });
  for (const body of [{ limit: 0 }, { limit: 501 }, { before: -1 }, { after: 1.5 }]) {
    const error = await owner.client.requestError("HISTORY", { channel: "history", ...body });
    assert.equal(error.code, "BAD_REQUEST", JSON.stringify(body));
  }
});

test("host - VIEW and AUTHORIZE are the owner's: NOT_SIGNED_IN, NOT_OWNER, NO_SUCH_CHANNEL", async () => {
  await testHost.host.host("owned");
  const anonymous = await client();
  for (const [command, body] of [
    ["VIEW", { channel: "owned", view: "private" }],
    ["AUTHORIZE", { channel: "owned", username: "bob", grant: true }],
  ] as const) {
    assert.equal((await anonymous.requestError(command, body)).code, "NOT_SIGNED_IN");
  }
  const member = await join(alice.ticket, "owned");
  const notOwner = await member.client.requestError("VIEW", { channel: "owned", view: "private" });
  assert.equal(notOwner.code, "NOT_OWNER");
  assert.equal(notOwner.status, "UNAUTHORIZED");
  const grant = await member.client.requestError("AUTHORIZE", {
    channel: "owned",
    username: "bob",
    grant: true,
  });
  assert.equal(grant.code, "NOT_OWNER");
  const owner = await join(testHost.owner.ticket, "owned");
  const missing = await owner.client.requestError("VIEW", { channel: "nowhere", view: "private" });
  assert.equal(missing.code, "NO_SUCH_CHANNEL");
});

test("host - VIEW changes settings, sends CHANNEL to members and reports them to the tracker", async () => {
  await testHost.host.host("settings");
  const owner = await join(testHost.owner.ticket, "settings");
  const member = await join(alice.ticket, "settings");
  const reply = await owner.client.request("VIEW", { channel: "settings", view: "public", moderated: true });
  assert.deepEqual(reply, { view: "public", moderated: true });
  assert.deepEqual((await member.client.nextEvent("CHANNEL")).body, {
    channel: "settings",
    view: "public",
    moderated: true,
  });
  assert.deepEqual(await owner.client.request("VIEW", { channel: "settings", view: "public" }), {
    view: "public",
    moderated: true,
  });
  const deadline = Date.now() + 10_000;
  let listed: { moderated?: boolean } | undefined;
  while (listed?.moderated !== true && Date.now() < deadline) {
    const list = await alice.client.request("LIST", {});
    listed = (list.channels as { name: string; moderated: boolean }[]).find(
      (channel) => channel.name === "settings",
    );
  }
  assert.equal(listed?.moderated, true);
  assert.equal(testHost.host.channels().find((channel) => channel.name === "settings")?.moderated, true);
});

test("host - AUTHORIZE grants and revokes offline users, refuses guests, and lists the authorized", async () => {
  await testHost.host.host("grants");
  const owner = await join(testHost.owner.ticket, "grants");
  const grant = (username: string, value: boolean) =>
    owner.client.request("AUTHORIZE", { channel: "grants", username, grant: value });
  assert.deepEqual(await grant("zed-offline", true), { authorized: ["zed-offline"] });
  assert.deepEqual(await grant("Bob", true), { authorized: ["Bob", "zed-offline"] });
  assert.deepEqual(await grant("bob", false), { authorized: ["zed-offline"] });
  assert.deepEqual(await grant("nobody", false), { authorized: ["zed-offline"] });
  const refused = await owner.client.requestError("AUTHORIZE", {
    channel: "grants",
    username: "guest-visitor",
    grant: true,
  });
  assert.equal(refused.code, "CANNOT_AUTHORIZE_GUEST");
  const badName = await owner.client.requestError("AUTHORIZE", {
    channel: "grants",
    username: "no spaces",
    grant: true,
  });
  assert.equal(badName.code, "BAD_REQUEST");
});

test("host - INVISIBLE needs a joined connection and a user", async () => {
  await testHost.host.host("hide");
  const anonymous = await client();
  assert.equal((await anonymous.requestError("INVISIBLE", { invisible: true })).code, "NOT_JOINED");
  const visitor = await join(guest.ticket, "hide");
  const refused = await visitor.client.requestError("INVISIBLE", { invisible: true });
  assert.equal(refused.code, "GUESTS_CANNOT_HIDE");
  assert.equal(refused.status, "UNAUTHORIZED");
  const hiddenGuest = await client();
  const error = await hiddenGuest.requestError("CONNECT", {
    channel: "hide",
    ticket: guest.ticket,
    invisible: true,
  });
  assert.equal(error.code, "GUESTS_CANNOT_HIDE");
  const member = await join(alice.ticket, "hide");
  assert.deepEqual(await member.client.request("INVISIBLE", { invisible: true }), { invisible: true });
});

test("host - RET_INFO shows members settings and latestSeq; the owner also sees invisible members, authorizations and stats", async () => {
  await testHost.host.host("info", { moderated: true });
  const owner = await join(testHost.owner.ticket, "info");
  await owner.client.request("AUTHORIZE", { channel: "info", username: "alice", grant: true });
  const member = await join(alice.ticket, "info");
  await join(bob.ticket, "info", { invisible: true });
  await member.client.request("MESSAGE", { channel: "info", msgId: "1", text: "hi" });
  assert.deepEqual(await member.client.request("RET_INFO", { channel: "info" }), {
    channel: "info",
    owner: "owner",
    view: "public",
    moderated: true,
    latestSeq: 1,
    members: [
      { username: "alice", role: "user" },
      { username: "owner", role: "user" },
    ],
  });
  const full = await owner.client.request("RET_INFO", { channel: "info" });
  assert.deepEqual(full.members, [
    { username: "alice", role: "user", invisible: false },
    { username: "bob", role: "user", invisible: true },
    { username: "owner", role: "user", invisible: false },
  ]);
  assert.deepEqual(full.authorized, ["alice"]);
  assert.equal(full.storedCount, 1);
  assert.equal(full.latestSeq, 1);
  assert.equal(typeof full.queuedBytes, "number");
  assert.equal(typeof full.uptimeS, "number");
});

test("host - unhost removes members with CHANNEL_CLOSED, forgets the channel and unlists it", async () => {
  await testHost.host.host("closing");
  const member = await join(alice.ticket, "closing");
  await testHost.host.unhost("closing");
  assert.deepEqual((await member.client.nextEvent("REMOVED")).body, {
    channel: "closing",
    code: "CHANNEL_CLOSED",
  });
  assert.equal(
    testHost.host.channels().some((channel) => channel.name === "closing"),
    false,
  );
  const again = await member.client.requestError("CONNECT", { channel: "closing", ticket: alice.ticket });
  assert.equal(again.code, "NO_SUCH_CHANNEL");
  const list = await alice.client.request("LIST", {});
  assert.equal(
    (list.channels as { name: string }[]).some((channel) => channel.name === "closing"),
    false,
  );
  const rehosted = await testHost.host.host("closing");
  assert.equal(rehosted.listed, true);
  const fresh = await member.client.request("CONNECT", { channel: "closing", ticket: alice.ticket });
  assert.equal(fresh.latestSeq, 0);
  const debug = testHost.host.debugInfo();
  assert.equal((debug.link as { state: string }).state, "connected");
});
