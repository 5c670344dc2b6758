import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { STATUSES } from "../../src/protocol/codes.js";
import {
  encodeEvent,
  encodeRequest,
  encodeResponse,
  frameSchema,
  parseFrame,
} from "../../src/protocol/frames.js";

function refused(line: string): { id: string | null; reason: string } {
  const parsed = parseFrame(line);
  assert.equal(parsed.ok, false, `expected ${line} to be refused`);
  if (parsed.ok) throw new Error("unreachable");
  assert.ok(parsed.reason.length > 0);
  return { id: parsed.id, reason: parsed.reason };
}

test("protocol - parseFrame refuses lines that are not JSON", () => {
  for (const line of ["hello", "{", '{"type":"request"', "{'a':1}", "\u0000"]) {
    assert.deepEqual(refused(line).id, null);
  }
});

test("protocol - parseFrame refuses JSON that is not an object", () => {
  for (const line of ["1", '"text"', "null", "true", "[]", '[{"type":"request","id":"a"}]']) {
    const { id, reason } = refused(line);
    assert.equal(id, null);
    assert.match(reason, /not a JSON object/);
  }
});

test("protocol - parseFrame refuses a missing or non-object body and copies the id", () => {
  for (const body of ["", ',"body":null', ',"body":[]', ',"body":"x"', ',"body":3']) {
    const { id, reason } = refused(`{"type":"request","id":"req-1","command":"PING"${body}}`);
    assert.equal(id, "req-1");
    assert.match(reason, /body/);
  }
});

test("protocol - parseFrame refuses ids that are not 1..64-character strings", () => {
  for (const id of ['""', JSON.stringify("x".repeat(65)), "7", "null", '{"a":1}', '["a"]']) {
    const result = refused(`{"type":"request","id":${id},"command":"PING","body":{}}`);
    assert.equal(result.id, null, `id ${id} must not be copied`);
    assert.match(result.reason, /id/);
  }
  assert.equal(refused('{"type":"request","command":"PING","body":{}}').id, null);
});

test("protocol - parseFrame refuses unknown types, bad statuses and bad command names, keeping a readable id", () => {
  assert.equal(refused('{"type":"query","id":"q","body":{}}').id, "q");
  assert.equal(refused('{"id":"q","body":{}}').id, "q");
  assert.equal(refused('{"type":"response","id":"r","status":"MAYBE","body":{}}').id, "r");
  assert.equal(refused('{"type":"request","id":"c","command":"","body":{}}').id, "c");
  assert.equal(refused(`{"type":"request","id":"c","command":"${"X".repeat(65)}","body":{}}`).id, "c");
  assert.equal(refused('{"type":"event","body":{}}').id, null);
  assert.equal(refused(`{"type":"request","id":"${"i".repeat(64)}","body":{}}`).id, "i".repeat(64));
});

test("protocol - parseFrame accepts a response whose id is null (the answer to an unreadable frame)", () => {
  const parsed = parseFrame(
    encodeResponse(null, "REQUEST_ERROR", { code: "BAD_FRAME", message: "bad" }).trim(),
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.frame.type, "response");
  if (parsed.frame.type === "response") assert.equal(parsed.frame.id, null);
});

const body = fc.dictionary(fc.string({ unit: "binary", maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 5,
});
const id = fc.string({ minLength: 1, maxLength: 64 });
const name = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 64 });

/** JSON round trip: what the other side sees (drops -0 and undefined the way JSON does). */
function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

test("protocol - encoded frames are one line ending in LF and parse back to the same frame", () => {
  fc.assert(
    fc.property(id, name, body, fc.constantFrom(...STATUSES), (frameId, command, frameBody, status) => {
      const request = encodeRequest(frameId, command, frameBody);
      const response = encodeResponse(frameId, status, frameBody);
      const event = encodeEvent(command, frameBody);
      for (const line of [request, response, event]) {
        assert.ok(line.endsWith("\n"));
        assert.equal(line.indexOf("\n"), line.length - 1);
      }
      assert.deepEqual(parseFrame(request.slice(0, -1)), {
        ok: true,
        frame: { type: "request", id: frameId, command, body: viaJson(frameBody) },
      });
      assert.deepEqual(parseFrame(response.slice(0, -1)), {
        ok: true,
        frame: { type: "response", id: frameId, status, body: viaJson(frameBody) },
      });
      assert.deepEqual(parseFrame(event.slice(0, -1)), {
        ok: true,
        frame: { type: "event", event: command, body: viaJson(frameBody) },
      });
    }),
    { numRuns: 200 },
  );
});

test("protocol - parseFrame never throws on arbitrary input", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), (line) => {
      const parsed = parseFrame(line);
      if (!parsed.ok) assert.ok(parsed.id === null || (parsed.id.length >= 1 && parsed.id.length <= 64));
    }),
    { numRuns: 300 },
  );
});

test("protocol - parseFrame accepts exactly what frameSchema accepts, with the same frame", () => {
  const name = fc.oneof(fc.string({ minLength: 0, maxLength: 70 }), fc.constant(null), fc.integer());
  const candidate = fc.record(
    {
      type: fc.oneof(fc.constantFrom("request", "response", "event", "other"), fc.integer()),
      id: name,
      command: name,
      event: name,
      status: fc.oneof(
        fc.constantFrom("OK", "REQUEST_ERROR", "SERVER_ERROR", "UNAUTHORIZED", "ok"),
        fc.integer(),
      ),
      body: fc.oneof(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.array(fc.integer()),
        fc.constant(null),
        fc.string(),
      ),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(candidate, (value) => {
      const line = JSON.stringify(value);
      const parsed = parseFrame(line);
      const expected = frameSchema.safeParse(JSON.parse(line));
      assert.equal(parsed.ok, expected.success, line);
      if (parsed.ok && expected.success) assert.deepEqual(parsed.frame, expected.data);
    }),
    { numRuns: 5000 },
  );
});
