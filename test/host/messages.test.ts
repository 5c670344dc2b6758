import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { signMessage } from "../../src/auth/message-signature.js";
import type { HostOkBodies } from "../../src/protocol/host-schemas.js";
import type { TestClient } from "../helpers/client.js";
import { connectMember, startTestHost, type TestHost } from "../helpers/host.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectUser, type SignedInClient, startTestTracker, type TestTracker } from "../helpers/tracker.js";

let tracker: TestTracker;
let users: SignedInClient[];
const opened: TestClient[] = [];
const hosts: TestHost[] = [];

before(async () => {
  tracker = await startTestTracker();
  users = await Promise.all(
    ["alice", "bob", "carol", "dave", "erin"].map((name) => connectUser(tracker.address, name)),
  );
});

after(async () => {
  await Promise.all(opened.map((client) => client.close()));
  await Promise.all(hosts.map((host) => host.close()));
  await Promise.all(users.map((user) => user.client.close()));
  await tracker.close();
});

async function host(limits: Parameters<typeof startTestHost>[0] = {}): Promise<TestHost> {
  const started = await startTestHost({ tracker, ...limits });
  hosts.push(started);
  return started;
}

async function join(testHost: TestHost, ticket: string, channel: string) {
  const member = await connectMember(testHost.address, ticket, channel);
  opened.push(member.client);
  return member;
}

function user(index: number): SignedInClient {
  return users[index] as SignedInClient;
}

test("messages - concurrent senders get every seq once, with no gaps, and every member sees them in order", async () => {
  const testHost = await host({ owner: "seq-owner", limits: { sendRatePerSecond: 0 } });
  await testHost.host.host("busy");
  const senders = await Promise.all(users.map((entry) => join(testHost, entry.ticket, "busy")));
  const perSender = 80;
  const replies = await Promise.all(
    senders.map((sender, senderIndex) =>
      Promise.all(
        Array.from(
          { length: perSender },
          (_, index) =>
            sender.client.request("MESSAGE", {
              channel: "busy",
              msgId: `${senderIndex}-${index}`,
              text: `message ${index}`,
            }) as Promise<unknown> as Promise<HostOkBodies["MESSAGE"]>,
        ),
      ),
    ),
  );
  const total = senders.length * perSender;
  const allSeqs = replies.flat().map((reply) => reply.seq);
  assert.deepEqual(
    [...allSeqs].sort((a, b) => a - b),
    Array.from({ length: total }, (_, index) => index + 1),
  );
  for (const senderReplies of replies) {
    const own = senderReplies.map((reply) => reply.seq);
    assert.deepEqual(
      own,
      [...own].sort((a, b) => a - b),
      "one connection's messages keep their order",
    );
  }
  for (const member of senders) {
    const received: number[] = [];
    while (received.length < total)
      received.push((await member.client.nextEvent("MESSAGE")).body.seq as number);
    assert.deepEqual(
      received,
      Array.from({ length: total }, (_, index) => index + 1),
    );
  }
});

test("messages - a repeated msgId returns the original seq with duplicate:true and is not broadcast again", async () => {
  const testHost = await host({ owner: "dup-owner", limits: { sendRatePerSecond: 0 } });
  await testHost.host.host("dups");
  const sender = await join(testHost, user(0).ticket, "dups");
  const watcher = await join(testHost, user(1).ticket, "dups");
  const body = { channel: "dups", msgId: "once", text: "hello" };
  const [first, concurrent] = await Promise.all([
    sender.client.request("MESSAGE", body),
    sender.client.request("MESSAGE", body),
  ]);
  const later = await sender.client.request("MESSAGE", { ...body, text: "changed text" });
  assert.deepEqual(first, { seq: 1, ts: first?.ts, duplicate: false });
  assert.deepEqual(concurrent, { seq: 1, ts: first?.ts, duplicate: true });
  assert.deepEqual(later, { seq: 1, ts: first?.ts, duplicate: true });
  const otherSender = await watcher.client.request("MESSAGE", { ...body, text: "same id, other user" });
  assert.deepEqual(otherSender.seq, 2, "idempotency is per sender");
  const events = [await watcher.client.nextEvent("MESSAGE"), await watcher.client.nextEvent("MESSAGE")];
  assert.deepEqual(
    events.map((frame) => [frame.body.seq, frame.body.text]),
    [
      [1, "hello"],
      [2, "same id, other user"],
    ],
  );
  assert.equal(watcher.client.events.filter((frame) => frame.event === "MESSAGE").length, 0);
  const history = await watcher.client.request("HISTORY", { channel: "dups" });
  assert.equal((history.messages as unknown[]).length, 2);
});

test("messages - on the sender's connection the OK comes before the MESSAGE event", async () => {
  const testHost = await host({ owner: "order-owner", limits: { sendRatePerSecond: 0 } });
  await testHost.host.host("order");
  const raw = await RawSocket.connect(testHost.address);
  try {
    const sender = user(0);
    await raw.request("c", "CONNECT", {
      channel: "order",
      ticket: sender.ticket,
      proof: await raw.proof(sender.key, "CONNECT", "order"),
    });
    assert.equal((await raw.response("c")).status, "OK");
    for (let index = 0; index < 20; index += 1) {
      const message = { msgId: `m${index}`, text: `text ${index}`, sentAt: new Date().toISOString() };
      await raw.request(`m${index}`, "MESSAGE", {
        channel: "order",
        ...message,
        sig: signMessage(sender.key, { channel: "order", from: sender.username, ...message }),
        cert: sender.ticket,
      });
    }
    await raw.next((frame) => frame.type === "event" && (frame.body as { msgId?: string }).msgId === "m19");
    for (let index = 0; index < 20; index += 1) {
      const ok = raw.frames.findIndex((frame) => frame.type === "response" && frame.id === `m${index}`);
      const event = raw.frames.findIndex(
        (frame) => frame.type === "event" && (frame.body as { msgId?: string }).msgId === `m${index}`,
      );
      assert.ok(ok !== -1 && ok < event, `OK of m${index} (${ok}) precedes its event (${event})`);
    }
  } finally {
    await raw.destroy();
  }
});

test("messages - sending is rate limited per user with retryAfterMs; the owner is exempt", async () => {
  const testHost = await host({ owner: "rate-owner", limits: { sendRatePerSecond: 0.5, sendBurst: 3 } });
  await testHost.host.host("limited");
  const sender = await join(testHost, user(0).ticket, "limited");
  for (let index = 0; index < 3; index += 1) {
    await sender.client.request("MESSAGE", { channel: "limited", msgId: `ok-${index}`, text: "hi" });
  }
  const limited = await sender.client.requestError("MESSAGE", {
    channel: "limited",
    msgId: "over",
    text: "hi",
  });
  assert.equal(limited.code, "RATE_LIMITED");
  assert.equal(limited.status, "REQUEST_ERROR");
  assert.ok(typeof limited.details.retryAfterMs === "number" && limited.details.retryAfterMs > 0);
  const cache = await sender.client.requestError("CACHE", {
    channel: "limited",
    messages: [{ msgId: "c", text: "hi" }],
  });
  assert.equal(cache.code, "RATE_LIMITED");
  const other = await join(testHost, user(1).ticket, "limited");
  await other.client.request("MESSAGE", { channel: "limited", msgId: "own-bucket", text: "hi" });
  const owner = await join(testHost, testHost.owner.ticket, "limited");
  for (let index = 0; index < 20; index += 1) {
    await owner.client.request("MESSAGE", { channel: "limited", msgId: `owner-${index}`, text: "hi" });
  }
});
