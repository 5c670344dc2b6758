import assert from "node:assert/strict";
import { test } from "node:test";
import { hashPassword, type PasswordHashOptions, verifyPassword } from "../../src/auth/password.js";

const SMALL_COST: PasswordHashOptions = { logN: 10, r: 8, p: 1 };

test("auth - a hashed password verifies, a different one does not", async () => {
  for (const password of ["correct horse battery", "pässwörd 😀 你好", "x"]) {
    const stored = await hashPassword(password, SMALL_COST);
    assert.equal(await verifyPassword(password, stored), true, password);
    assert.equal(await verifyPassword(`${password} `, stored), false);
    assert.equal(await verifyPassword(password.slice(1), stored), false);
    assert.equal(await verifyPassword("", stored), false);
  }
});

test("auth - the stored hash names its parameters and holds no trace of the password", async () => {
  const password = "hunter2hunter2";
  const stored = await hashPassword(password, SMALL_COST);
  const parts = stored.split("$");
  assert.equal(parts.length, 6);
  assert.deepEqual(parts.slice(0, 4), ["scrypt", "10", "8", "1"]);
  assert.match(parts[4] ?? "", /^[A-Za-z0-9_-]{22}$/, "16-byte salt");
  assert.match(parts[5] ?? "", /^[A-Za-z0-9_-]{43}$/, "32-byte key");
  assert.ok(!stored.includes(password));
  for (const encoding of ["base64", "base64url", "hex"] as const) {
    assert.ok(!stored.includes(Buffer.from(password).toString(encoding)), encoding);
  }
});

test("auth - hashing the same password twice uses different salts", async () => {
  const first = await hashPassword("same password", SMALL_COST);
  const second = await hashPassword("same password", SMALL_COST);
  assert.notEqual(first, second);
  assert.notEqual(first.split("$")[4], second.split("$")[4]);
  assert.equal(await verifyPassword("same password", first), true);
  assert.equal(await verifyPassword("same password", second), true);
});

test("auth - verifyPassword reads the cost from the stored hash", async () => {
  const stored = await hashPassword("cost check", { logN: 11, r: 4, p: 2 });
  assert.deepEqual(stored.split("$").slice(1, 4), ["11", "4", "2"]);
  assert.equal(await verifyPassword("cost check", stored), true);
});

test("auth - verifyPassword refuses a stored value in another format", async () => {
  const stored = await hashPassword("format", SMALL_COST);
  const [, logN, r, p, salt, hash] = stored.split("$");
  for (const bad of [
    "",
    "plain-text",
    `bcrypt$${logN}$${r}$${p}$${salt}$${hash}`,
    `scrypt$${logN}$${r}$${p}$${salt}`,
    `${stored}$extra`,
    `scrypt$${logN}$${r}$${p}$${salt}$${hash?.slice(0, 20)}`,
  ]) {
    assert.equal(await verifyPassword("format", bad), false, bad);
  }
});
