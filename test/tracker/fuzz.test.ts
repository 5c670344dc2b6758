import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { parseFrame } from "../../src/protocol/frames.js";
import { trackerBodySchemas } from "../../src/protocol/tracker-schemas.js";
import { TestClient } from "../helpers/client.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { startTestTracker, type TestTracker } from "../helpers/tracker.js";

const RUNS = 5;
const FRAMES_PER_RUN = 2_000;

/** A request frame's id is filled in when the batch is sent, so every request has its own. */
const ASSIGN_ID = Symbol("assign id");

const oddValues = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    null,
    true,
    false,
    -1,
    0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    2 ** 64,
    "",
    "0.0.0.0",
    "::",
  ),
  fc.string({ minLength: 300, maxLength: 2_000 }),
);
const fieldNames = fc.constantFrom(
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
  "__proto__",
  "constructor",
);
const shortName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/);

/** Bodies that get past validation now and then, so the handlers themselves are exercised. */
const plausibleBody = fc.oneof(
  fc.record({
    username: fc.oneof(shortName, fc.constant("guest-x")),
    password: fc.string({ maxLength: 12 }),
  }),
  fc.record({ username: shortName }, { requiredKeys: [] }),
  fc.record({ ticket: fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constant("a.b")) }),
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

const body = fc.oneof(
  { weight: 4, arbitrary: plausibleBody },
  { weight: 1, arbitrary: fc.dictionary(fieldNames, oddValues, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.object() },
);
const commandName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...Object.keys(trackerBodySchemas)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("CONNECT", "MESSAGE", "list", "PING ", "__proto__", "x".repeat(64)),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 70 }) },
);

const requestFrame = fc.record({
  type: fc.constant("request"),
  id: fc.constant(ASSIGN_ID),
  command: commandName,
  body,
});
const brokenFrame = fc.record(
  {
    type: fc.oneof(fc.constantFrom("request", "response", "event", "REQUEST"), oddValues),
    id: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ minLength: 65, maxLength: 1_000 }), oddValues),
    command: fc.oneof(commandName, oddValues),
    event: fc.oneof(fc.string({ maxLength: 10 }), oddValues),
    status: fc.oneof(fc.constantFrom("OK", "REQUEST_ERROR", "SERVER_ERROR", "UNAUTHORIZED"), oddValues),
    body: fc.oneof(body, oddValues),
  },
  { requiredKeys: [] },
);

/** One line of input, as the bytes sent (never containing a newline). */
const line = fc.oneof(
  { weight: 6, arbitrary: requestFrame },
  { weight: 3, arbitrary: brokenFrame },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

function encodeLine(value: unknown, id: string): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(value)) bytes = Buffer.from(value);
  else if (typeof value === "string") bytes = Buffer.from(value, "utf8");
  else {
    const frame = value as Record<string, unknown>;
    bytes = Buffer.from(JSON.stringify(frame.id === ASSIGN_ID ? { ...frame, id } : frame), "utf8");
  }
  // Newlines would split one generated line into several.
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x20;
  return bytes;
}

/** How many responses each id should get for this line: the oracle is the protocol's own parser. */
function expectedResponseId(bytes: Buffer): string | null | undefined {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
  if (end === 0) return undefined;
  const parsed = parseFrame(bytes.toString("utf8", 0, end));
  if (!parsed.ok) return parsed.id;
  return parsed.frame.type === "request" ? parsed.frame.id : undefined;
}

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
        const expected = new Map<string | null, number>();
        const lines = values.map((value, index) => {
          const bytes = encodeLine(value, `fz-${run}-${index}`);
          const id = expectedResponseId(bytes);
          if (id !== undefined) expected.set(id, (expected.get(id) ?? 0) + 1);
          return bytes;
        });
        const total = [...expected.values()].reduce((sum, count) => sum + count, 0);
        const data = Buffer.concat(lines.flatMap((bytes) => [bytes, Buffer.from("\n")]));
        const raw = await RawSocket.connect(tracker.address);
        try {
          for (let offset = 0; offset < data.length; offset += chunkSize) {
            await raw.send(data.subarray(offset, offset + chunkSize));
          }
          framesSent += values.length;
          const responses = () => raw.frames.filter((frame) => frame.type === "response");
          await raw.waitFor(() => responses().length >= total, 120_000);
          // Anything extra would already be here: ask once more and wait for that answer.
          await raw.send('{"type":"request","id":"fz-last","command":"PING","body":{}}\n');
          await raw.waitFor(() => responses().some((frame) => frame.id === "fz-last"), 30_000);
          const got = new Map<string | null, number>();
          for (const frame of responses()) {
            if (frame.id === "fz-last") continue;
            const id = frame.id as string | null;
            got.set(id, (got.get(id) ?? 0) + 1);
            assert.notEqual((frame.body as { code?: string }).code, "INTERNAL_ERROR", JSON.stringify(frame));
          }
          assert.deepEqual(got, expected);
        } finally {
          await raw.destroy();
        }
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
