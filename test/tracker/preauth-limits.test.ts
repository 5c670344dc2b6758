import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { DeviceKey } from "../../src/auth/device-key.js";
import { readOpenFileLimit } from "../../src/transport/fd-limit.js";
import { TestClient } from "../helpers/client.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectGuest, connectUser, startTestTracker } from "../helpers/tracker.js";

type Frame = Record<string, unknown>;

function codeOf(frame: Frame | undefined): unknown {
  return (frame?.body as { code?: unknown } | undefined)?.code;
}

function messageOf(frame: Frame | undefined): string {
  return String((frame?.body as { message?: unknown } | undefined)?.message);
}

/** A request line left unfinished: `bytes` long, no newline. */
function unfinishedLine(bytes: number): string {
  const head = '{"type":"request","id":"drip","command":"PING","body":{"pad":"';
  return head + "x".repeat(bytes - head.length);
}

/** Whether the server closed `raw` within `ms` (a bounded wait, not a measurement). */
function closedWithin(raw: RawSocket, ms: number): Promise<boolean> {
  return raw.waitForClose(ms).then(
    () => true,
    () => false,
  );
}

describe("tracker limits before sign-in", () => {
  test("tracker - a line past 16 KiB before sign-in gets FRAME_TOO_LARGE; a signed-in user may send up to maxFrameBytes", async () => {
    const tracker = await startTestTracker();
    const raw = await RawSocket.connect(tracker.address);
    const user = await connectUser(tracker.address, "roomy");
    try {
      // 20 KiB is far below the 1 MiB maxFrameBytes, and over the cap before sign-in.
      raw.send(unfinishedLine(20 * 1024)).catch(() => {});
      const refused = await raw.response(null);
      assert.equal(codeOf(refused), "FRAME_TOO_LARGE");
      assert.match(messageOf(refused), /16384 bytes/);
      await raw.waitForClose();
      const answer = await user.client.request("PING", { pad: "y".repeat(200 * 1024) });
      assert.equal(typeof answer.time, "string");
    } finally {
      await raw.destroy();
      await user.client.close();
      await tracker.close();
    }
  });

  test("tracker - many connections each holding an unfinished line stay under the line budget", async () => {
    const budget = 64 * 1024;
    const tracker = await startTestTracker({ partialLineBudgetBytes: budget });
    const sockets: RawSocket[] = [];
    try {
      // 12 connections of 15 KiB each would hold 180 KiB: past the budget, the largest holders go.
      for (let index = 0; index < 12; index += 1) {
        const raw = await RawSocket.connect(tracker.address);
        sockets.push(raw);
        raw.send(unfinishedLine(15 * 1024 - index)).catch(() => {});
      }
      const tooLarge = (raw: RawSocket) => raw.frames.some((frame) => codeOf(frame) === "FRAME_TOO_LARGE");
      const evicted = () => sockets.filter(tooLarge);
      const deadline = Date.now() + 20_000;
      while (evicted().length < 12 - 4 && Date.now() < deadline) {
        const waiting = sockets.filter((raw) => !tooLarge(raw));
        await Promise.race(waiting.map((raw) => raw.waitForFrames(1, 1_000).catch(() => undefined)));
      }
      assert.ok(evicted().length >= 12 - 4, `only ${evicted().length} connections were told FRAME_TOO_LARGE`);
      for (const raw of evicted()) {
        const refused = raw.frames.find((frame) => codeOf(frame) === "FRAME_TOO_LARGE");
        assert.equal(refused?.id, null);
        assert.match(messageOf(refused), /budget/);
        await raw.waitForClose();
      }
      const held = tracker.tracker.partialLines();
      assert.ok(held.bytes <= budget, `${held.bytes} bytes held`);
      assert.ok(held.connections <= 4);
      // A new client still gets in and is answered.
      const client = await TestClient.connect(tracker.address);
      await client.request("PING");
      await client.close();
    } finally {
      await Promise.all(sockets.map((raw) => raw.destroy()));
      await tracker.close();
    }
  });

  test("tracker - a connection that keeps sending but never signs in is closed at authDeadlineMs with AUTH_TIMEOUT", async () => {
    // The idle limit stays at its 60 s: only the deadline can close a busy connection this soon.
    const tracker = await startTestTracker({ authDeadlineMs: 300 });
    const user = await connectUser(tracker.address, "settled");
    const raw = await RawSocket.connect(tracker.address);
    try {
      await raw.request("k", "KEY", {});
      await raw.response("k");
      let closed = false;
      // Then a line that never ends, one byte every 50 ms, for at most 10 s.
      for (let sent = 0; sent < 200 && !closed; sent += 1) {
        await raw.send(sent === 0 ? "{" : "x").catch(() => undefined);
        closed = await closedWithin(raw, 50);
      }
      assert.equal(closed, true, "a busy connection that never signed in stayed open");
      const timedOut = raw.frames.find((frame) => codeOf(frame) === "AUTH_TIMEOUT");
      assert.equal(timedOut?.id, null);
      assert.equal(timedOut?.status, "REQUEST_ERROR");
      // The user's connection is older than the deadline and stays.
      await user.client.request("PING");
    } finally {
      await raw.destroy();
      await user.client.close();
      await tracker.close();
    }
  });

  test("tracker - connections not signed in as a user beyond maxConnectionsPerAddress get TOO_MANY_CONNECTIONS", async () => {
    const tracker = await startTestTracker({ maxConnectionsPerAddress: 3 });
    const sockets: RawSocket[] = [];
    const user = await connectUser(tracker.address, "counted-out");
    const guest = await connectGuest(tracker.address, "counted-in");
    try {
      // The guest counts, the user does not: two anonymous connections fill the cap of 3.
      for (let index = 0; index < 2; index += 1) {
        const raw = await RawSocket.connect(tracker.address);
        sockets.push(raw);
        await raw.request("p", "PING", {});
        await raw.response("p");
      }
      const over = await RawSocket.connect(tracker.address);
      sockets.push(over);
      const [refused] = await over.waitForFrames(1);
      assert.deepEqual(
        [refused?.id, refused?.status, codeOf(refused)],
        [null, "SERVER_ERROR", "TOO_MANY_CONNECTIONS"],
      );
      assert.match(messageOf(refused), /from one address/);
      await over.waitForClose();
      // A user's connection, too, is anonymous until it signs in: it waits for a free slot.
      const again = await connectUser(tracker.address, "counted-out").catch((error: Error) => error);
      assert.ok(again instanceof Error, "a fourth connection not signed in was let in");
      await sockets[0]?.destroy();
      const freed = Date.now() + 10_000;
      let second: Awaited<ReturnType<typeof connectUser>> | undefined;
      while (second === undefined && Date.now() < freed) {
        second = await connectUser(tracker.address, "counted-out").catch(() => undefined);
      }
      assert.ok(second !== undefined, "a freed slot was not usable again");
      // Signed in, it no longer counts: another anonymous connection fits.
      const fits = await RawSocket.connect(tracker.address);
      sockets.push(fits);
      await fits.request("p", "PING", {});
      assert.equal((await fits.response("p")).status, "OK");
      await second.client.close();
    } finally {
      await Promise.all(sockets.map((raw) => raw.destroy()));
      await user.client.close();
      await guest.client.close();
      await tracker.close();
    }
  });

  test("tracker - a guest that sends nothing but PING for guestIdleMs is closed with IDLE_TIMEOUT; a user is not", async () => {
    const tracker = await startTestTracker({ guestIdleMs: 300 });
    const user = await connectUser(tracker.address, "not-a-guest");
    const raw = await RawSocket.connect(tracker.address);
    try {
      const key = DeviceKey.generate();
      await raw.request("g", "GUEST", { publicKey: key.publicKey, proof: await raw.proof(key, "GUEST") });
      assert.equal((await raw.response("g")).status, "OK");
      let closed = false;
      for (let sent = 0; sent < 200 && !closed; sent += 1) {
        await raw.request(`p${sent}`, "PING", {}).catch(() => undefined);
        closed = await closedWithin(raw, 50);
      }
      assert.equal(closed, true, "an idle guest stayed open");
      const idle = raw.frames.find((frame) => codeOf(frame) === "IDLE_TIMEOUT");
      assert.equal(idle?.id, null);
      assert.match(messageOf(idle), /guest/);
      await user.client.request("PING");
    } finally {
      await raw.destroy();
      await user.client.close();
      await tracker.close();
    }
  });

  test("tracker - maxConnections is lowered at start to fit under the open-file limit, with a warning", async (t) => {
    const limit = readOpenFileLimit();
    if (limit === undefined) {
      t.skip("no readable open-file limit here");
      return;
    }
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
    const tracker = await startTestTracker({ maxConnections: limit * 10, logger });
    try {
      assert.ok(tracker.tracker.maxConnections < limit, `${tracker.tracker.maxConnections} >= ${limit}`);
      assert.ok(warnings.some((line) => line.includes("open-file limit")));
    } finally {
      await tracker.close();
    }
  });
});
