import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ProofFields, proofBytes } from "../../src/auth/canonical.js";
import { DeviceKey } from "../../src/auth/device-key.js";
import { TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  startTestTracker,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";

/** Proofs of possession at the tracker: SIGNIN, GUEST and RESUME must sign this connection's challenge. */
describe("tracker proofs of possession", () => {
  let tracker: TestTracker;
  const open: TestClient[] = [];

  before(async () => {
    // One failed sign-in per user, address and minute: a bad proof that counted would lock the account.
    tracker = await startTestTracker({ signinFailuresPerUserAddress: 1, signinFailuresPerAddress: 100 });
    const setup = await TestClient.connect(tracker.address);
    await setup.request("SIGNUP", { username: "prover", password: TEST_PASSWORD });
    await setup.close();
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await tracker.close();
  });

  async function connect(): Promise<TestClient> {
    const client = await TestClient.connect(tracker.address);
    open.push(client);
    return client;
  }

  /** A proof over exactly the fields given, the fingerprint and challenge of `client` unless overridden. */
  async function proofOf(
    client: TestClient,
    key: DeviceKey,
    fields: Partial<ProofFields> & Pick<ProofFields, "purpose">,
  ): Promise<string> {
    return key.sign(
      proofBytes({ fingerprint: client.serverFingerprint, challenge: await client.challenge(), ...fields }),
    );
  }

  function signin(key: DeviceKey, proof: string) {
    return { username: "prover", password: TEST_PASSWORD, device: "laptop", publicKey: key.publicKey, proof };
  }

  async function assertBadProof(client: TestClient, command: string, body: object): Promise<void> {
    const error = await client.requestError(command, body, { raw: true });
    assert.equal(error.code, "BAD_PROOF", `${command}: ${error.message}`);
    assert.equal(error.status, "UNAUTHORIZED");
    // A refused proof signs nobody in.
    assert.equal((await client.requestError("ONLINE")).code, "NOT_SIGNED_IN");
  }

  test("tracker - the tracker signs proofs with the fingerprint clients see", async () => {
    const client = await connect();
    assert.equal(client.serverFingerprint, tracker.tracker.fingerprint);
    const key = DeviceKey.generate();
    const reply = await client.request(
      "SIGNIN",
      signin(key, await proofOf(client, key, { purpose: "SIGNIN" })),
      {
        raw: true,
      },
    );
    assert.equal(reply.username, "prover");
  });

  test("tracker - SIGNIN with a proof that is not the key's signature is BAD_PROOF", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    const other = DeviceKey.generate();
    // Well-formed signatures: by another key, over other bytes, and a flipped one.
    const good = await proofOf(client, key, { purpose: "SIGNIN" });
    const flipped = `${good.slice(0, 10)}${good[10] === "A" ? "B" : "A"}${good.slice(11)}`;
    for (const proof of [
      await proofOf(client, other, { purpose: "SIGNIN" }),
      key.sign(Buffer.from("something else")),
      flipped,
      "A".repeat(86),
    ]) {
      await assertBadProof(client, "SIGNIN", signin(key, proof));
    }
  });

  test("tracker - SIGNIN with a proof for another connection's challenge is BAD_PROOF", async () => {
    const first = await connect();
    const second = await connect();
    const key = DeviceKey.generate();
    const forFirst = await proofOf(first, key, { purpose: "SIGNIN" });
    await assertBadProof(second, "SIGNIN", signin(key, forFirst));
    // It is good where it was made.
    assert.equal((await first.request("SIGNIN", signin(key, forFirst), { raw: true })).username, "prover");
  });

  test("tracker - SIGNIN with a proof signed for another fingerprint, purpose or channel is BAD_PROOF", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    for (const fields of [
      { purpose: "SIGNIN", fingerprint: `sha256:${"0".repeat(64)}` },
      { purpose: "SIGNIN", fingerprint: "" },
      { purpose: "SIGNIN", challenge: "" },
      { purpose: "GUEST" },
      { purpose: "RESUME" },
      { purpose: "CONNECT", channel: "lobby" },
      { purpose: "SIGNIN", channel: "lobby" },
    ] as const) {
      await assertBadProof(client, "SIGNIN", signin(key, await proofOf(client, key, fields)));
    }
  });

  test("tracker - a bad proof is refused before the password is checked and is not a failed sign-in", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    const wrongKey = DeviceKey.generate();
    const proof = await proofOf(client, wrongKey, { purpose: "SIGNIN" });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await client.requestError(
        "SIGNIN",
        { ...signin(key, proof), password: "not the password" },
        { raw: true },
      );
      assert.equal(error.code, "BAD_PROOF");
    }
    // The limit is one failure a minute: none of those counted.
    assert.equal(
      (await client.request("SIGNIN", { username: "prover", password: TEST_PASSWORD })).username,
      "prover",
    );
  });

  test("tracker - SIGNIN without a proof, or with a malformed key, is BAD_REQUEST", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    const proof = await proofOf(client, key, { purpose: "SIGNIN" });
    for (const [body, field] of [
      [{ username: "prover", password: TEST_PASSWORD }, "device"],
      [{ ...signin(key, proof), proof: undefined }, "proof"],
      [{ ...signin(key, proof), proof: "short" }, "proof"],
      [{ ...signin(key, proof), publicKey: "not a key" }, "publicKey"],
      [{ ...signin(key, proof), device: "a device" }, "device"],
      [{ ...signin(key, proof), device: "d".repeat(65) }, "device"],
    ] as const) {
      const error = await client.requestError("SIGNIN", body, { raw: true });
      assert.equal(error.code, "BAD_REQUEST", JSON.stringify(body));
      assert.match(error.message, new RegExp(`^${field}: `));
    }
  });

  test("tracker - GUEST with a bad proof is BAD_PROOF; a good one certifies the key", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    const other = DeviceKey.generate();
    for (const proof of [
      await proofOf(client, other, { purpose: "GUEST" }),
      await proofOf(client, key, { purpose: "SIGNIN" }),
      await proofOf(client, key, { purpose: "GUEST", fingerprint: `sha256:${"1".repeat(64)}` }),
    ]) {
      await assertBadProof(client, "GUEST", { username: "prudent", publicKey: key.publicKey, proof });
    }
    const reply = await client.request(
      "GUEST",
      {
        username: "prudent",
        publicKey: key.publicKey,
        proof: await proofOf(client, key, { purpose: "GUEST" }),
      },
      { raw: true },
    );
    assert.equal(reply.username, "guest-prudent");
  });

  test("tracker - a RESUME replayed on another connection is BAD_PROOF", async () => {
    const user = await connectUser(tracker.address, "prover");
    open.push(user.client);
    // What an eavesdropper saw of a RESUME on one connection ...
    const seen = await connect();
    const body = { ticket: user.ticket, proof: await proofOf(seen, user.key, { purpose: "RESUME" }) };
    await seen.request("RESUME", body, { raw: true });
    // ... is worth nothing on its own.
    const replay = await connect();
    await assertBadProof(replay, "RESUME", body);
  });

  test("tracker - a stolen ticket without its key cannot RESUME", async () => {
    const victim = await connectGuest(tracker.address, "victim");
    open.push(victim.client);
    const user = await connectUser(tracker.address, "prover", TEST_PASSWORD, { device: "desk" });
    open.push(user.client);
    for (const ticket of [victim.ticket, user.ticket]) {
      const thief = await connect();
      const thiefKey = DeviceKey.generate();
      await assertBadProof(thief, "RESUME", {
        ticket,
        proof: await proofOf(thief, thiefKey, { purpose: "RESUME" }),
      });
      // The proof of another purpose by the right key does not do either.
      await assertBadProof(thief, "RESUME", {
        ticket,
        proof: await proofOf(thief, user.key, { purpose: "SIGNIN" }),
      });
    }
    // The holder still can.
    const holder = await connect();
    assert.equal((await holder.request("RESUME", { ticket: user.ticket })).username, "prover");
  });

  test("tracker - a bad ticket is BAD_TICKET whatever the proof", async () => {
    const client = await connect();
    const key = DeviceKey.generate();
    const error = await client.requestError("RESUME", {
      ticket: "garbage.garbage",
      proof: await proofOf(client, key, { purpose: "RESUME" }),
    });
    assert.equal(error.code, "BAD_TICKET");
  });
});
