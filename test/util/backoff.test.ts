import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { backoffDelay, DEFAULT_BACKOFF, RetryLoop } from "../../src/util/backoff.js";

test("util - backoffDelay grows by its factor up to the cap, without jitter", () => {
  const options = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 100, 10_000].map((attempt) => backoffDelay(attempt, options)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000],
  );
});

test("util - backoffDelay stays between (1 - jitter) x base and base", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 1_000 }),
      fc.integer({ min: 1, max: 5_000 }),
      fc.integer({ min: 0, max: 60_000 }),
      fc.double({ min: 1, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, initialMs, extraMs, factor, jitter, draw) => {
        const maxMs = initialMs + extraMs;
        const base = Math.min(maxMs, initialMs * factor ** Math.min(attempt, 30));
        const delay = backoffDelay(attempt, { initialMs, maxMs, factor, jitter, random: () => draw });
        assert.ok(Number.isInteger(delay));
        assert.ok(delay >= Math.floor(base * (1 - jitter)), `${delay} < ${base * (1 - jitter)}`);
        assert.ok(delay <= Math.ceil(base), `${delay} > ${base}`);
        assert.ok(delay <= maxMs);
      },
    ),
    { numRuns: 500 },
  );
});

test("util - backoffDelay jitter spreads delays over its range", () => {
  const low = backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0 });
  const high = backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0.999999 });
  assert.equal(low, 400);
  assert.equal(high, 800);
  const seen = new Set<number>();
  for (let n = 0; n < 200; n += 1) seen.add(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.5 }));
  assert.ok(seen.size > 20, "Math.random is used by default");
  for (const delay of seen) assert.ok(delay >= 400 && delay <= 800);
});

test("util - backoffDelay defaults are 250 ms doubling to 10 s with 30% jitter", () => {
  assert.deepEqual(DEFAULT_BACKOFF, { initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0.3 });
  assert.equal(backoffDelay(0, { random: () => 0 }), 175);
  assert.equal(backoffDelay(20, { random: () => 1 }), 10_000);
});

/** A RetryLoop attempt that fails `failures` times and then succeeds, announcing each call. */
function flakyAttempt(failures: number): {
  attempt: () => Promise<void>;
  calls: () => number;
  done: Promise<void>;
} {
  let calls = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    attempt: async () => {
      calls += 1;
      if (calls <= failures) throw new Error(`failure ${calls}`);
      finish();
    },
    calls: () => calls,
    done,
  };
}

test("util - RetryLoop retries with backoff until the attempt succeeds, then goes quiet", async () => {
  const flaky = flakyAttempt(3);
  const errors: [string, number][] = [];
  const loop = new RetryLoop(flaky.attempt, {
    initialMs: 1,
    maxMs: 4,
    jitter: 0,
    onError: (error, delayMs) => errors.push([(error as Error).message, delayMs]),
  });
  loop.start();
  assert.equal(loop.active, true);
  await flaky.done;
  assert.equal(flaky.calls(), 4);
  assert.deepEqual(errors, [
    ["failure 1", 1],
    ["failure 2", 2],
    ["failure 3", 4],
  ]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(loop.active, false);
});

test("util - RetryLoop runs one loop at a time", async () => {
  const flaky = flakyAttempt(2);
  const loop = new RetryLoop(flaky.attempt, { initialMs: 1, jitter: 0 });
  loop.start();
  loop.start();
  loop.start();
  await flaky.done;
  assert.equal(flaky.calls(), 3);
});

test("util - RetryLoop stop() while waiting clears its timer and no attempt runs again", async () => {
  let calls = 0;
  let failed: () => void = () => {};
  const firstFailure = new Promise<void>((resolve) => {
    failed = resolve;
  });
  const loop = new RetryLoop(
    async () => {
      calls += 1;
      throw new Error("down");
    },
    { initialMs: 60_000, jitter: 0, onError: () => failed() },
  );
  loop.start();
  await firstFailure;
  assert.equal(loop.active, true, "waiting for the next try");
  loop.stop();
  assert.equal(loop.active, false);
  loop.start();
  assert.equal(loop.active, false, "a stopped loop does not start again");
  assert.equal(calls, 1);
  // A 60 s timer left behind would keep this test file's process alive: the runner would hang here.
});

test("util - RetryLoop stop() during an attempt keeps it from retrying", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  const errors: unknown[] = [];
  const loop = new RetryLoop(
    async () => {
      calls += 1;
      await gate;
      throw new Error("failed after stop");
    },
    { initialMs: 1, onError: (error) => errors.push(error) },
  );
  loop.start();
  assert.equal(loop.active, true);
  loop.stop();
  release();
  await gate;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 1);
  assert.deepEqual(errors, []);
  assert.equal(loop.active, false);
});

test("util - RetryLoop can be started again after a success", async () => {
  const first = flakyAttempt(0);
  let current = first;
  const loop = new RetryLoop(() => current.attempt(), { initialMs: 1 });
  loop.start();
  await first.done;
  await new Promise((resolve) => setImmediate(resolve));
  const second = flakyAttempt(1);
  current = second;
  loop.start();
  await second.done;
  assert.equal(second.calls(), 2);
});
