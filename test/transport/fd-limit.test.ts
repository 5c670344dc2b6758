import assert from "node:assert/strict";
import { test } from "node:test";
import { fitToOpenFileLimit, parseOpenFileLimit } from "../../src/transport/fd-limit.js";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test("transport - the soft open-file limit is read from /proc/self/limits text", () => {
  assert.equal(parseOpenFileLimit(LIMITS), 1024);
  assert.equal(parseOpenFileLimit(LIMITS.replace("1024 ", "unlimited ")), undefined);
  assert.equal(parseOpenFileLimit("nothing here"), undefined);
});

test("transport - a connection cap that does not fit under the open-file limit is lowered, with room to spare", () => {
  // 20,000 + 1,000 sockets under 1,024 descriptors: the cap is met long before accept fails.
  const fitted = fitToOpenFileLimit(20_000, 1_000, 1024);
  assert.equal(fitted.lowered, true);
  assert.ok(fitted.maxConnections + fitted.handshakeSlack <= 1024 - 128);
  assert.ok(fitted.maxConnections > 500 && fitted.handshakeSlack >= 1);
  assert.deepEqual(fitToOpenFileLimit(10_000, 256, 1_048_576), {
    maxConnections: 10_000,
    handshakeSlack: 256,
    lowered: false,
  });
  assert.deepEqual(fitToOpenFileLimit(10_000, 256, undefined), {
    maxConnections: 10_000,
    handshakeSlack: 256,
    lowered: false,
  });
});
