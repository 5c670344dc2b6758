import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Connection } from "../../src/protocol/connection.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { connectMember, startTestHost, type TestHost } from "../helpers/host.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectGuest, connectUser, type SignedInClient } from "../helpers/tracker.js";
import { until } from "../protocol/socket-pair.js";

type Frame = Record<string, unknown>;

const BUDGET = 64 * 1024;
const PER_ADDRESS = 16;
let testHost: TestHost;
let alice: SignedInClient;

before(async () => {
  testHost = await startTestHost({
    limits: {
      partialLineBudgetBytes: BUDGET,
      maxConnectionsPerAddress: PER_ADDRESS,
    },
  });
  alice = await connectUser(testHost.tracker.address, "alice");
  await testHost.host.host("guarded");
});

after(async () => {
  await alice.client.close();
  await testHost.close();
});

function codeOf(frame: Frame | undefined): unknown {
  return (frame?.body as { code?: unknown } | undefined)?.code;
}

function messageOf(frame: Frame | undefined): string {
  return String((frame?.body as { message?: unknown } | undefined)?.message);
}

function unfinishedLine(bytes: number): string {
  const head = '{"type":"request","id":"drip","command":"PING","body":{"pad":"';
  return head + "x".repeat(bytes - head.length);
}

function serverStats(): { partialLineBytes: number; connections: number } {
  return testHost.host.debugInfo().server as { partialLineBytes: number; connections: number };
}

/** Raw connections that have each been answered once, so the host counts them. */
async function openAnswered(count: number): Promise<RawSocket[]> {
  const sockets: RawSocket[] = [];
  for (let index = 0; index < count; index += 1) {
    const raw = await RawSocket.connect(testHost.address);
    sockets.push(raw);
    await raw.request("p", "PING", {});
    await raw.response("p");
  }
  return sockets;
}

test("host - a line past 16 KiB before CONNECT gets FRAME_TOO_LARGE; a joined user may send more", async () => {
  const raw = await RawSocket.connect(testHost.address);
  const member = await connectMember(testHost.address, alice.ticket, "guarded");
  try {
    raw.send(unfinishedLine(20 * 1024)).catch(() => {});
    assert.equal(codeOf(await raw.response(null)), "FRAME_TOO_LARGE");
    await raw.waitForClose();
    const answer = await member.client.request("PING", { pad: "y".repeat(100 * 1024) });
    assert.equal(typeof answer.time, "string");
  } finally {
    await raw.destroy();
    await member.client.close();
  }
});

test("host - many connections each holding an unfinished line stay under the line budget", async () => {
  const sockets: RawSocket[] = [];
  try {
    for (let index = 0; index < 12; index += 1) {
      const raw = await RawSocket.connect(testHost.address);
      sockets.push(raw);
      raw.send(unfinishedLine(15 * 1024 - index)).catch(() => {});
    }
    const tooLarge = (raw: RawSocket) => raw.frames.some((frame) => codeOf(frame) === "FRAME_TOO_LARGE");
    const deadline = Date.now() + 20_000;
    while (sockets.filter(tooLarge).length < 12 - 4 && Date.now() < deadline) {
      const waiting = sockets.filter((raw) => !tooLarge(raw));
      await Promise.race(waiting.map((raw) => raw.waitForFrames(1, 1_000).catch(() => undefined)));
    }
    assert.ok(sockets.filter(tooLarge).length >= 12 - 4, "too few connections were told FRAME_TOO_LARGE");
    assert.ok(serverStats().partialLineBytes <= BUDGET, `${serverStats().partialLineBytes} bytes held`);
  } finally {
    await Promise.all(sockets.map((raw) => raw.destroy()));
  }
});

test("host - a connection that keeps sending but never CONNECTs is closed with AUTH_TIMEOUT", async () => {
  const quick = await startTestHost({
    tracker: testHost.tracker,
    owner: "quick-owner",
    limits: { unauthenticatedIdleMs: 300 },
  });
  const raw = await RawSocket.connect(quick.address);
  try {
    let closed = false;
    // A HELLO, then a PING every 50 ms, for at most 10 s.
    await raw.request("h", "HELLO", { version: PROTOCOL_VERSION });
    for (let sent = 0; sent < 200 && !closed; sent += 1) {
      await raw.request(`p${sent}`, "PING", {}).catch(() => undefined);
      closed = await raw.waitForClose(50).then(
        () => true,
        () => false,
      );
    }
    assert.equal(closed, true);
    const timedOut = raw.frames.find((frame) => codeOf(frame) === "AUTH_TIMEOUT");
    assert.deepEqual([timedOut?.id, timedOut?.status], [null, "REQUEST_ERROR"]);
  } finally {
    await raw.destroy();
    await quick.close();
  }
});

test("host - connections without a user's CONNECT beyond maxConnectionsPerAddress get TOO_MANY_CONNECTIONS; the owner's own link is exempt", async () => {
  // Connections of the tests before may still be closing on the host's side.
  await until(() => serverStats().connections === 0, "the earlier connections to close");
  const reader = await connectGuest(testHost.tracker.address, "reader");
  const guest = await connectMember(testHost.address, reader.ticket, "guarded");
  const member = await connectMember(testHost.address, alice.ticket, "guarded");
  // The guest counts and the user does not: PER_ADDRESS - 1 anonymous connections fill the cap.
  const sockets = await openAnswered(PER_ADDRESS - 1);
  const local = new Connection(testHost.host.openLocalLink(), {});
  try {
    const over = await RawSocket.connect(testHost.address);
    sockets.push(over);
    const [refused] = await over.waitForFrames(1);
    assert.deepEqual([refused?.id, codeOf(refused)], [null, "TOO_MANY_CONNECTIONS"]);
    assert.match(messageOf(refused), /from one address/);
    await over.waitForClose();
    assert.equal(typeof (await local.request("PING", {})).time, "string");
  } finally {
    local.destroy();
    await Promise.all(sockets.map((raw) => raw.destroy()));
    await guest.client.close();
    await reader.client.close();
    await member.client.close();
  }
});

test("host - a joined member whose socket stops answering PING is dropped by the host's heartbeat", async () => {
  const beating = await startTestHost({
    tracker: testHost.tracker,
    owner: "beat-owner",
    limits: { heartbeatIntervalMs: 40 },
  });
  await beating.host.host("beat");
  const watcher = await connectMember(beating.address, alice.ticket, "beat");
  const bob = await connectUser(testHost.tracker.address, "bob");
  const raw = await RawSocket.connect(beating.address);
  try {
    const proof = await raw.proof(bob.key, "CONNECT", "beat");
    await raw.request("c", "CONNECT", { channel: "beat", ticket: bob.ticket, proof });
    assert.equal((await raw.response("c")).status, "OK");
    await watcher.client.nextEvent("PRESENCE", (body) => body.username === "bob" && body.status === "online");
    // `raw` reads but never answers: with heartbeatIntervalMs 40 the host asks, then gives up.
    await raw.next((frame) => frame.type === "request" && frame.command === "PING", 10_000);
    await raw.waitForClose(10_000);
    await watcher.client.nextEvent(
      "PRESENCE",
      (body) => body.username === "bob" && body.status === "offline",
    );
  } finally {
    await raw.destroy();
    await bob.client.close();
    await watcher.client.close();
    await beating.close();
  }
});
