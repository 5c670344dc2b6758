import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { OutboxEntry } from "../../src/api/index.js";
import { messageBytes } from "../../src/auth/canonical.js";
import { DeviceKey } from "../../src/auth/device-key.js";
import { verifySignature } from "../../src/auth/signatures.js";
import { CLIENT_MIGRATIONS, ClientStore } from "../../src/client/client-store.js";
import type { Author } from "../../src/client/outbox.js";
import {
  type FlushListener,
  type FlushTarget,
  OutboxFlusher,
  type OutboxFlusherOptions,
} from "../../src/client/outbox-flusher.js";
import { ConnectionError, type HychatError, wireError } from "../../src/protocol/errors.js";
import { silentLogger } from "../../src/util/logger.js";
import { WakeOnChange } from "../helpers/wake-on-change.js";

const CHANNEL = "room";
/** Who signs the entries; the fake host never reads the ticket. */
const AUTHOR: Author = { username: "alice", key: DeviceKey.generate(), ticket: "payload.signature" };

/** One message as it went out: what the author signed and the signature it carried. */
interface SentMessage {
  msgId: string;
  text: string;
  sentAt: string;
  sig: string;
  cert: string;
}

interface SentRequest {
  command: "MESSAGE" | "CACHE";
  msgIds: string[];
  messages: SentMessage[];
}

type Responder = (request: SentRequest) => Record<string, unknown> | Error;

/** A fake host: numbers what it stores, answers duplicates with the first seq, and fails on demand. */
class FakeHost {
  readonly requests: SentRequest[] = [];
  readonly stored = new Map<string, number>();
  online = true;
  rejoins = 0;
  /** The author `FlushTarget.author()` answers; undefined while signed out. */
  author: Author | undefined = AUTHOR;
  respond: Responder = (request) => this.store(request);

  store(request: SentRequest): Record<string, unknown> {
    const results = request.msgIds.map((msgId) => {
      const duplicate = this.stored.has(msgId);
      if (!duplicate) this.stored.set(msgId, this.stored.size + 1);
      return { msgId, seq: this.stored.get(msgId) as number, ts: new Date().toISOString(), duplicate };
    });
    if (request.command === "MESSAGE") {
      const { seq, ts, duplicate } = results[0] as (typeof results)[number];
      return { seq, ts, duplicate };
    }
    return { results };
  }

  /** The replies are shaped by the tests (some on purpose not as a host would); the link checks shapes, not the flusher. */
  target(): FlushTarget {
    return {
      channel: CHANNEL,
      isOnline: () => this.online,
      rejoin: () => {
        this.rejoins += 1;
      },
      author: () => this.author,
      request: (async (command: "MESSAGE" | "CACHE", body: object) => {
        const messages =
          command === "MESSAGE"
            ? [body as SentMessage]
            : ((body as { messages?: SentMessage[] }).messages ?? []);
        const request = { command, msgIds: messages.map((m) => m.msgId), messages };
        this.requests.push(request);
        const outcome = this.respond(request);
        if (outcome instanceof Error) throw outcome;
        return outcome;
      }) as FlushTarget["request"],
    };
  }
}

function setup(options: OutboxFlusherOptions = {}, store: ClientStore = ClientStore.open(":memory:")) {
  const host = new FakeHost();
  const delivered: [string, number][] = [];
  const dropped: [string[], string][] = [];
  let stalls = 0;
  const changes = new WakeOnChange(10_000);
  const wake = () => changes.wake();
  const listener: FlushListener = {
    delivered: (entry, seq) => {
      delivered.push([entry.text, seq]);
      wake();
    },
    dropped: (entries: OutboxEntry[], error: HychatError) => {
      dropped.push([entries.map((entry) => entry.text), error.code]);
      wake();
    },
    stalled: () => {
      stalls += 1;
      wake();
    },
  };
  const flusher = new OutboxFlusher(host.target(), store.outbox, listener, silentLogger, {
    backoff: { initialMs: 1, maxMs: 5, jitter: 0 },
    ...options,
  });
  /** Resolves once `check` holds, re-checking after every listener call; fails after a deadline. */
  const until = (check: () => boolean, timeoutMs?: number) => changes.until(check, timeoutMs);
  const add = (...texts: string[]) => texts.map((text) => store.outbox.add(CHANNEL, text, AUTHOR));
  const cleanup = () => {
    flusher.close();
    store.close();
  };
  return { store, host, flusher, delivered, dropped, stalls: () => stalls, until, add, cleanup };
}

