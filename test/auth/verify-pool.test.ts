import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { SignatureVerifierPool } from "../../src/auth/verify-pool.js";

test("verify pool - a large batch is checked across threads, each verdict in its place, and close stops them", async () => {
  const pool = new SignatureVerifierPool(2);
  const key = DeviceKey.generate();
  const other = DeviceKey.generate();
  const checks = Array.from({ length: 1_000 }, (_, index) => {
    const bytes = Buffer.from(`message ${index}`);
    // Every seventh is signed by another key, every eleventh over other bytes.
    const signer = index % 7 === 0 ? other : key;
    const sig = signer.sign(index % 11 === 0 ? Buffer.from("something else") : bytes);
    return { key: key.publicKey, bytes, sig };
  });
  try {
    const verdicts = await pool.verifyAll(checks);
    assert.equal(verdicts.length, checks.length);
    verdicts.forEach((verdict, index) => {
      assert.equal(verdict, index % 7 !== 0 && index % 11 !== 0, `check ${index}`);
    });
    const malformed = await pool.verifyAll(
      Array.from({ length: 300 }, () => ({ key: "not a key", bytes: Buffer.from("x"), sig: "!" })),
    );
    assert.ok(malformed.every((verdict) => verdict === false));
  } finally {
    await pool.close();
  }
  // Closed, it still answers, on the calling thread.
  const after = await pool.verifyAll(checks.slice(0, 300));
  assert.deepEqual(
    after,
    checks.slice(0, 300).map((_, index) => index % 7 !== 0 && index % 11 !== 0),
  );
});
