import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { HostOkBodies } from "../../src/protocol/host-schemas.js";
import { HostConnections, startTestHost, type TestHost } from "../helpers/host.js";
import { connectUser, type SignedInClient } from "../helpers/tracker.js";

/** So slow that no token comes back while a test runs: every refusal below is the burst's. */
const RATE = 0.01;
const CACHE_BURST = 10;

let testHost: TestHost;
let users: SignedInClient[];
const connections = new HostConnections(() => testHost.address);
const { join } = connections;

before(async () => {
  testHost = await startTestHost({
    limits: { sendRatePerSecond: RATE, sendBurst: 40, cacheBurst: CACHE_BURST },
  });
  await testHost.host.host("replay");
  users = await Promise.all(
    ["flooder", "replayer", "mixer"].map((name) => connectUser(testHost.tracker.address, name)),
  );
});

after(async () => {
  await connections.closeAll();
  await Promise.all(users.map((user) => user.client.close()));
  await testHost.close();
});

function user(index: number): SignedInClient {
  return users[index] as SignedInClient;
}

function batch(prefix: string, count: number): { msgId: string; text: string }[] {
  return Array.from({ length: count }, (_, index) => ({
    msgId: `${prefix}-${index}`,
    text: `${prefix} ${index}`,
  }));
}

async function latestSeq(): Promise<number> {
  const owner = await join(testHost.owner.ticket, "replay");
  const info = (await owner.client.request("RET_INFO", { channel: "replay" })) as HostOkBodies["RET_INFO"];
  return info.latestSeq;
}

test("cache rate - every CACHE entry takes a token: a flood of batches is refused beyond the burst with RATE_LIMITED", async () => {
  const flooder = await join(user(0).ticket, "replay");
  const before = await latestSeq();
  const first = (await flooder.client.request("CACHE", {
    channel: "replay",
    messages: batch("flood-a", 6),
  })) as HostOkBodies["CACHE"];
  assert.equal(first.results.length, 6);
  // 4 tokens left: a batch of 6 waits for the 2 missing, however few requests were made.
  const refused = await flooder.client.requestError("CACHE", {
    channel: "replay",
    messages: batch("flood-b", 6),
  });
  assert.equal(refused.code, "RATE_LIMITED");
  assert.equal(refused.status, "REQUEST_ERROR");
  const retryAfterMs = refused.details.retryAfterMs;
  assert.ok(typeof retryAfterMs === "number" && retryAfterMs >= 1000 / RATE, `retryAfterMs ${retryAfterMs}`);
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const again = await flooder.client.requestError("CACHE", {
      channel: "replay",
      messages: batch(`flood-${attempt}`, 500),
    });
    assert.equal(again.code, "RATE_LIMITED");
  }
  assert.equal(await latestSeq(), before + 6, "only the first batch was stored");
});

test("cache rate - a CACHE larger than cacheBurst stores its first cacheBurst entries, in order, and answers for those only", async () => {
  const replayer = await join(user(1).ticket, "replay");
  const messages = batch("outbox", 25);
  const reply = (await replayer.client.request("CACHE", {
    channel: "replay",
    messages,
  })) as HostOkBodies["CACHE"];
  assert.deepEqual(
    reply.results.map((result) => result.msgId),
    messages.slice(0, CACHE_BURST).map((message) => message.msgId),
  );
  const seqs = reply.results.map((result) => result.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, index) => (seqs[0] as number) + index),
  );
  const rest = await replayer.client.requestError("CACHE", {
    channel: "replay",
    messages: messages.slice(CACHE_BURST),
  });
  assert.equal(rest.code, "RATE_LIMITED");
  const history = (await replayer.client.request("HISTORY", {
    channel: "replay",
    after: (seqs[0] as number) - 1,
    limit: 50,
  })) as HostOkBodies["HISTORY"];
  assert.deepEqual(
    history.messages.map((message) => message.msgId),
    messages.slice(0, CACHE_BURST).map((message) => message.msgId),
  );
});

test("cache rate - MESSAGE and CACHE share one message allowance", async () => {
  const mixer = await join(user(2).ticket, "replay");
  for (let index = 0; index < CACHE_BURST - 2; index += 1) {
    await mixer.client.request("MESSAGE", { channel: "replay", msgId: `live-${index}`, text: "hi" });
  }
  const cache = await mixer.client.requestError("CACHE", { channel: "replay", messages: batch("mixed", 3) });
  assert.equal(cache.code, "RATE_LIMITED");
  const fits = (await mixer.client.request("CACHE", {
    channel: "replay",
    messages: batch("mixed", 2),
  })) as HostOkBodies["CACHE"];
  assert.equal(fits.results.length, 2);
  const message = await mixer.client.requestError("MESSAGE", {
    channel: "replay",
    msgId: "over",
    text: "hi",
  });
  assert.equal(message.code, "RATE_LIMITED");
});

test("cache rate - the owner is exempt", async () => {
  const owner = await join(testHost.owner.ticket, "replay");
  const reply = (await owner.client.request("CACHE", {
    channel: "replay",
    messages: batch("owner", 100),
  })) as HostOkBodies["CACHE"];
  assert.equal(reply.results.length, 100);
});
