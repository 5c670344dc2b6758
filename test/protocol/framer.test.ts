import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DEFAULT_MAX_FRAME_BYTES, LineFramer } from "../../src/protocol/framer.js";

interface Collected {
  framer: LineFramer;
  lines: string[];
  oversize: number[];
}

function collector(maxFrameBytes?: number): Collected {
  const lines: string[] = [];
  const oversize: number[] = [];
  const framer = new LineFramer(
    { onLine: (line) => lines.push(line), onOversize: (bytes) => oversize.push(bytes) },
    maxFrameBytes,
  );
  return { framer, lines, oversize };
}

/** Cuts `bytes` at the given positions (any order, duplicates allowed) into consecutive chunks. */
function cut(bytes: Buffer, positions: number[]): Buffer[] {
  const points = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function byteByByte(bytes: Buffer): Buffer[] {
  return Array.from(bytes, (byte) => Buffer.from([byte]));
}

function decode(chunks: Buffer[], maxFrameBytes?: number): Collected {
  const collected = collector(maxFrameBytes);
  for (const chunk of chunks) collected.framer.push(chunk);
  return collected;
}

// JSON values whose strings hold any code point, astral ones included.
const anyText = fc.string({ unit: "binary", maxLength: 40 });
const jsonObject = fc.dictionary(
  anyText,
  fc.oneof(
    anyText,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  ),
  { maxKeys: 6 },
);
const lineEnding = fc.constantFrom("\n", "\r\n");

/** A stream of frames with its expected lines: CRLF or LF endings, empty lines interleaved. */
const frameStream = fc
  .array(
    fc.record({
      frame: jsonObject,
      ending: lineEnding,
      emptyLinesBefore: fc.array(lineEnding, { maxLength: 2 }),
    }),
    { maxLength: 12 },
  )
  .map((entries) => {
    const expected = entries.map((entry) => JSON.stringify(entry.frame));
    const text = entries
      .map((entry, index) => entry.emptyLinesBefore.join("") + expected[index] + entry.ending)
      .join("");
    return { expected, bytes: Buffer.from(text, "utf8") };
  });

test("protocol - framer decodes any frame stream cut at arbitrary points", () => {
  fc.assert(
    fc.property(frameStream, fc.array(fc.nat(), { maxLength: 20 }), ({ expected, bytes }, positions) => {
      const { lines, oversize } = decode(cut(bytes, positions));
      assert.deepEqual(lines, expected);
      assert.deepEqual(oversize, []);
    }),
    { numRuns: 300 },
  );
});

test("protocol - framer decodes any frame stream fed byte by byte", () => {
  fc.assert(
    fc.property(frameStream, ({ expected, bytes }) => {
      const { lines, framer } = decode(byteByByte(bytes));
      assert.deepEqual(lines, expected);
      assert.equal(framer.bufferedBytes, 0);
    }),
    { numRuns: 100 },
  );
});

test("protocol - framer decodes multi-byte UTF-8 text split at every byte position", () => {
  const text = '{"t":"héllo € 𝄞 😀 你好 \\u2028 ü"}';
  const bytes = Buffer.from(`${text}\r\n${text}\n`, "utf8");
  for (let first = 0; first <= bytes.length; first += 1) {
    for (let second = first; second <= bytes.length; second += 1) {
      const { lines } = decode(cut(bytes, [first, second]));
      assert.deepEqual(lines, [text, text], `split at ${first} and ${second}`);
    }
  }
});

test("protocol - framer decodes any unicode line split at every byte position", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 30 }), (raw) => {
      const line = JSON.stringify(raw);
      const bytes = Buffer.from(`${line}\n`, "utf8");
      for (let split = 0; split <= bytes.length; split += 1) {
        assert.deepEqual(decode(cut(bytes, [split])).lines, [line]);
      }
    }),
    { numRuns: 100 },
  );
});

test("protocol - framer ignores empty lines and strips one CR before LF", () => {
  const { lines } = decode([Buffer.from('\n\r\n\n{"a":1}\r\n\r\n{"b":2}\n')]);
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
});

test("protocol - framer keeps an unfinished line buffered until its newline", () => {
  const { framer, lines } = decode([Buffer.from('{"a":1}\n{"b"')]);
  assert.deepEqual(lines, ['{"a":1}']);
  assert.equal(framer.bufferedBytes, 4);
  framer.push(Buffer.from(":2}\n"));
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  assert.equal(framer.bufferedBytes, 0);
});

