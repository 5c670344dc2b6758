import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { verifySignature } from "../../src/auth/signatures.js";
import { nowSeconds, signTicket, verifyTicket } from "../../src/auth/tickets.js";
import { SignatureVerifierPool } from "../../src/auth/verify-pool.js";
import { HychatError } from "../../src/protocol/errors.js";
import { publicKeySchema, signatureSchema } from "../../src/protocol/names.js";
import { registerTicketKey } from "../helpers/client.js";
import { connectUser, startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Every string that decodes to the same bytes as `text` by changing only its last character. */
function otherSpellings(text: string): string[] {
  const bytes = Buffer.from(text, "base64url");
  const head = text.slice(0, -1);
  return [...ALPHABET]
    .map((last) => `${head}${last}`)
    .filter((spelling) => spelling !== text && Buffer.from(spelling, "base64url").equals(bytes));
}

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const ISSUER = "hychat-tracker-canonical";

function ticket(): string {
  const now = nowSeconds();
  return signTicket(
    {
      v: 2,
      sub: "alice",
      role: "user",
      key: DeviceKey.generate().publicKey,
      dev: "laptop",
      gen: 1,
      iat: now,
      exp: now + 600,
      iss: ISSUER,
    },
    privateKey,
  );
}

test("auth - a ticket verifies in its one canonical spelling only, not in the 15 others of its signature", () => {
  const original = ticket();
  assert.equal(verifyTicket(original, publicKey, ISSUER).sub, "alice");
  const [payload, signature] = original.split(".") as [string, string];
  const spellings = otherSpellings(signature);
  assert.equal(spellings.length, 15);
  for (const spelling of spellings) {
    assert.throws(
      () => verifyTicket(`${payload}.${spelling}`, publicKey, ISSUER),
      (error: unknown) => error instanceof HychatError && error.code === "BAD_TICKET",
      spelling,
    );
  }
  // A lone trailing character decodes to nothing and is refused too.
  assert.throws(() => verifyTicket(`${original}A`, publicKey, ISSUER), /canonical/);
  assert.throws(() => verifyTicket(`${payload}A.${signature}`, publicKey, ISSUER), /canonical/);
});

test("auth - public keys and signatures are taken in their canonical spelling only", async () => {
  const key = DeviceKey.generate();
  const bytes = Buffer.from("signed bytes");
  const signature = key.sign(bytes);
  assert.equal(verifySignature(key.publicKey, bytes, signature), true);
  assert.ok(publicKeySchema.safeParse(key.publicKey).success);
  assert.ok(signatureSchema.safeParse(signature).success);
  const keySpellings = otherSpellings(key.publicKey);
  const signatureSpellings = otherSpellings(signature);
  assert.equal(keySpellings.length, 3);
  assert.equal(signatureSpellings.length, 15);
  for (const spelling of keySpellings) {
    assert.equal(verifySignature(spelling, bytes, signature), false, spelling);
    assert.ok(!publicKeySchema.safeParse(spelling).success, spelling);
  }
  for (const spelling of signatureSpellings) {
    assert.equal(verifySignature(key.publicKey, bytes, spelling), false, spelling);
    assert.ok(!signatureSchema.safeParse(spelling).success, spelling);
  }
  // The worker threads of a large batch judge the same way.
  const pool = new SignatureVerifierPool(2);
  try {
    const checks = Array.from({ length: 600 }, (_, index) => ({
      key: key.publicKey,
      bytes,
      sig: index % 2 === 0 ? signature : (signatureSpellings[index % 15] as string),
    }));
    const results = await pool.verifyAll(checks);
    assert.deepEqual(
      results,
      checks.map((_, index) => index % 2 === 0),
    );
  } finally {
    await pool.close();
  }
});

describe("tracker and canonical base64url", () => {
  let tracker: TestTracker;
  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await tracker.close();
  });

  test("tracker - RESUME refuses another spelling of a valid ticket with BAD_TICKET", async () => {
    const { client, ticket: issued, key } = await connectUser(tracker.address, "speller");
    try {
      const [payload, signature] = issued.split(".") as [string, string];
      for (const spelling of otherSpellings(signature)) {
        const respelled = `${payload}.${spelling}`;
        registerTicketKey(respelled, key);
        const error = await client.requestError("RESUME", { ticket: respelled });
        assert.equal(error.code, "BAD_TICKET", spelling);
      }
      const resumed = await client.request("RESUME", { ticket: issued });
      assert.equal(resumed.username, "speller");
    } finally {
      await client.close();
    }
  });

  test("tracker - SIGNIN refuses a public key in another spelling with BAD_REQUEST", async () => {
    const { client } = await connectUser(tracker.address, "keyholder");
    try {
      const key = DeviceKey.generate();
      for (const spelling of otherSpellings(key.publicKey)) {
        const error = await client.requestError("SIGNIN", {
          username: "keyholder",
          password: TEST_PASSWORD,
          device: "laptop",
          publicKey: spelling,
          proof: await client.proof(key, "SIGNIN"),
        });
        assert.equal(error.code, "BAD_REQUEST", spelling);
        assert.match(error.message, /^publicKey/);
      }
    } finally {
      await client.close();
    }
  });
});
