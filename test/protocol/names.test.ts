import assert from "node:assert/strict";
import { test } from "node:test";
import {
  anyUsernameSchema,
  channelNameSchema,
  isAllowedUsername,
  isGuestName,
  isIssuableName,
  msgIdSchema,
  nameKey,
  usernameSchema,
} from "../../src/protocol/names.js";

function accepts(schema: { safeParse(value: unknown): { success: boolean } }, value: unknown): boolean {
  return schema.safeParse(value).success;
}

test("protocol - usernames are 1..32 letters, digits, '_', '.' or '-'", () => {
  for (const name of ["a", "Alice", "bob_1", "c.d-e", "x".repeat(32)])
    assert.ok(accepts(usernameSchema, name), name);
  for (const name of ["", "x".repeat(33), "with space", "é", "a/b", "a\nb", 7]) {
    assert.ok(!accepts(usernameSchema, name), String(name));
  }
});

test("protocol - names made only of dots or punctuation are not given out", () => {
  for (const name of [".", "..", "...", "-_-", "_"]) {
    assert.ok(!isAllowedUsername(name), name);
    assert.ok(!accepts(usernameSchema, name), name);
    assert.ok(!isIssuableName(name), name);
    assert.ok(!isIssuableName(`guest-${name}`), `guest-${name}`);
  }
  for (const name of ["a", ".a", "a..b", "_1_", "guest-x", "guest-0f3a"])
    assert.ok(isIssuableName(name), name);
});

test("protocol - guest names are guest- and a username, in any case", () => {
  assert.ok(isGuestName("guest-bob"));
  assert.ok(isGuestName("GUEST-bob"));
  assert.ok(!isGuestName("guestbob"));
  for (const name of ["alice", "guest-bob", "Guest-x", `guest-${"y".repeat(32)}`]) {
    assert.ok(accepts(anyUsernameSchema, name), name);
  }
  for (const name of [`guest-${"y".repeat(33)}`, "guest-a b", "", "é"]) {
    assert.ok(!accepts(anyUsernameSchema, name), name);
  }
});

test("protocol - names compare without case", () => {
  assert.equal(nameKey("Alice"), nameKey("aLICE"));
  assert.notEqual(nameKey("alice"), nameKey("alice2"));
});

test("protocol - channel names are 1..64 letters, digits, '_', '.' or '-'", () => {
  for (const name of ["lobby", "a", "x".repeat(64), "Rust_2.0-fans"])
    assert.ok(accepts(channelNameSchema, name));
  for (const name of ["", "x".repeat(65), "#lobby", "two words"])
    assert.ok(!accepts(channelNameSchema, name));
});

test("protocol - msgIds are 1..64 printable ASCII characters", () => {
  for (const id of ["1", "a b ~!", "x".repeat(64), "6f1c7a9e-0b1d-4c58-9a55-5b8a0b7e1a11"]) {
    assert.ok(accepts(msgIdSchema, id), id);
  }
  for (const id of ["", "x".repeat(65), "tab\there", "é", "\u007f"]) assert.ok(!accepts(msgIdSchema, id), id);
});
