import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { isIssuableName } from "../../src/protocol/names.js";
import type { TrackerOptions } from "../../src/tracker/server.js";
import { TestClient } from "../helpers/client.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";

/** Loopback addresses besides 127.0.0.1 that test connections come from, for per-address limits. */
const ATTACKER = "127.0.0.2";
const OTHER_ATTACKER = "127.0.0.3";
const FRESH_ATTACKER = "127.0.0.4";

/** What a request ended with: `OK`, or the code it was refused with. */
function outcome(request: Promise<unknown>): Promise<string> {
  return request.then(
    () => "OK",
    (error: { code?: string }) => error.code ?? String(error),
  );
}

describe("tracker account abuse", () => {
  const trackers: TestTracker[] = [];
  const clients: TestClient[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(trackers.map((tracker) => tracker.close()));
  });

  async function tracker(options: Partial<TrackerOptions> = {}): Promise<TestTracker> {
    const started = await startTestTracker(options);
    trackers.push(started);
    return started;
  }

  async function connect(at: TestTracker, from?: string): Promise<TestClient> {
    const client = await TestClient.connect(at.address, {}, from);
    clients.push(client);
    return client;
  }

  test("tracker - pipelined SIGNUPs past the hashing queue are shed with BUSY while a SIGNIN is answered ahead of them", async () => {
    // A cost where one hash takes a while: the burst is all in before the first one finishes.
    const at = await tracker({
      passwordHash: { logN: 14, r: 8, p: 1 },
      passwordHashConcurrency: 1,
      passwordHashQueueLength: 4,
      signupsPerAddressPerHour: 0,
      signupsPerMinute: 0,
    });
    const client = await connect(at);
    await client.request("SIGNUP", { username: "owner", password: TEST_PASSWORD });
    await client.challenge();

    const order: string[] = [];
    const signups = Array.from({ length: 40 }, (_, index) =>
      outcome(client.request("SIGNUP", { username: `flood${index}`, password: TEST_PASSWORD })).then(
        (code) => {
          order.push(`signup ${code}`);
          return code;
        },
      ),
    );
    const signin = outcome(client.request("SIGNIN", { username: "owner", password: TEST_PASSWORD })).then(
      (code) => {
        order.push(`signin ${code}`);
        return code;
      },
    );
    const codes = await Promise.all(signups);
    assert.equal(await signin, "OK");

    const busy = codes.filter((code) => code === "BUSY").length;
    const created = codes.filter((code) => code === "OK").length;
    assert.equal(busy + created, 40, codes.join(" "));
    // One running and four waiting at most, less the one whose place the sign-in took.
    assert.ok(created >= 1 && created <= 5, `created ${created}`);
    assert.ok(order.indexOf("signin OK") < order.lastIndexOf("signup OK"), order.join(", "));

    // Once the queue has drained, sign-ups are taken again.
    await client.request("SIGNUP", { username: "after-the-burst", password: TEST_PASSWORD });
  });

  test("tracker - a BUSY answer is SERVER_ERROR with retryAfterMs", async () => {
    const at = await tracker({
      passwordHash: { logN: 14, r: 8, p: 1 },
      passwordHashConcurrency: 1,
      passwordHashQueueLength: 0,
      signupsPerAddressPerHour: 0,
      signupsPerMinute: 0,
    });
    const client = await connect(at);
    const first = client.request("SIGNUP", { username: "first", password: TEST_PASSWORD });
    const second = await client.requestError("SIGNUP", { username: "second", password: TEST_PASSWORD });
    assert.equal(second.code, "BUSY");
    assert.equal(second.status, "SERVER_ERROR");
    assert.ok((second.details.retryAfterMs as number) > 0);
    await first;
  });

  test("tracker - SIGNUPs are limited per address, and another address is not affected", async () => {
    const at = await tracker({ signupsPerAddressPerHour: 3 });
    const client = await connect(at);
    for (let i = 0; i < 3; i++)
      await client.request("SIGNUP", { username: `made${i}`, password: TEST_PASSWORD });
    const limited = await client.requestError("SIGNUP", { username: "made3", password: TEST_PASSWORD });
    assert.equal(limited.code, "RATE_LIMITED");
    const retryAfterMs = limited.details.retryAfterMs as number;
    assert.ok(retryAfterMs > 0 && retryAfterMs <= 3_600_000, String(retryAfterMs));
    // Nothing was made.
    const signin = await client.requestError("SIGNIN", { username: "made3", password: TEST_PASSWORD });
    assert.equal(signin.code, "BAD_CREDENTIALS");
    // Refusals that cost nothing do not spend the budget of another address.
    const other = await connect(at, ATTACKER);
    await other.request("SIGNUP", { username: "elsewhere", password: TEST_PASSWORD });
  });

  test("tracker - SIGNUPs are limited for the whole tracker too", async () => {
    const at = await tracker({ signupsPerAddressPerHour: 0, signupsPerMinute: 2 });
    const first = await connect(at);
    const second = await connect(at, ATTACKER);
    await first.request("SIGNUP", { username: "one", password: TEST_PASSWORD });
    await second.request("SIGNUP", { username: "two", password: TEST_PASSWORD });
    const limited = await connect(at, OTHER_ATTACKER);
    const error = await limited.requestError("SIGNUP", { username: "three", password: TEST_PASSWORD });
    assert.equal(error.code, "RATE_LIMITED");
    assert.ok((error.details.retryAfterMs as number) > 0);
  });

  test("tracker - by default one address cannot make accounts without end", async () => {
    const at = await tracker();
    const client = await connect(at);
    const codes: string[] = [];
    for (let i = 0; i < 25; i++) {
      codes.push(await outcome(client.request("SIGNUP", { username: `bulk${i}`, password: TEST_PASSWORD })));
    }
    assert.deepEqual(codes.slice(0, 20), Array(20).fill("OK"));
    assert.deepEqual(codes.slice(20), Array(5).fill("RATE_LIMITED"));
  });

  test("tracker - failed SIGNINs lock a name for the failing address only; the owner signs in from another", async () => {
    const at = await tracker({
      signinFailuresPerUserAddress: 5,
      signinFailuresPerAddress: 100,
      signinFailuresPerUserPerHour: 0,
    });
    const owner = await connect(at);
    await owner.request("SIGNUP", { username: "victim", password: TEST_PASSWORD });
    const attacker = await connect(at, ATTACKER);
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await attacker.requestError("SIGNIN", { username: "victim", password: "wrong-pass" })).code,
        "BAD_CREDENTIALS",
      );
    }
    const locked = await attacker.requestError("SIGNIN", { username: "victim", password: TEST_PASSWORD });
    assert.equal(locked.code, "RATE_LIMITED");
    assert.ok((locked.details.retryAfterMs as number) <= 60_000);
    // The owner, from an address that has not failed, with the right password.
    const reply = await owner.request("SIGNIN", { username: "VICTIM", password: TEST_PASSWORD });
    assert.equal(reply.username, "victim");
  });

  test("tracker - the slower limit per name refuses only addresses that failed for it", async () => {
    const at = await tracker({
      signinFailuresPerUserAddress: 5,
      signinFailuresPerAddress: 100,
      signinFailuresPerUserPerHour: 8,
    });
    const owner = await connect(at);
    await owner.request("SIGNUP", { username: "target", password: TEST_PASSWORD });
    const first = await connect(at, ATTACKER);
    const second = await connect(at, OTHER_ATTACKER);
    for (let i = 0; i < 5; i++)
      await first.requestError("SIGNIN", { username: "target", password: "wrong-pass" });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await second.requestError("SIGNIN", { username: "target", password: "wrong-pass" })).code,
        "BAD_CREDENTIALS",
      );
    }
    // Eight failures for the name: the second address is refused although it failed only three times.
    const refused = await second.requestError("SIGNIN", { username: "target", password: "wrong-pass" });
    assert.equal(refused.code, "RATE_LIMITED");
    assert.ok((refused.details.retryAfterMs as number) > 60_000, "the hour's window, not the minute's");
    // A fresh address gets its turn, and is refused once it has failed.
    const fresh = await connect(at, FRESH_ATTACKER);
    assert.equal(
      (await fresh.requestError("SIGNIN", { username: "target", password: "wrong-pass" })).code,
      "BAD_CREDENTIALS",
    );
    assert.equal(
      (await fresh.requestError("SIGNIN", { username: "target", password: TEST_PASSWORD })).code,
      "RATE_LIMITED",
    );
    // The owner has never failed: signed in.
    await owner.request("SIGNIN", { username: "target", password: TEST_PASSWORD });
  });

  test("tracker - names made only of dots or punctuation are refused, for accounts and guests", async () => {
    const at = await tracker();
    const client = await connect(at);
    for (const username of [".", "..", "...", "-_-", "_", ".-."]) {
      const error = await client.requestError("SIGNUP", { username, password: TEST_PASSWORD });
      assert.equal(error.code, "INVALID_USERNAME", username);
      assert.equal((await client.requestError("GUEST", { username })).code, "INVALID_USERNAME", username);
      assert.equal(
        (await client.requestError("GUEST", { username: `guest-${username}` })).code,
        "INVALID_USERNAME",
        username,
      );
    }
    await client.request("SIGNUP", { username: "a.b", password: TEST_PASSWORD });
    await client.request("SIGNUP", { username: "_x_", password: TEST_PASSWORD });
    // The names the tracker picks for guests pass the same rules.
    for (let i = 0; i < 5; i++) {
      const guest = await connect(at);
      const reply = await guest.request("GUEST");
      assert.ok(isIssuableName(reply.username as string), String(reply.username));
    }
  });

  test("tracker - SIGNUP refuses a look-alike of an existing name with NAME_CONFUSABLE", async () => {
    const at = await tracker();
    const client = await connect(at);
    for (const username of ["alice", "mallory", "wendy", "bob0"]) {
      await client.request("SIGNUP", { username, password: TEST_PASSWORD });
    }
    for (const [username, like] of [
      ["aIice", "alice"],
      ["a1ice", "alice"],
      ["A1ice", "alice"],
      ["rnallory", "mallory"],
      ["vvendy", "wendy"],
      ["BOBO", "bob0"],
    ] as const) {
      const error = await client.requestError("SIGNUP", { username, password: TEST_PASSWORD });
      assert.equal(error.code, "NAME_CONFUSABLE", username);
      assert.equal(error.status, "REQUEST_ERROR");
      assert.equal(error.details.like, like);
    }
    // The same name in another case is still USERNAME_TAKEN; names that only share letters are free.
    assert.equal(
      (await client.requestError("SIGNUP", { username: "ALICE", password: TEST_PASSWORD })).code,
      "USERNAME_TAKEN",
    );
    for (const username of ["alice2", "a.lice", "a_lice", "aiice"]) {
      await client.request("SIGNUP", { username, password: TEST_PASSWORD });
    }
  });
});