/** True when `message` carries `author`'s signature over what it says, for CHANNEL. */
function signedBy(message: SentMessage, author: Author): boolean {
  const bytes = messageBytes({ channel: CHANNEL, from: author.username, ...message });
  return verifySignature(author.key.publicKey, bytes, message.sig);
}

describe("outbox flusher", () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());
  const dir = mkdtempSync(join(tmpdir(), "hychat-outbox-flusher-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("client - every entry goes out with the signature and certificate it was written with", async () => {
    const t = setup();
    cleanup = t.cleanup;
    const written = t.add("solo");
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    written.push(...t.add("a", "b"));
    t.flusher.flush();
    await t.until(() => t.delivered.length === 3);
    const sent = t.host.requests.flatMap((request) => request.messages);
    assert.deepEqual(
      sent.map((message) => [message.msgId, message.sentAt, message.sig, message.cert]),
      written.map((entry) => [entry.msgId, entry.sentAt, entry.sig, AUTHOR.ticket]),
    );
    assert.ok(sent.every((message) => signedBy(message, AUTHOR)));
  });

  test("client - an entry written before messages were signed is signed when delivered, with its own sentAt", async () => {
    const file = join(dir, "legacy.db");
    const db = new Database(file);
    db.exec(CLIENT_MIGRATIONS[0] as string);
    db.pragma("user_version = 1");
    db.prepare("INSERT INTO outbox (channel, msg_id, text, sent_at) VALUES (?, ?, ?, ?)").run(
      CHANNEL,
      "legacy-1",
      "from an older release",
      "2026-11-25T09:30:00.123Z",
    );
    db.close();
    const t = setup({}, ClientStore.open(file));
    cleanup = t.cleanup;
    assert.deepEqual(
      t.store.outbox.entries().map((entry) => [entry.sig, entry.cert]),
      [[null, null]],
    );
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    const [sent] = t.host.requests.flatMap((request) => request.messages);
    assert.ok(sent !== undefined);
    assert.deepEqual(
      [sent.msgId, sent.text, sent.sentAt, sent.cert],
      ["legacy-1", "from an older release", "2026-11-25T09:30:00.123Z", AUTHOR.ticket],
    );
    assert.ok(signedBy(sent, AUTHOR));
  });

  test("client - nothing is sent while no one is signed in to sign, and the entries wait", async () => {
    const t = setup();
    cleanup = t.cleanup;
    t.add("later");
    t.host.author = undefined;
    t.flusher.flush();
    await t.until(() => t.stalls() === 1);
    assert.equal(t.host.requests.length, 0);
    assert.equal(t.store.outbox.count(CHANNEL), 1);
    t.host.author = AUTHOR;
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    assert.deepEqual(t.delivered, [["later", 1]]);
  });

  test("client - one entry goes as MESSAGE, a backlog as CACHE chunks, in order", async () => {
    const t = setup({ maxBatch: 2 });
    cleanup = t.cleanup;
    t.add("solo");
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    t.add("a", "b", "c", "d", "e");
    t.flusher.flush();
    await t.until(() => t.delivered.length === 6);
    assert.deepEqual(
      t.host.requests.map((request) => [request.command, request.msgIds.length]),
      [
        ["MESSAGE", 1],
        ["CACHE", 2],
        ["CACHE", 2],
        ["MESSAGE", 1],
      ],
    );
    assert.deepEqual(t.delivered, [
      ["solo", 1],
      ["a", 2],
      ["b", 3],
      ["c", 4],
      ["d", 5],
      ["e", 6],
    ]);
    assert.equal(t.store.outbox.count(CHANNEL), 0);
  });

  test("client - a CACHE batch stays under the byte cap", async () => {
    // Each entry counts its id, text, time, signature and certificate: about 380 bytes for a
    // 200-character text, 190 for a 10-character one. So x and y cannot share a batch, y and z can.
    const t = setup({ maxBatchBytes: 600 });
    cleanup = t.cleanup;
    t.add("x".repeat(200), "y".repeat(200), "z".repeat(10));
    t.flusher.flush();
    await t.until(() => t.delivered.length === 3);
    assert.deepEqual(
      t.host.requests.map((request) => request.msgIds.length),
      [1, 2],
    );
  });

  test("client - a refusal for good drops the batch, reports it once and goes on", async () => {
    const t = setup();
    cleanup = t.cleanup;
    const [first] = t.add("refused 1", "refused 2");
    t.host.respond = (request) =>
      request.msgIds.includes(first?.msgId as string)
        ? wireError("NOT_AUTHORIZED", "moderated")
        : t.host.store(request);
    t.flusher.flush();
    await t.until(() => t.dropped.length === 1);
    t.add("later");
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    assert.deepEqual(t.dropped, [[["refused 1", "refused 2"], "NOT_AUTHORIZED"]]);
    assert.deepEqual(t.delivered, [["later", 1]]);
    assert.equal(t.store.outbox.count(CHANNEL), 0);
  });

  test("client - a batch refused for one bad entry is retried one by one, dropping only that entry", async () => {
    const t = setup();
    cleanup = t.cleanup;
    const [, bad] = t.add("ok 1", "too long", "ok 2");
    t.host.respond = (request) =>
      request.msgIds.includes(bad?.msgId as string)
        ? wireError("TEXT_TOO_LONG", "too long")
        : t.host.store(request);
    t.flusher.flush();
    await t.until(() => t.delivered.length === 2 && t.dropped.length === 1);
    assert.deepEqual(t.delivered, [
      ["ok 1", 1],
      ["ok 2", 2],
    ]);
    assert.deepEqual(t.dropped, [[["too long"], "TEXT_TOO_LONG"]]);
    assert.deepEqual(
      t.host.requests.map((request) => request.command),
      ["CACHE", "MESSAGE", "MESSAGE", "MESSAGE"],
    );
  });

  test("client - RATE_LIMITED keeps the entries and retries after retryAfterMs", async () => {
    const t = setup();
    cleanup = t.cleanup;
    t.add("patient");
    let refusals = 0;
    t.host.respond = (request) => {
      if (refusals < 2) {
        refusals += 1;
        return wireError("RATE_LIMITED", "slow down", { retryAfterMs: 5 });
      }
      return t.host.store(request);
    };
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    assert.equal(refusals, 2);
    assert.equal(t.stalls(), 2);
    assert.deepEqual(t.dropped, []);
  });

  test("client - a lost reply leads to a resend that the host does not store twice", async () => {
    const t = setup();
    cleanup = t.cleanup;
    t.add("once");
    let lost = false;
    t.host.respond = (request) => {
      const reply = t.host.store(request);
      if (lost) return reply;
      lost = true;
      return new ConnectionError("TIMEOUT", "MESSAGE got no response");
    };
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
    assert.equal(t.host.requests.length, 2);
    assert.equal(t.host.stored.size, 1);
    assert.deepEqual(t.delivered, [["once", 1]]);
  });

  test("client - nothing is sent while offline; NOT_JOINED asks for a rejoin and keeps the entries", async () => {
    const t = setup();
    cleanup = t.cleanup;
    t.add("waiting");
    t.host.online = false;
    t.flusher.flush();
    await t.until(() => t.stalls() === 1);
    assert.equal(t.host.requests.length, 0);
    t.host.online = true;
    t.host.respond = () => wireError("NOT_JOINED", "not joined");
    t.flusher.flush();
    await t.until(() => t.stalls() === 2);
    assert.equal(t.host.rejoins, 1);
    assert.equal(t.store.outbox.count(CHANNEL), 1);
    t.host.respond = (request) => t.host.store(request);
    t.flusher.flush();
    await t.until(() => t.delivered.length === 1);
  });
});
