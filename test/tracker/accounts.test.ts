import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { loadOrCreateIdentity } from "../../src/auth/keys.js";
import { nowSeconds, publicKeyFromBase64, signTicket, verifyTicket } from "../../src/auth/tickets.js";
import type { HychatError } from "../../src/protocol/errors.js";
import { keyOfTicket, registerTicketKey, TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  startTestTracker,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";

function decodePayload(ticket: string): Record<string, unknown> {
  const [payload] = ticket.split(".");
  return JSON.parse(Buffer.from(payload as string, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("tracker accounts", () => {
  let tracker: TestTracker;
  let client: TestClient;
  const open: TestClient[] = [];

  before(async () => {
    tracker = await startTestTracker({ ticketTtlS: 3600 });
    client = await TestClient.connect(tracker.address);
  });
  after(async () => {
    await Promise.all([client, ...open].map((each) => each.close()));
    await tracker.close();
  });

  test("tracker - SIGNUP creates an account and answers its name", async () => {
    assert.deepEqual(await client.request("SIGNUP", { username: "Alice", password: TEST_PASSWORD }), {
      username: "Alice",
    });
  });

  test("tracker - SIGNUP refuses a name taken in any case", async () => {
    const error = await client.requestError("SIGNUP", { username: "alice", password: TEST_PASSWORD });
    assert.equal(error.code, "USERNAME_TAKEN");
    assert.equal(error.status, "REQUEST_ERROR");
  });

  test("tracker - SIGNUP refuses malformed and guest- names with INVALID_USERNAME", async () => {
    for (const username of ["", "has space", "x".repeat(33), "guest-bob", "GUEST-bob", "ümlaut"]) {
      const error = await client.requestError("SIGNUP", { username, password: TEST_PASSWORD });
      assert.equal(error.code, "INVALID_USERNAME", username);
    }
  });

  test("tracker - SIGNUP refuses passwords under 8 characters with WEAK_PASSWORD", async () => {
    const error = await client.requestError("SIGNUP", { username: "shorty", password: "1234567" });
    assert.equal(error.code, "WEAK_PASSWORD");
    await client.request("SIGNUP", { username: "longenough", password: "12345678" });
  });

  test("tracker - SIGNUP with wrong types is BAD_REQUEST naming the field", async () => {
    const error = await client.requestError("SIGNUP", { username: 7, password: TEST_PASSWORD });
    assert.equal(error.code, "BAD_REQUEST");
    assert.match(error.message, /username/);
  });

  test("tracker - SIGNIN in any case answers the account's name, a ticket and invisible", async () => {
    const reply = await client.request("SIGNIN", { username: "ALICE", password: TEST_PASSWORD });
    assert.equal(reply.username, "Alice");
    assert.equal(reply.role, "user");
    assert.equal(reply.invisible, false);
    const key = await client.request("KEY");
    const payload = verifyTicket(
      reply.ticket as string,
      publicKeyFromBase64(key.publicKey as string),
      key.issuer as string,
    );
    assert.equal(payload.sub, "Alice");
    assert.equal(payload.role, "user");
    // The ticket certifies the key that signed the proof, on the device the SIGNIN named.
    assert.equal(payload.key, keyOfTicket(reply.ticket as string)?.publicKey);
    assert.equal(payload.dev, "test-device-alice");
    assert.ok(Number.isInteger(payload.gen) && payload.gen >= 1);
    assert.equal(payload.iss, tracker.tracker.issuer);
    assert.equal(payload.exp - payload.iat, 3600);
    assert.equal(reply.expiresAt, new Date(payload.exp * 1000).toISOString());
  });

  test("tracker - SIGNIN answers BAD_CREDENTIALS alike for a wrong password and an unknown name", async () => {
    const fresh = await TestClient.connect(tracker.address);
    open.push(fresh);
    const wrong = await fresh.requestError("SIGNIN", { username: "Alice", password: "not the password" });
    const unknown = await fresh.requestError("SIGNIN", { username: "nobody", password: TEST_PASSWORD });
    assert.equal(wrong.code, "BAD_CREDENTIALS");
    assert.equal(wrong.status, "UNAUTHORIZED");
    assert.equal(unknown.code, "BAD_CREDENTIALS");
    assert.equal(wrong.message, unknown.message);
    // A failed SIGNIN does not sign the connection in.
    assert.equal((await fresh.requestError("ONLINE")).code, "NOT_SIGNED_IN");
  });

  test("tracker - KEY answers the Ed25519 public key and the issuer", async () => {
    const key = await client.request("KEY");
    assert.equal(key.algorithm, "Ed25519");
    assert.equal(key.issuer, tracker.tracker.issuer);
    const publicKey = publicKeyFromBase64(key.publicKey as string);
    assert.ok(publicKey.equals(tracker.tracker.publicKey));
  });

  test("tracker - GUEST with a name enters as guest-NAME with a guest ticket", async () => {
    const { client: guest, username, ticket } = await connectGuest(tracker.address, "bob");
    open.push(guest);
    assert.equal(username, "guest-bob");
    const payload = decodePayload(ticket);
    assert.equal(payload.sub, "guest-bob");
    assert.equal(payload.role, "guest");
    assert.equal(payload.key, keyOfTicket(ticket)?.publicKey);
    assert.match(payload.dev as string, /^g[0-9a-f]{16}$/);
    assert.equal(payload.gen, 1);
    const online = await guest.request("ONLINE");
    assert.ok((online.users as { username: string }[]).some((user) => user.username === "guest-bob"));
  });

  test("tracker - GUEST keeps a name that already carries the guest- prefix", async () => {
    const { client: guest, username } = await connectGuest(tracker.address, "guest-carol");
    open.push(guest);
    assert.equal(username, "guest-carol");
  });

  test("tracker - GUEST without a name picks a free guest name", async () => {
    const first = await connectGuest(tracker.address);
    const second = await connectGuest(tracker.address);
    open.push(first.client, second.client);
    assert.match(first.username, /^guest-[0-9a-f]+$/);
    assert.match(second.username, /^guest-[0-9a-f]+$/);
    assert.notEqual(first.username, second.username);
  });

  test("tracker - GUEST refuses a name an online guest has, in any case, with USERNAME_TAKEN", async () => {
    const error = await client.requestError("GUEST", { username: "BOB" });
    assert.equal(error.code, "USERNAME_TAKEN");
  });

  test("tracker - GUEST frees the name once its holder goes offline", async () => {
    const holder = await connectGuest(tracker.address, "dave");
    await holder.client.close();
    const again = await connectGuest(tracker.address, "dave");
    open.push(again.client);
    assert.equal(again.username, "guest-dave");
  });

  test("tracker - GUEST refuses a malformed name with INVALID_USERNAME", async () => {
    for (const username of ["", "with space", "x".repeat(33), "guest-"]) {
      const error = await client.requestError("GUEST", { username });
      assert.equal(error.code, "INVALID_USERNAME", username);
    }
  });

  test("tracker - one connection may ask for many guests; the last one counts", async () => {
    const fresh = await TestClient.connect(tracker.address);
    open.push(fresh);
    const first = await fresh.request("GUEST", { username: "many1" });
    const second = await fresh.request("GUEST", { username: "many2" });
    assert.equal(first.username, "guest-many1");
    assert.equal(second.username, "guest-many2");
    const names = ((await fresh.request("ONLINE")).users as { username: string }[]).map((u) => u.username);
    assert.ok(names.includes("guest-many2"));
    assert.ok(!names.includes("guest-many1"));
  });

  test("tracker - RESUME signs a fresh connection in as the ticket's user", async () => {
    const { client: alice, ticket } = await connectUser(tracker.address, "Alice");
    open.push(alice);
    const fresh = await TestClient.connect(tracker.address);
    open.push(fresh);
    const reply = await fresh.request("RESUME", { ticket });
    assert.equal(reply.username, "Alice");
    assert.equal(reply.role, "user");
    // expiresAt is that of the fresh ticket RESUME hands out (test/tracker/renew.test.ts).
    assert.equal(
      reply.expiresAt,
      new Date((decodePayload(reply.ticket as string).exp as number) * 1000).toISOString(),
    );
    await fresh.request("ONLINE");
  });

  test("tracker - RESUME accepts a guest ticket", async () => {
    const guest = await connectGuest(tracker.address, "erin");
    await guest.client.close();
    const fresh = await TestClient.connect(tracker.address);
    open.push(fresh);
    const reply = await fresh.request("RESUME", { ticket: guest.ticket });
    assert.deepEqual(
      { username: reply.username, role: reply.role },
      { username: "guest-erin", role: "guest" },
    );
  });

  test("tracker - RESUME refuses forged, tampered and foreign tickets with BAD_TICKET", async () => {
    const { ticket } = await connectGuest(tracker.address, "frank").then(async (guest) => {
      await guest.client.close();
      return guest;
    });
    const [payload, signature] = ticket.split(".") as [string, string];
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...decodePayload(ticket), role: "user", sub: "Alice" }),
    ).toString("base64url");
    const other = await startTestTracker();
    try {
      const foreign = await connectGuest(other.address, "frank");
      await foreign.client.close();
      for (const bad of [
        "garbage",
        `${payload}.`,
        `${forgedPayload}.${signature}`,
        `${payload}.${signature}x`,
        foreign.ticket,
      ]) {
        const error = await client.requestError("RESUME", { ticket: bad });
        assert.equal(error.code, "BAD_TICKET", bad);
        assert.equal(error.status, "UNAUTHORIZED");
      }
    } finally {
      await other.close();
    }
  });

  test("tracker - RESUME refuses an expired ticket with BAD_TICKET", async () => {
    // Signed with this tracker's own key, so only the expiry is wrong.
    const identity = loadOrCreateIdentity(tracker.dataDir);
    const now = nowSeconds();
    const key = DeviceKey.generate();
    const expired = signTicket(
      {
        v: 2,
        sub: "guest-old",
        role: "guest",
        key: key.publicKey,
        dev: "gexpired",
        gen: 1,
        iat: now - 100,
        exp: now - 10,
        iss: identity.issuer,
      },
      identity.privateKey,
    );
    registerTicketKey(expired, key);
    const error = await client.requestError("RESUME", { ticket: expired });
    assert.equal(error.code, "BAD_TICKET");
    assert.match(error.message, /expired/);
  });

  test("tracker - RESUME refuses a user ticket whose account does not exist with BAD_TICKET", async () => {
    const identity = loadOrCreateIdentity(tracker.dataDir);
    const now = nowSeconds();
    const key = DeviceKey.generate();
    const orphan = signTicket(
      {
        v: 2,
        sub: "ghost",
        role: "user",
        key: key.publicKey,
        dev: "laptop",
        gen: 1,
        iat: now,
        exp: now + 60,
        iss: identity.issuer,
      },
      identity.privateKey,
    );
    // With the right key's proof, so the account is what is refused.
    registerTicketKey(orphan, key);
    assert.equal((await client.requestError("RESUME", { ticket: orphan })).code, "BAD_TICKET");
  });
});

describe("tracker sign-in limits", () => {
  test("tracker - failed SIGNINs are limited per username and address with RATE_LIMITED and retryAfterMs", async () => {
    const tracker = await startTestTracker({
      signinFailuresPerUserAddress: 3,
      signinFailuresPerAddress: 100,
    });
    const { client } = await connectUser(tracker.address, "victim");
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await client.requestError("SIGNIN", { username: "victim", password: "wrong-pass" })).code,
          "BAD_CREDENTIALS",
        );
      }
      const limited = await client.requestError("SIGNIN", { username: "VICTIM", password: TEST_PASSWORD });
      assert.equal(limited.code, "RATE_LIMITED");
      assert.equal(limited.status, "REQUEST_ERROR");
      const retryAfterMs = limited.details.retryAfterMs as number;
      assert.ok(Number.isInteger(retryAfterMs) && retryAfterMs > 0 && retryAfterMs <= 60_000);
      // Another user from the same address is not affected.
      await client.request("SIGNUP", { username: "bystander", password: TEST_PASSWORD });
      await client.request("SIGNIN", { username: "bystander", password: TEST_PASSWORD });
    } finally {
      await client.close();
      await tracker.close();
    }
  });

  test("tracker - failed SIGNINs are limited per address across usernames", async () => {
    const tracker = await startTestTracker({
      signinFailuresPerUserAddress: 100,
      signinFailuresPerAddress: 4,
    });
    const client = await TestClient.connect(tracker.address);
    try {
      for (let i = 0; i < 4; i++) {
        assert.equal(
          (await client.requestError("SIGNIN", { username: `u${i}`, password: "wrong-pass" })).code,
          "BAD_CREDENTIALS",
        );
      }
      const limited = await client.requestError("SIGNIN", {
        username: "someone-else",
        password: "wrong-pass",
      });
      assert.equal(limited.code, "RATE_LIMITED");
      assert.ok((limited.details.retryAfterMs as number) > 0);
    } finally {
      await client.close();
      await tracker.close();
    }
  });

  test("tracker - a burst of SIGNINs sent at once cannot pass the limit", async () => {
    const tracker = await startTestTracker({
      signinFailuresPerUserAddress: 5,
      signinFailuresPerAddress: 100,
    });
    const { client } = await connectUser(tracker.address, "target");
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () =>
          client
            .requestError("SIGNIN", { username: "target", password: "wrong-pass" })
            .then((error) => error.code),
        ),
      );
      assert.equal(outcomes.filter((code) => code === "BAD_CREDENTIALS").length, 5);
      assert.equal(outcomes.filter((code) => code === "RATE_LIMITED").length, 45);
    } finally {
      await client.close();
      await tracker.close();
    }
  });

  test("tracker - successful SIGNINs do not count against the limit", async () => {
    const tracker = await startTestTracker({ signinFailuresPerUserAddress: 2, signinFailuresPerAddress: 2 });
    const { client } = await connectUser(tracker.address, "regular");
    try {
      for (let i = 0; i < 10; i++)
        await client.request("SIGNIN", { username: "regular", password: TEST_PASSWORD });
    } finally {
      await client.close();
      await tracker.close();
    }
  });

  test("tracker - guest creation is rate limited per address with RATE_LIMITED", async () => {
    const tracker = await startTestTracker({ guestsPerSecondPerAddress: 3 });
    const client = await TestClient.connect(tracker.address);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.request("GUEST").then(
            () => undefined,
            (error: HychatError) => error,
          ),
        ),
      );
      // The bucket refills while the burst is answered, so a little more than 3 may pass.
      const refused = outcomes.filter((outcome) => outcome !== undefined);
      assert.ok(refused.length > 0 && refused.length <= 7, `refused ${refused.length}`);
      for (const error of refused) {
        assert.equal(error.code, "RATE_LIMITED");
        assert.ok((error.details.retryAfterMs as number) > 0);
      }
    } finally {
      await client.close();
      await tracker.close();
    }
  });
});
