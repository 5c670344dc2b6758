import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { usernameSkeleton } from "../../src/tracker/confusables.js";
import { TRACKER_MIGRATIONS } from "../../src/tracker/migrations.js";
import { SqliteTrackerStore } from "../../src/tracker/sqlite-store.js";
import { openDatabase } from "../../src/util/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "hychat-confusables-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";

test("tracker - look-alike names share a skeleton, names a reader tells apart do not", () => {
  for (const [name, like] of [
    ["aIice", "alice"],
    ["a1ice", "alice"],
    ["Alice", "alice"],
    ["b0b", "bob"],
    ["B0B", "bob"],
    ["rnallory", "mallory"],
    ["vvendy", "wendy"],
    ["VVendy", "Wendy"],
  ]) {
    assert.equal(usernameSkeleton(name as string), usernameSkeleton(like as string), `${name} ~ ${like}`);
  }
  for (const [name, other] of [
    ["aiice", "alice"],
    ["a.lice", "alice"],
    ["a_b", "a-b"],
    ["s5", "ss"],
    ["alice2", "alice"],
  ]) {
    assert.notEqual(
      usernameSkeleton(name as string),
      usernameSkeleton(other as string),
      `${name} / ${other}`,
    );
  }
});

test("tracker - migration 3 gives accounts made before it the skeleton the code computes, first look-alike only", () => {
  const file = join(dir, "before-migration-3.db");
  const old = openDatabase(file, { migrations: TRACKER_MIGRATIONS.slice(0, 2), label: "tracker.db" });
  // Every allowed character in every position class, and look-alikes made before the check existed.
  const names = [...ALLOWED].map((character) => `x${character}${character}y`);
  names.push("MmWwIiLl01", "alice", "a1ice", "aIice", "..");
  const insert = old.prepare(
    "INSERT INTO accounts (name_key, username, password_hash, created_at) VALUES (?, ?, 'hash', ?)",
  );
  const seen = new Set<string>();
  const unique = names.filter((name) => {
    const key = name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (const name of unique) insert.run(name.toLowerCase(), name, new Date().toISOString());
  old.close();

  const store = new SqliteTrackerStore(file);
  try {
    const check = openDatabase(file, { migrations: TRACKER_MIGRATIONS, label: "tracker.db" });
    const rows = check.prepare("SELECT username, name_skeleton FROM accounts ORDER BY rowid").all() as {
      username: string;
      name_skeleton: string | null;
    }[];
    check.close();
    const firstBySkeleton = new Map<string, string>();
    for (const { username } of rows) {
      const skeleton = usernameSkeleton(username);
      if (!firstBySkeleton.has(skeleton)) firstBySkeleton.set(skeleton, username);
    }
    for (const { username, name_skeleton } of rows) {
      const skeleton = usernameSkeleton(username);
      const expected = firstBySkeleton.get(skeleton) === username ? skeleton : null;
      assert.equal(name_skeleton, expected, username);
    }
    // The look-alikes made before keep their accounts; a new one like them is refused.
    assert.equal(store.findAccount("a1ice")?.username, "a1ice");
    assert.equal(store.findLookAlike("A1ice"), "alice");
    assert.equal(store.createAccount("aIicE", "hash"), false);
    assert.equal(store.createAccount("carol", "hash"), true);
    assert.equal(store.findLookAlike("caroI"), "carol");
  } finally {
    store.close();
  }
});
