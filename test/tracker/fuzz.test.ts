import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { DeviceKey } from "../../src/auth/device-key.js";
import { trackerBodySchemas } from "../../src/protocol/tracker-schemas.js";
import { TestClient } from "../helpers/client.js";
import {
  encodeLine,
  inputLine,
  oddValues,
  sendAndCheckResponses,
  shortName,
} from "../helpers/fuzz-frames.js";
import { startTestTracker, type TestTracker } from "../helpers/tracker.js";

const RUNS = 5;
const FUZZ_KEY = DeviceKey.generate().publicKey;
const FRAMES_PER_RUN = 2_000;

/** Bodies that get past validation now and then, so the handlers themselves are exercised. */
const plausibleBody = fc.oneof(
  fc.record({
    username: fc.oneof(shortName, fc.constant("guest-x")),
    password: fc.string({ maxLength: 12 }),
  }),
  fc.record({ username: shortName }, { requiredKeys: [] }),
  fc.record({ ticket: fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constant("a.b")) }),
  // Well-formed keys and proofs that prove nothing: the proof checks themselves are exercised.
  fc.record(
    {
      username: fc.oneof(shortName, fc.constant("guest-x")),
      password: fc.string({ maxLength: 12 }),
      device: fc.oneof(shortName, fc.constant("d".repeat(64))),
      publicKey: fc.oneof(fc.constant(FUZZ_KEY), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)),
      proof: fc.stringMatching(/^[A-Za-z0-9_-]{86}$/),
      ticket: fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constant("a.b")),
    },
    { requiredKeys: ["proof"] },
  ),
  fc.record(
    {
      channel: shortName,
      host: fc.constantFrom("127.0.0.1", "0.0.0.0", "::", "example.org", "bad host", "-x-"),
      port: fc.integer({ min: -5, max: 70_000 }),
      view: fc.constantFrom("public", "private", "secret"),
      moderated: fc.boolean(),
      count: fc.integer({ min: -3, max: 1_000_000 }),
    },
    { requiredKeys: ["channel"] },
  ),
  fc.record({ invisible: fc.oneof(fc.boolean(), oddValues) }),
  fc.constant({}),
);

const line = inputLine({
  commands: Object.keys(trackerBodySchemas),
  otherCommands: ["CONNECT", "MESSAGE", "list", "PING ", "__proto__", "x".repeat(64)],
  fieldNames: [
    "username",
    "password",
    "ticket",
    "channel",
    "host",
    "port",
    "view",
    "moderated",
    "count",
    "invisible",
    "device",
    "publicKey",
    "proof",
    "__proto__",
    "constructor",
  ],
  plausibleBody,
});

let tracker: TestTracker;
const errorsLogged: string[] = [];

before(async () => {
  const logger = pino({ level: "error" }, { write: (entry: string) => errorsLogged.push(entry) });
  tracker = await startTestTracker({ logger });
});
after(async () => {
  await tracker.close();
});

test("tracker - 10,000 random frames each get exactly the answers the protocol promises", async () => {
  let run = 0;
  let framesSent = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(line, { minLength: FRAMES_PER_RUN, maxLength: FRAMES_PER_RUN + 200 }),
      fc.integer({ min: 1, max: 16_384 }),
      async (values, chunkSize) => {
        run += 1;
        const lines = values.map((value, index) => encodeLine(value, `fz-${run}-${index}`));
        await sendAndCheckResponses(tracker.address, lines, [chunkSize]);
        framesSent += values.length;
      },
    ),
    { numRuns: RUNS, endOnFailure: true },
  );
  assert.ok(framesSent >= 10_000, `sent ${framesSent} frames`);
  const fresh = await TestClient.connect(tracker.address);
  try {
    assert.equal(typeof (await fresh.request("PING")).time, "string");
  } finally {
    await fresh.close();
  }
  assert.deepEqual(errorsLogged, []);
});
