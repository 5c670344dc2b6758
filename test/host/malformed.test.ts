import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connectMember, startTestHost, type TestHost } from "../helpers/host.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectUser, type SignedInClient } from "../helpers/tracker.js";

const MAX_FRAME_BYTES = 64 * 1024;
let testHost: TestHost;
let alice: SignedInClient;

before(async () => {
  testHost = await startTestHost({
    limits: { maxFrameBytes: MAX_FRAME_BYTES, unauthenticatedIdleMs: 500, maxConnections: 12 },
  });
  alice = await connectUser(testHost.tracker.address, "alice");
  await testHost.host.host("sturdy");
});

after(async () => {
  await alice.client.close();
  await testHost.close();
});

function errorCode(frame: Record<string, unknown>): unknown {
  return (frame.body as { code?: unknown }).code;
}

/** The host still serves: a member joins, sends and receives its own message. */
async function stillServes(msgId: string): Promise<void> {
  const member = await connectMember(testHost.address, alice.ticket, "sturdy");
  try {
    await member.client.request("MESSAGE", { channel: "sturdy", msgId, text: "still here" });
    await member.client.nextEvent("MESSAGE", (body) => body.msgId === msgId);
  } finally {
    await member.client.close();
  }
}

test("malformed - bad frames get BAD_FRAME and the connection stays open", async () => {
  const raw = await RawSocket.connect(testHost.address);
  try {
    await raw.send("this is not json\n");
    const notJson = await raw.response(null);
    assert.deepEqual([notJson.status, errorCode(notJson)], ["REQUEST_ERROR", "BAD_FRAME"]);
    await raw.send("[1,2,3]\n");
    assert.equal(errorCode(await raw.response(null)), "BAD_FRAME");
    await raw.send(`${JSON.stringify({ type: "request", id: "no-body", command: "PING" })}\n`);
    assert.equal(errorCode(await raw.response("no-body")), "BAD_FRAME");
    await raw.send(`${JSON.stringify({ type: "request", id: "x".repeat(65), command: "PING", body: {} })}\n`);
    assert.equal(errorCode(await raw.response(null)), "BAD_FRAME");
    await raw.send(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a]));
    assert.equal(errorCode(await raw.response(null)), "BAD_FRAME");
    await raw.send("\n\r\n");
    await raw.request("alive", "PING", {});
    assert.equal((await raw.response("alive")).status, "OK");
  } finally {
    await raw.destroy();
  }
});

test("malformed - unknown commands get UNKNOWN_COMMAND, bad bodies BAD_REQUEST naming the field", async () => {
  const raw = await RawSocket.connect(testHost.address);
  try {
    await raw.request("u", "LIST", {});
    assert.equal(errorCode(await raw.response("u")), "UNKNOWN_COMMAND");
    await raw.request("b1", "CONNECT", { channel: "no spaces allowed", ticket: alice.ticket });
    const badChannel = await raw.response("b1");
    assert.equal(errorCode(badChannel), "BAD_REQUEST");
    assert.match((badChannel.body as { message: string }).message, /channel/);
    await raw.request("b2", "CONNECT", { channel: "sturdy" });
    assert.match(((await raw.response("b2")).body as { message: string }).message, /ticket/);
    await raw.request("b3", "HISTORY", { channel: "sturdy", limit: "ten" });
    assert.equal(errorCode(await raw.response("b3")), "BAD_REQUEST");
    await raw.request("b4", "INVISIBLE", {});
    assert.equal(errorCode(await raw.response("b4")), "BAD_REQUEST");
    await raw.request("ok", "PING", {});
    assert.equal((await raw.response("ok")).status, "OK");
  } finally {
    await raw.destroy();
  }
});

test("malformed - an oversized frame gets FRAME_TOO_LARGE before its newline and is closed; others go on", async () => {
  const raw = await RawSocket.connect(testHost.address);
  // The host may close before it has read all of the line, so the write itself may fail: only the answer counts.
  raw
    .send(`{"type":"request","id":"big","command":"PING","body":{"pad":"${"x".repeat(MAX_FRAME_BYTES)}`)
    .catch(() => {});
  assert.equal(errorCode(await raw.response(null)), "FRAME_TOO_LARGE");
  await raw.closed;
  await stillServes("after-oversize");
});

test("malformed - a half frame and an abrupt close do not disturb the host", async () => {
  const raw = await RawSocket.connect(testHost.address);
  await raw.request("c", "CONNECT", { channel: "sturdy", ticket: alice.ticket });
  await raw.response("c");
  await raw.send('{"type":"request","id":"half","comm');
  await raw.destroy();
  await stillServes("after-half");
});

test("malformed - connections that never CONNECT are closed after unauthenticatedIdleMs; joined ones stay", async () => {
  const joined = await connectMember(testHost.address, alice.ticket, "sturdy");
  try {
    const raw = await RawSocket.connect(testHost.address);
    await raw.request("p", "PING", {});
    await raw.response("p");
    await raw.closed;
    // The joined connection is older than the one just closed for idling, and still answers.
    assert.equal(typeof (await joined.client.request("PING", {})).time, "string");
  } finally {
    await joined.client.close();
  }
});

test("malformed - connections beyond maxConnections get TOO_MANY_CONNECTIONS and are closed", async () => {
  const sockets: RawSocket[] = [];
  try {
    let refused: RawSocket | undefined;
    for (let index = 0; index < 20 && refused === undefined; index += 1) {
      const raw = await RawSocket.connect(testHost.address);
      sockets.push(raw);
      await raw.request("p", "PING", {});
      const answer = await raw.next((frame) => frame.type === "response");
      if (answer.id === null) {
        assert.equal(errorCode(answer), "TOO_MANY_CONNECTIONS");
        assert.equal(answer.status, "SERVER_ERROR");
        refused = raw;
      }
    }
    assert.ok(refused !== undefined, "a connection was refused");
    await refused.closed;
  } finally {
    await Promise.all(sockets.map((raw) => raw.destroy()));
  }
  await stillServes("after-flood");
});
