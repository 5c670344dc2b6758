import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Sqlite from "better-sqlite3";
import { nowSeconds } from "../../src/auth/tickets.js";
import {
  type Revocation,
  trackerEventSchemas,
  trackerReplySchemas,
} from "../../src/protocol/tracker-schemas.js";
import { REVOKED_MESSAGE } from "../../src/tracker/devices.js";
import { TRACKER_DB_FILE } from "../../src/tracker/sqlite-store.js";
import { TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  type SignedInClient,
  startTestTracker,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";

const TTL_S = 3600;

function payloadOf(ticket: string): { sub: string; dev: string; gen: number; key: string; exp: number } {
  return JSON.parse(Buffer.from(ticket.split(".")[0] ?? "", "base64url").toString("utf8"));
}

/** Opens a connection that asks for REVOCATIONS, and returns it with the revocations it was answered. */
async function subscriber(
  address: TestTracker["address"],
): Promise<SignedInClient & { initial: Revocation[] }> {
  const watcher = await connectGuest(address);
  const reply = trackerReplySchemas.REVOCATIONS.parse(await watcher.client.request("REVOCATIONS"));
  return { ...watcher, initial: reply.revocations };
}

/** The next `REVOKED` event about `device`, checked against the protocol's schema. */
async function nextRevoked(client: TestClient, device: string): Promise<Revocation> {
  const event = await client.nextEvent("REVOKED", (body) =>
    trackerEventSchemas.REVOKED.parse(body).revocations.some((each) => each.device === device),
  );
  const { revocations } = trackerEventSchemas.REVOKED.parse(event.body);
  assert.equal(revocations.length, 1);
  return revocations[0] as Revocation;
}

/** No `REVOKED` event has reached `client`: one sent before the PING answer would be here by now. */
async function assertNoRevoked(client: TestClient): Promise<void> {
  await client.request("PING");
  assert.deepEqual(
    client.events.filter((frame) => frame.event === "REVOKED"),
    [],
  );
}

async function assertRevokedTicket(client: TestClient, ticket: string): Promise<void> {
  const error = await client.requestError("RESUME", { ticket });
  assert.equal(error.code, "BAD_TICKET");
  assert.equal(error.status, "UNAUTHORIZED");
  assert.equal(error.message, REVOKED_MESSAGE);
}

function untilNear(revocation: Revocation, ttlS: number): void {
  const expected = nowSeconds() + ttlS;
  assert.ok(
    Math.abs(revocation.until - expected) <= 5,
    `until ${revocation.until}, expected about ${expected}`,
  );
}

describe("tracker revocations", () => {
  let tracker: TestTracker;
  let watcher: SignedInClient & { initial: Revocation[] };
  const open: TestClient[] = [];

  before(async () => {
    tracker = await startTestTracker({ ticketTtlS: TTL_S });
    watcher = await subscriber(tracker.address);
  });
  after(async () => {
    await Promise.all([watcher.client, ...open].map((client) => client.close()));
    await tracker.close();
  });

  async function connect(): Promise<TestClient> {
    const client = await TestClient.connect(tracker.address);
    open.push(client);
    return client;
  }

  async function user(name: string, device?: string): Promise<SignedInClient> {
    const signedIn = await connectUser(
      tracker.address,
      name,
      TEST_PASSWORD,
      device === undefined ? {} : { device },
    );
    open.push(signedIn.client);
    return signedIn;
  }

  test("tracker - REVOCATIONS and SIGNOUT before signing in are NOT_SIGNED_IN", async () => {
    const client = await connect();
    for (const command of ["REVOCATIONS", "SIGNOUT"]) {
      const error = await client.requestError(command);
      assert.equal(error.code, "NOT_SIGNED_IN", command);
    }
    assert.deepEqual(watcher.initial, []);
  });

  test("tracker - SIGNIN again on a device revokes its older tickets; subscribers get REVOKED", async () => {
    const first = await user("Sam");
    const phone = await user("Sam", "phone");
    const second = await user("sam");
    assert.equal(payloadOf(second.ticket).dev, "test-device-sam");
    assert.equal(payloadOf(second.ticket).gen, payloadOf(first.ticket).gen + 1);

    const revoked = await nextRevoked(watcher.client, "test-device-sam");
    assert.deepEqual(
      { username: revoked.username, device: revoked.device, minGen: revoked.minGen },
      { username: "Sam", device: "test-device-sam", minGen: payloadOf(second.ticket).gen },
    );
    untilNear(revoked, TTL_S);

    const client = await connect();
    await assertRevokedTicket(client, first.ticket);
    assert.equal((await client.request("RESUME", { ticket: second.ticket })).username, "Sam");
    // The other device's ticket is untouched.
    assert.equal((await client.request("RESUME", { ticket: phone.ticket })).username, "Sam");
    // The first connection stays signed in, but its device's tickets are no longer renewed.
    await first.client.request("ONLINE");
    const renew = await first.client.requestError("RENEW");
    assert.equal(renew.code, "BAD_TICKET");
    assert.equal(renew.message, REVOKED_MESSAGE);
    // Only subscribers are told.
    await assertNoRevoked(phone.client);
    // A new subscriber is answered the revocation in force.
    const late = (await phone.client.request("REVOCATIONS")) as { revocations: Revocation[] };
    assert.ok(
      late.revocations.some((each) => each.device === "test-device-sam" && each.minGen === revoked.minGen),
    );
  });

  test("tracker - SIGNOUT revokes the device: RESUME and RENEW fail, the other device keeps working", async () => {
    const laptop = await user("Sol");
    const phone = await user("Sol", "phone");
    const elsewhere = await connect();
    const resumed = await elsewhere.request("RESUME", { ticket: laptop.ticket });
    await laptop.client.request("REVOCATIONS");

    assert.deepEqual(await laptop.client.request("SIGNOUT"), {});
    const revoked = await nextRevoked(watcher.client, "test-device-sol");
    assert.deepEqual(
      { username: revoked.username, minGen: revoked.minGen },
      { username: "Sol", minGen: payloadOf(laptop.ticket).gen + 1 },
    );
    untilNear(revoked, TTL_S);
    // The connection is signed out.
    for (const command of ["ONLINE", "RENEW", "SIGNOUT", "REVOCATIONS"]) {
      assert.equal((await laptop.client.requestError(command)).code, "NOT_SIGNED_IN", command);
    }
    const client = await connect();
    await assertRevokedTicket(client, laptop.ticket);
    await assertRevokedTicket(client, resumed.ticket as string);
    const renew = await elsewhere.requestError("RENEW");
    assert.equal(renew.code, "BAD_TICKET");
    // The phone is another device.
    assert.equal((await client.request("RESUME", { ticket: phone.ticket })).username, "Sol");
    assert.equal(typeof (await phone.client.request("RENEW")).ticket, "string");
    // Its own revocation was the last one the connection is sent: signed out, it gets no more.
    assert.equal((await nextRevoked(laptop.client, "test-device-sol")).minGen, revoked.minGen);
    await user("Sol", "phone");
    await nextRevoked(watcher.client, "phone");
    await assertNoRevoked(laptop.client);

    // Signing in again on the device gives a generation above the revoked ones.
    const back = await user("Sol");
    assert.equal(payloadOf(back.ticket).gen, payloadOf(laptop.ticket).gen + 2);
    assert.equal((await client.request("RESUME", { ticket: back.ticket })).username, "Sol");
    await assertRevokedTicket(client, laptop.ticket);
  });

  test("tracker - a guest's SIGNOUT revokes its tickets, also those resumed elsewhere", async () => {
    const guest = await connectGuest(tracker.address, "leaving");
    open.push(guest.client);
    const elsewhere = await connect();
    const resumed = await elsewhere.request("RESUME", { ticket: guest.ticket });
    const { dev } = payloadOf(guest.ticket);

    assert.deepEqual(await guest.client.request("SIGNOUT"), {});
    const revoked = await nextRevoked(watcher.client, dev);
    assert.deepEqual(
      { username: revoked.username, device: revoked.device, minGen: revoked.minGen },
      { username: "guest-leaving", device: dev, minGen: 2 },
    );
    assert.ok(revoked.until >= payloadOf(guest.ticket).exp);
    assert.equal((await guest.client.requestError("ONLINE")).code, "NOT_SIGNED_IN");
    const client = await connect();
    await assertRevokedTicket(client, guest.ticket);
    await assertRevokedTicket(client, resumed.ticket as string);
    assert.equal((await elsewhere.requestError("RENEW")).code, "BAD_TICKET");
  });

  test("tracker - a ticket of an older generation is refused even with its key's proof; RENEW keeps the generation", async () => {
    const old = await user("Tess");
    const fresh = await user("Tess");
    await nextRevoked(watcher.client, "test-device-tess");
    const client = await connect();
    // TestClient proves with the ticket's own key: the generation is what is refused.
    await assertRevokedTicket(client, old.ticket);
    const renewed = (await fresh.client.request("RENEW")).ticket as string;
    const { key, dev, gen } = payloadOf(renewed);
    assert.deepEqual(
      { key, dev, gen },
      (({ key, dev, gen }) => ({ key, dev, gen }))(payloadOf(fresh.ticket)),
    );
    assert.equal((await client.request("RESUME", { ticket: renewed })).username, "Tess");
  });
});

describe("tracker sign-out and idle connections", () => {
  test("tracker - a connection that signed out is closed once idle, like one that never signed in", async () => {
    const tracker = await startTestTracker({ unauthenticatedIdleMs: 300 });
    const leaving = await connectUser(tracker.address, "Idle");
    const staying = await connectUser(tracker.address, "Idle", TEST_PASSWORD, { device: "other" });
    try {
      await leaving.client.request("SIGNOUT");
      await leaving.client.closed;
      // The signed-in connection has been quiet as long, and still answers.
      await staying.client.request("PING");
      assert.equal(staying.client.connection.closed, false);
    } finally {
      await Promise.all([leaving.client.close(), staying.client.close()]);
      await tracker.close();
    }
  });
});

describe("tracker device limit", () => {
  test("tracker - a device past maxDevicesPerAccount signs the least recently used one out", async () => {
    const tracker = await startTestTracker({ maxDevicesPerAccount: 2, deviceTouchIntervalMs: 0 });
    const open: TestClient[] = [];
    try {
      const watcher = await subscriber(tracker.address);
      open.push(watcher.client);
      const signIn = async (device: string) => {
        const signedIn = await connectUser(tracker.address, "Many", TEST_PASSWORD, { device });
        open.push(signedIn.client);
        return signedIn;
      };
      const checker = await TestClient.connect(tracker.address);
      open.push(checker);
      const resumes = async (ticket: string) =>
        (await checker.request("RESUME", { ticket })).username === "Many";

      const d1 = await signIn("d1");
      const d2 = await signIn("d2");
      // d1 is used again: d2 is now the least recently used.
      assert.ok(await resumes(d1.ticket));
      const d3 = await signIn("d3");
      const evicted = await nextRevoked(watcher.client, "d2");
      assert.deepEqual(
        { username: evicted.username, minGen: evicted.minGen },
        { username: "Many", minGen: payloadOf(d2.ticket).gen + 1 },
      );
      await assertRevokedTicket(checker, d2.ticket);
      assert.equal((await d2.client.requestError("RENEW")).code, "BAD_TICKET");
      assert.ok(await resumes(d1.ticket));
      assert.ok(await resumes(d3.ticket));

      // Signing in again from a device that was evicted counts as a new one: d1 (used before d3) goes.
      const d2again = await signIn("d2");
      assert.equal(payloadOf(d2again.ticket).gen, payloadOf(d2.ticket).gen + 2);
      await nextRevoked(watcher.client, "d1");
      // d2's own older tickets are revoked as at every SIGNIN from a device seen before.
      assert.equal((await nextRevoked(watcher.client, "d2")).minGen, payloadOf(d2again.ticket).gen);
      await assertRevokedTicket(checker, d1.ticket);
      assert.ok(await resumes(d3.ticket));
      assert.ok(await resumes(d2again.ticket));
      // A device already signed in is no new device: nothing is evicted.
      await signIn("d3");
      await nextRevoked(watcher.client, "d3");
      await assertNoRevoked(watcher.client);
      assert.ok(await resumes(d2again.ticket));

      const db = new Sqlite(join(tracker.dataDir, TRACKER_DB_FILE), { readonly: true });
      try {
        const rows = db
          .prepare("SELECT device, public_key IS NOT NULL AS active FROM devices ORDER BY device")
          .all() as { device: string; active: number }[];
        assert.deepEqual(rows, [
          { device: "d1", active: 0 },
          { device: "d2", active: 1 },
          { device: "d3", active: 1 },
        ]);
      } finally {
        db.close();
      }
    } finally {
      await Promise.all(open.map((client) => client.close()));
      await tracker.close();
    }
  });
});

describe("tracker revocations across time and restarts", () => {
  test("tracker - revocations and device generations survive a restart on the same data dir", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hychat-tracker-"));
    try {
      const first = await startTestTracker({ dataDir });
      const old = await connectUser(first.address, "Rita");
      const current = await connectUser(first.address, "Rita");
      const leaving = await connectUser(first.address, "Rita", TEST_PASSWORD, { device: "tablet" });
      await leaving.client.request("SIGNOUT");
      await Promise.all([old.client.close(), current.client.close(), leaving.client.close()]);
      await first.close();

      const second = await startTestTracker({ dataDir });
      const client = await TestClient.connect(second.address);
      try {
        await assertRevokedTicket(client, old.ticket);
        await assertRevokedTicket(client, leaving.ticket);
        assert.equal((await client.request("RESUME", { ticket: current.ticket })).username, "Rita");
        const { revocations } = trackerReplySchemas.REVOCATIONS.parse(await client.request("REVOCATIONS"));
        assert.deepEqual(
          revocations
            .map(({ username, device, minGen }) => ({ username, device, minGen }))
            .sort((x, y) => x.device.localeCompare(y.device)),
          [
            { username: "Rita", device: "tablet", minGen: payloadOf(leaving.ticket).gen + 1 },
            { username: "Rita", device: "test-device-rita", minGen: payloadOf(current.ticket).gen },
          ],
        );
        // A new SIGNIN on the device keeps counting up from before the restart.
        const again = await connectUser(second.address, "Rita");
        try {
          assert.equal(payloadOf(again.ticket).gen, payloadOf(current.ticket).gen + 1);
        } finally {
          await again.client.close();
        }
      } finally {
        await client.close();
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("tracker - revocations that ended are pruned, and so are the rows of revoked devices", async () => {
    // Tickets live one second: so do revocations.
    const tracker = await startTestTracker({ ticketTtlS: 1 });
    const db = new Sqlite(join(tracker.dataDir, TRACKER_DB_FILE), { readonly: true });
    try {
      const count = (table: "devices" | "revocations") =>
        (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      const a = await connectUser(tracker.address, "Pru", TEST_PASSWORD, { device: "a" });
      const again = await connectUser(tracker.address, "Pru", TEST_PASSWORD, { device: "a" });
      const b = await connectUser(tracker.address, "Pru", TEST_PASSWORD, { device: "b" });
      await b.client.request("SIGNOUT");
      const { revocations } = trackerReplySchemas.REVOCATIONS.parse(
        await again.client.request("REVOCATIONS"),
      );
      assert.deepEqual(revocations.map((each) => each.device).sort(), ["a", "b"]);
      assert.equal(count("revocations"), 2);
      assert.equal(count("devices"), 2);

      // Wait for the deadline the revocations name, not for a fixed time.
      const ended = Math.max(...revocations.map((each) => each.until)) * 1000;
      await delay(Math.max(0, ended - Date.now() + 5));
      assert.deepEqual((await again.client.request("REVOCATIONS")).revocations, []);
      assert.equal(count("revocations"), 0);
      // The next new device clears the row of the device whose revocation ended.
      const c = await connectUser(tracker.address, "Pru", TEST_PASSWORD, { device: "c" });
      assert.deepEqual(
        (db.prepare("SELECT device FROM devices ORDER BY device").all() as { device: string }[]).map(
          (row) => row.device,
        ),
        ["a", "c"],
      );
      await Promise.all([a.client.close(), again.client.close(), b.client.close(), c.client.close()]);
    } finally {
      db.close();
      await tracker.close();
    }
  });
});