test("protocol - framer reports an oversized line as soon as the cap is passed, never buffering past it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
      (cap, sizes) => {
        const { framer, oversize } = collector(cap);
        let seen = 0;
        for (const size of sizes) {
          framer.push(Buffer.alloc(size, 0x61));
          const wasUnder = seen <= cap;
          seen += size;
          if (wasUnder && seen > cap) {
            // Reported in the very push that passed the cap, with the bytes seen so far.
            assert.deepEqual(oversize, [seen]);
          } else if (seen <= cap) {
            assert.deepEqual(oversize, []);
          }
          assert.ok(framer.bufferedBytes <= cap, `buffered ${framer.bufferedBytes} > cap ${cap}`);
        }
        assert.equal(oversize.length, seen > cap ? 1 : 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("protocol - framer reports a huge chunk without newline without buffering it", () => {
  const { framer, oversize, lines } = decode([Buffer.alloc(5 * 1024 * 1024, 0x61)]);
  assert.deepEqual(oversize, [5 * 1024 * 1024]);
  assert.deepEqual(lines, []);
  assert.equal(framer.bufferedBytes, 0);
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 1024 * 1024);
});

test("protocol - framer accepts a line exactly at the cap and refuses one byte over", () => {
  const cap = 100;
  const atCap = "a".repeat(cap);
  const overCap = "a".repeat(cap + 1);
  for (const chunks of [
    [Buffer.from(`${atCap}\n`)],
    cut(Buffer.from(`${atCap}\n`), [50]),
    byteByByte(Buffer.from(`${atCap}\n`)),
  ]) {
    const accepted = decode(chunks, cap);
    assert.deepEqual(accepted.lines, [atCap]);
    assert.deepEqual(accepted.oversize, []);
  }
  for (const chunks of [
    [Buffer.from(`${overCap}\n`)],
    cut(Buffer.from(`${overCap}\n`), [50]),
    byteByByte(Buffer.from(`${overCap}\n`)),
  ]) {
    const refused = decode(chunks, cap);
    assert.deepEqual(refused.lines, []);
    assert.deepEqual(refused.oversize, [cap + 1]);
  }
});

test("protocol - framer does not count a CR before LF toward the cap, at any split point", () => {
  const cap = 20;
  const atCap = "b".repeat(cap);
  const bytes = Buffer.from(`${atCap}\r\n${atCap}\r\n`);
  for (let split = 0; split <= bytes.length; split += 1) {
    const { lines, oversize, framer } = decode(cut(bytes, [split]), cap);
    assert.deepEqual(oversize, [], `split at ${split}`);
    assert.deepEqual(lines, [atCap, atCap], `split at ${split}`);
    assert.equal(framer.bufferedBytes, 0);
  }
  const byBytes = decode(byteByByte(bytes), cap);
  assert.deepEqual(byBytes.lines, [atCap, atCap]);
});

test("protocol - framer counts a CR that is not followed by LF toward the cap", () => {
  const cap = 20;
  const atCap = "c".repeat(cap);
  for (const text of [`${atCap}\rx\n`, `${atCap}\r\r\n`, `${atCap}c\r\n`]) {
    const bytes = Buffer.from(text);
    for (let split = 0; split <= bytes.length; split += 1) {
      const { lines, oversize, framer } = decode(cut(bytes, [split]), cap);
      assert.deepEqual(lines, [], `${JSON.stringify(text)} split at ${split}`);
      assert.equal(oversize.length, 1, `${JSON.stringify(text)} split at ${split}`);
      // At most one byte over the cap is held, and only while it is a CR that may end the line.
      assert.ok(framer.bufferedBytes <= cap + 1);
    }
  }
});

test("protocol - framer ignores all input after an oversized line", () => {
  const { framer, lines, oversize } = decode([Buffer.from(`${"d".repeat(11)}\n`)], 10);
  assert.deepEqual(oversize, [11]);
  framer.push(Buffer.from('{"a":1}\n'));
  assert.deepEqual(lines, []);
  assert.deepEqual(oversize, [11]);
  assert.equal(framer.bufferedBytes, 0);
});

test("protocol - framer emits lines before an oversized one in the same chunk", () => {
  const { lines, oversize } = decode([Buffer.from(`{"a":1}\n${"e".repeat(11)}`)], 10);
  assert.deepEqual(lines, ['{"a":1}']);
  assert.deepEqual(oversize, [11]);
});
