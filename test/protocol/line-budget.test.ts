import assert from "node:assert/strict";
import { test } from "node:test";
import { LineFramer } from "../../src/protocol/framer.js";
import { LineBudget } from "../../src/protocol/line-budget.js";

test("protocol - line budget: past the limit the largest holder is evicted, once, until the rest fits", () => {
  const budget = new LineBudget(100);
  const evicted: string[] = [];
  const small = {};
  const large = {};
  const medium = {};
  budget.set(small, 10, () => evicted.push("small"));
  budget.set(large, 60, () => evicted.push("large"));
  assert.deepEqual([budget.heldBytes, budget.holders], [70, 2]);
  // 10 + 60 + 40 = 110: the 60 goes, not the one that arrived last.
  budget.set(medium, 40, () => evicted.push("medium"));
  assert.deepEqual(evicted, ["large"]);
  assert.deepEqual([budget.heldBytes, budget.holders], [50, 2]);
  // A holder that grows is counted by its latest size, not summed.
  budget.set(small, 20, () => evicted.push("small"));
  assert.equal(budget.heldBytes, 60);
  budget.set(small, 0, () => evicted.push("small"));
  budget.release(medium);
  budget.release(medium);
  assert.deepEqual([budget.heldBytes, budget.holders], [0, 0]);
  assert.deepEqual(evicted, ["large"]);
});

test("protocol - line budget 0 only counts, it never evicts", () => {
  const budget = new LineBudget(0);
  for (let index = 0; index < 10; index += 1) {
    budget.set({}, 1_000_000, () => assert.fail("evicted"));
  }
  assert.equal(budget.heldBytes, 10_000_000);
});

test("protocol - framer: a raised cap takes longer lines from then on; a lowered one fails a held line as more comes", () => {
  const lines: string[] = [];
  const oversize: number[] = [];
  const framer = new LineFramer(
    { onLine: (line) => lines.push(line), onOversize: (bytes) => oversize.push(bytes) },
    8,
  );
  framer.push(Buffer.from("12345678\n"));
  framer.setMaxFrameBytes(16);
  assert.equal(framer.maxFrameBytes, 16);
  framer.push(Buffer.from("1234567890abcdef\n"));
  framer.push(Buffer.from("1234567890"));
  framer.setMaxFrameBytes(8);
  assert.deepEqual(oversize, []);
  framer.push(Buffer.from("x\n"));
  assert.deepEqual(lines, ["12345678", "1234567890abcdef"]);
  assert.deepEqual(oversize, [11]);
});

test("protocol - framer: discard drops the held line and takes nothing more, without onOversize", () => {
  const lines: string[] = [];
  const framer = new LineFramer({ onLine: (line) => lines.push(line), onOversize: () => assert.fail() }, 64);
  framer.push(Buffer.from("half a li"));
  framer.discard();
  assert.equal(framer.bufferedBytes, 0);
  framer.push(Buffer.from("ne\nwhole\n"));
  assert.deepEqual(lines, []);
});
