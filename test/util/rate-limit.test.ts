import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyedTokenBuckets, TokenBucket } from "../../src/util/rate-limit.js";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

test("util - TokenBucket allows a burst of its capacity, then says how long to wait", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(2, 3, clock.now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
  assert.equal(bucket.take(), 500);
  clock.advance(499);
  // 1 ms left; rounded up, so a retry after the answer never comes too early.
  const wait = bucket.take();
  assert.ok(wait >= 1 && wait <= 2, `waited ${wait}`);
  clock.advance(1);
  assert.equal(bucket.take(), 0);
  assert.equal(bucket.take(), 500);
});

test("util - TokenBucket refills at its rate and never above its capacity", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(10, 5, clock.now);
  for (let n = 0; n < 5; n += 1) assert.equal(bucket.take(), 0);
  assert.ok(bucket.take() > 0);
  clock.advance(60_000);
  let allowed = 0;
  while (bucket.take() === 0 && allowed < 100) allowed += 1;
  assert.equal(allowed, 5);
});

test("util - TokenBucket refusals do not use up tokens", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(1, 1, clock.now);
  assert.equal(bucket.take(), 0);
  for (let n = 0; n < 10; n += 1) assert.ok(bucket.take() > 0);
  clock.advance(1000);
  assert.equal(bucket.take(), 0);
});

test("util - TokenBucket with rate 0 never limits and is always idle", () => {
  const bucket = new TokenBucket(0, 0, () => 0);
  for (let n = 0; n < 1000; n += 1) assert.equal(bucket.take(), 0);
  assert.equal(bucket.idle, true);
});

test("util - TokenBucket is idle once it has refilled completely", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(4, 2, clock.now);
  assert.equal(bucket.idle, true);
  bucket.take();
  bucket.take();
  assert.equal(bucket.idle, false);
  clock.advance(250);
  assert.equal(bucket.idle, false);
  clock.advance(250);
  assert.equal(bucket.idle, true);
});

test("util - KeyedTokenBuckets limits each key on its own and refills", () => {
  const clock = manualClock();
  const buckets = new KeyedTokenBuckets(2, 2, clock.now);
  assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.take("a"), 500);
  assert.equal(buckets.take("b"), 0);
  clock.advance(500);
  assert.equal(buckets.take("a"), 0);
});

test("util - KeyedTokenBuckets with rate 0 never limits", () => {
  const buckets = new KeyedTokenBuckets(0, 0, manualClock().now);
  for (let n = 0; n < 100; n += 1) assert.equal(buckets.take("a"), 0);
  assert.equal(buckets.size, 0);
});

test("util - KeyedTokenBuckets forgets full buckets once many keys are tracked", () => {
  const clock = manualClock();
  const buckets = new KeyedTokenBuckets(1, 1, clock.now);
  for (let n = 0; n < 10_000; n += 1) buckets.take(`old-${n}`);
  assert.equal(buckets.size, 10_000);
  clock.advance(1_000);
  assert.equal(buckets.take("new"), 0);
  assert.equal(buckets.size, 1);
});
