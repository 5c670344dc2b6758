import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { OutboxEntry } from "../../src/api/index.js";
import { ClientStore } from "../../src/client/client-store.js";
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

interface SentRequest {
  command: "MESSAGE" | "CACHE";
  msgIds: string[];
}

type Responder = (request: SentRequest) => Record<string, unknown> | Error;

/** A fake host: numbers what it stores, answers duplicates with the first seq, and fails on demand. */
class FakeHost {
  readonly requests: SentRequest[] = [];
  readonly stored = new Map<string, number>();
  online = true;
  rejoins = 0;
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
      request: (async (command: "MESSAGE" | "CACHE", body: object) => {
        const record = body as { msgId?: string; messages?: { msgId: string }[] };
        const msgIds =
          command === "MESSAGE" ? [record.msgId as string] : (record.messages ?? []).map((m) => m.msgId);
        const request = { command, msgIds };
        this.requests.push(request);
        const outcome = this.respond(request);
        if (outcome instanceof Error) throw outcome;
        return outcome;
      }) as FlushTarget["request"],
    };
  }
}

function setup(options: OutboxFlusherOptions = {}) {
  const store = ClientStore.open(":memory:");
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
  const add = (...texts: string[]) => texts.map((text) => store.outbox.add(CHANNEL, text));
  const cleanup = () => {
    flusher.close();
    store.close();
  };
  return { store, host, flusher, delivered, dropped, stalls: () => stalls, until, add, cleanup };
}

describe("outbox flusher", () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

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
    const t = setup({ maxBatchBytes: 400 });
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
