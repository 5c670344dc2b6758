import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pino } from "pino";
import { proofBytes } from "../../src/auth/canonical.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { CHALLENGE_PATTERN } from "../../src/protocol/names.js";
import { TrackerServer } from "../../src/tracker/server.js";
import { SqliteTrackerStore, TRACKER_DB_FILE } from "../../src/tracker/sqlite-store.js";
import { silentLogger } from "../../src/util/logger.js";
import { TestClient } from "../helpers/client.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectUser, startTestTracker, TEST_FINGERPRINT, TEST_PASSWORD_HASH } from "../helpers/tracker.js";

describe("tracker connections", () => {
  test("tracker - a line over maxFrameBytes gets FRAME_TOO_LARGE before its newline, then the close", async () => {
    const tracker = await startTestTracker({ maxFrameBytes: 1024 });
    const raw = await RawSocket.connect(tracker.address);
    try {
      await raw.send(`{"type":"request","id":"big","command":"PING","body":{"pad":"${"x".repeat(2000)}`);
      const [frame] = await raw.waitForFrames(1);
      assert.equal(frame?.status, "REQUEST_ERROR");
      assert.equal((frame?.body as { code?: string } | undefined)?.code, "FRAME_TOO_LARGE");
      await raw.waitForClose();
      const client = await TestClient.connect(tracker.address);
      await client.request("PING");
      await client.close();
    } finally {
      await raw.destroy();
      await tracker.close();
    }
  });

  test("tracker - lines that are not frames get BAD_FRAME and the connection stays open", async () => {
    const tracker = await startTestTracker();
    const raw = await RawSocket.connect(tracker.address);
    try {
      await raw.send(
        [
          "not json",
          "[1,2,3]",
          '{"type":"request","id":"with-id","command":"PING"}',
          '{"type":"request","id":"","command":"PING","body":{}}',
          `{"type":"request","id":"${"i".repeat(65)}","command":"PING","body":{}}`,
          "",
          '{"type":"request","id":"ok","command":"PING","body":{}}\r',
          "",
        ].join("\n"),
      );
      const frames = await raw.waitForFrames(6);
      const codes = frames.map((frame) => [frame.id, (frame.body as { code?: string }).code ?? frame.status]);
      assert.deepEqual(codes, [
        [null, "BAD_FRAME"],
        [null, "BAD_FRAME"],
        ["with-id", "BAD_FRAME"],
        [null, "BAD_FRAME"],
        [null, "BAD_FRAME"],
        ["ok", "OK"],
      ]);
    } finally {
      await raw.destroy();
      await tracker.close();
    }
  });

  test("tracker - a connection that never signs in is closed once idle; a signed-in one is not", async () => {
    const tracker = await startTestTracker({ unauthenticatedIdleMs: 300 });
    const user = await connectUser(tracker.address, "stays");
    try {
      const idle = await RawSocket.connect(tracker.address);
      await idle.waitForClose();
      // The signed-in connection has been quiet at least as long, and still answers.
      await user.client.request("PING");
      assert.equal(user.client.connection.closed, false);
    } finally {
      await user.client.close();
      await tracker.close();
    }
  });

  test("tracker - PING alone does not keep a connection that never signs in open", async () => {
    const tracker = await startTestTracker({ unauthenticatedIdleMs: 300 });
    const raw = await RawSocket.connect(tracker.address);
    try {
      // A PING every 50 ms, for at most 2 s, well past the 300 ms idle limit.
      let closed = false;
      for (let sent = 0; sent < 40 && !closed; sent += 1) {
        await raw.request(`p${sent}`, "PING", {}).catch(() => undefined);
        closed = await raw.waitForClose(50).then(
          () => true,
          () => false,
        );
      }
      assert.equal(closed, true, "a connection sending only PINGs stayed open");
    } finally {
      await raw.destroy();
      await tracker.close();
    }
  });

  test("tracker - HELLO answers the version and kind; another version gets UNSUPPORTED_VERSION and the close", async () => {
    const tracker = await startTestTracker();
    const raw = await RawSocket.connect(tracker.address);
    const other = await RawSocket.connect(tracker.address);
    try {
      await raw.request("h1", "HELLO", { version: PROTOCOL_VERSION });
      const { challenge, ...hello } = (await raw.response("h1")).body as { challenge: string };
      assert.deepEqual(hello, { version: PROTOCOL_VERSION, server: "tracker" });
      assert.match(challenge, CHALLENGE_PATTERN);
      // Each connection has its own challenge, the same for every HELLO on it.
      await raw.request("h1b", "HELLO", { version: PROTOCOL_VERSION });
      assert.equal(((await raw.response("h1b")).body as { challenge: string }).challenge, challenge);
      const third = await TestClient.connect(tracker.address);
      assert.notEqual(await third.challenge(), challenge);
      await third.close();
      await other.request("h2", "HELLO", { version: PROTOCOL_VERSION - 1 });
      const refused = await other.response("h2");
      assert.equal(refused.status, "REQUEST_ERROR");
      const body = refused.body as { code: string; supported: number[]; message: string };
      assert.equal(body.code, "UNSUPPORTED_VERSION");
      assert.deepEqual(body.supported, [PROTOCOL_VERSION]);
      assert.match(body.message, new RegExp(`version ${PROTOCOL_VERSION}, not ${PROTOCOL_VERSION - 1}`));
      await other.waitForClose();
    } finally {
      await raw.destroy();
      await other.destroy();
      await tracker.close();
    }
  });

  test("tracker - a connection that stops answering its PINGs is closed, and its channels go offline", async () => {
    const tracker = await startTestTracker({ heartbeatIntervalMs: 40 });
    const owner = await connectUser(tracker.address, "sleepy");
    const watcher = await connectUser(tracker.address, "awake");
    const raw = await RawSocket.connect(tracker.address);
    try {
      await owner.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "nap", port: 4000 });
      await raw.request("h1", "HELLO", { version: PROTOCOL_VERSION });
      const { challenge } = (await raw.response("h1")).body as { challenge: string };
      const proof = owner.key.sign(
        proofBytes({ purpose: "RESUME", fingerprint: tracker.tracker.fingerprint, challenge }),
      );
      await raw.request("r1", "RESUME", { ticket: owner.ticket, proof });
      assert.equal((await raw.response("r1")).status, "OK");
      await raw.request("r2", "HOST", { fingerprint: TEST_FINGERPRINT, channel: "nap2", port: 4001 });
      await raw.response("r2");
      // `raw` reads but never answers: the tracker's PINGs go unanswered.
      await raw.next(
        (frame) => frame.type === "request" && (frame as { command?: string }).command === "PING",
      );
      await raw.waitForClose();
      const offline = await watcher.client.nextEvent(
        "CHANNELS",
        (body) => body.channel === "nap2" && body.online === false,
      );
      assert.equal(offline.body.address, null);
      // The owner's own connection answers the PINGs (a side without requests of its own still does) and stays.
      assert.equal(owner.client.connection.closed, false);
    } finally {
      await raw.destroy();
      await owner.client.close();
      await watcher.client.close();
      await tracker.close();
    }
  });

  test("tracker - connections over maxConnections get TOO_MANY_CONNECTIONS and are closed", async () => {
    const tracker = await startTestTracker({ maxConnections: 2 });
    const first = await TestClient.connect(tracker.address);
    const second = await TestClient.connect(tracker.address);
    try {
      await first.request("PING");
      await second.request("PING");
      const third = await RawSocket.connect(tracker.address);
      const [frame] = await third.waitForFrames(1);
      assert.equal(frame?.status, "SERVER_ERROR");
      assert.equal((frame?.body as { code?: string } | undefined)?.code, "TOO_MANY_CONNECTIONS");
      await third.waitForClose();
      await first.close();
      // A freed slot is usable again (the tracker may see the close a moment later).
      const deadline = Date.now() + 10_000;
      let answered = false;
      while (!answered && Date.now() < deadline) {
        const next = await TestClient.connect(tracker.address);
        answered = await next.request("PING").then(
          () => true,
          () => false,
        );
        await next.close();
      }
      assert.ok(answered);
    } finally {
      await Promise.all([first.close(), second.close()]);
      await tracker.close();
    }
  });

  test("tracker - close ends every connection and is idempotent", async () => {
    const tracker = await startTestTracker();
    const client = await TestClient.connect(tracker.address);
    const raw = await RawSocket.connect(tracker.address);
    await client.request("PING");
    await Promise.all([tracker.close(), tracker.close()]);
    await client.closed;
    await raw.waitForClose();
    await tracker.close();
  });

  test("tracker - close lets a SIGNUP being hashed finish before closing the store", async () => {
    const logged: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => logged.push(line) });
    const dataDir = mkdtempSync(join(tmpdir(), "hychat-tracker-"));
    try {
      const tracker = await startTestTracker({ dataDir, logger, passwordHash: { logN: 14, r: 8, p: 1 } });
      const client = await TestClient.connect(tracker.address);
      const signup = client
        .request("SIGNUP", { username: "slow", password: "password123" })
        .catch(() => undefined);
      await client.request("PING");
      await tracker.close();
      await signup;
      await client.closed;
      const store = new SqliteTrackerStore(join(dataDir, TRACKER_DB_FILE));
      try {
        assert.equal(store.findAccount("slow")?.username, "slow");
      } finally {
        store.close();
      }
      assert.deepEqual(logged, []);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("tracker - start fails when the port is taken", async () => {
    const tracker = await startTestTracker();
    try {
      await assert.rejects(
        TrackerServer.start({
          dataDir: tracker.dataDir,
          port: tracker.address.port,
          passwordHash: TEST_PASSWORD_HASH,
          logger: silentLogger,
        }),
        /EADDRINUSE/,
      );
    } finally {
      await tracker.close();
    }
  });
});
