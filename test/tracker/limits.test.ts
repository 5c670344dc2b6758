import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FailureLimiter } from "../../src/tracker/limits.js";

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("tracker limits", () => {
  test("tracker - FailureLimiter allows `limit` failures per window, then says how long to wait", () => {
    const clock = fakeClock();
    const limiter = new FailureLimiter(3, 60_000, clock.now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.reserve("alice"), 0);
      limiter.fail("alice");
    }
    clock.advance(10_000);
    assert.equal(limiter.reserve("alice"), 50_000);
    assert.equal(limiter.reserve("bob"), 0, "other keys are independent");
    clock.advance(50_000);
    assert.equal(limiter.reserve("alice"), 0, "a new window starts");
  });

  test("tracker - FailureLimiter does not count released attempts", () => {
    const limiter = new FailureLimiter(2, 60_000, fakeClock().now);
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.reserve("key"), 0);
      limiter.release("key");
    }
  });

  test("tracker - FailureLimiter counts attempts still being checked against the limit", () => {
    const limiter = new FailureLimiter(2, 60_000, fakeClock().now);
    assert.equal(limiter.reserve("key"), 0);
    assert.equal(limiter.reserve("key"), 0);
    assert.ok(limiter.reserve("key") > 0);
    limiter.release("key");
    assert.equal(limiter.reserve("key"), 0);
  });

  test("tracker - FailureLimiter with limit 0 never limits", () => {
    const limiter = new FailureLimiter(0, 60_000, fakeClock().now);
    for (let i = 0; i < 100; i++) {
      assert.equal(limiter.reserve("key"), 0);
      limiter.fail("key");
    }
  });
});
