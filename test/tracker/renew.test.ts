import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { loadOrCreateIdentity } from "../../src/auth/keys.js";
import { nowSeconds, publicKeyFromBase64, signTicket, verifyTicket } from "../../src/auth/tickets.js";
import { SqliteTrackerStore, TRACKER_DB_FILE } from "../../src/tracker/sqlite-store.js";
import type { TrackerStore } from "../../src/tracker/store.js";
import { registerTicketKey, TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  type SignedInClient,
  startTestTracker,
  type TestTracker,
} from "../helpers/tracker.js";

const TTL_S = 3600;

/** The device id and generation a ticket names. */
function devicePart(ticket: string): { dev: string; gen: number } {
  const payload = JSON.parse(Buffer.from(ticket.split(".")[0] ?? "", "base64url").toString("utf8")) as {
    dev: string;
    gen: number;
  };
  return { dev: payload.dev, gen: payload.gen };
}

describe("tracker ticket renewal", () => {
  let tracker: TestTracker;
  const open: TestClient[] = [];

  before(async () => {
    tracker = await startTestTracker({ ticketTtlS: TTL_S });
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

  /**
   * A ticket signed with the tracker's own key, issued long ago and expiring soon, for the device
   * (key, id and generation) of `holder`'s ticket; a guest without `holder` gets a new device.
   */
  function agedTicket(
    sub: string,
    role: "user" | "guest",
    holder?: SignedInClient,
  ): { ticket: string; exp: number } {
    const identity = loadOrCreateIdentity(tracker.dataDir);
    const now = nowSeconds();
    const exp = now + 60;
    const key = holder?.key ?? DeviceKey.generate();
    const device = holder === undefined ? { dev: "gaged", gen: 1 } : devicePart(holder.ticket);
    const ticket = signTicket(
      { v: 2, sub, role, key: key.publicKey, ...device, iat: now - 1000, exp, iss: identity.issuer },
      identity.privateKey,
    );
    registerTicketKey(ticket, key);
    return { ticket, exp };
  }

  async function verify(client: TestClient, ticket: string) {
    const key = await client.request("KEY");
    return verifyTicket(ticket, publicKeyFromBase64(key.publicKey as string), key.issuer as string);
  }

  test("tracker - RESUME answers a fresh, verifiable ticket for the same identity with a later exp", async () => {
    const owner = await connectUser(tracker.address, "Renata");
    open.push(owner.client);
    const aged = agedTicket("Renata", "user", owner);
    const fresh = await connect();
    const reply = await fresh.request("RESUME", { ticket: aged.ticket });
    assert.equal(reply.username, "Renata");
    assert.equal(reply.role, "user");
    const payload = await verify(fresh, reply.ticket as string);
    assert.equal(payload.sub, "Renata");
    assert.equal(payload.role, "user");
    // Same device: same key, id and generation.
    assert.equal(payload.key, owner.key.publicKey);
    assert.deepEqual({ dev: payload.dev, gen: payload.gen }, devicePart(owner.ticket));
    assert.ok(payload.exp > aged.exp, "the fresh ticket outlives the one resumed");
    assert.equal(payload.exp - payload.iat, TTL_S);
    assert.equal(reply.expiresAt, new Date(payload.exp * 1000).toISOString());
    // The fresh ticket signs a connection in by itself.
    const again = await connect();
    assert.equal((await again.request("RESUME", { ticket: reply.ticket })).username, "Renata");
  });

  test("tracker - RESUME of a guest ticket answers a fresh guest ticket", async () => {
    const aged = agedTicket("guest-resumed", "guest");
    const client = await connect();
    const reply = await client.request("RESUME", { ticket: aged.ticket });
    const payload = await verify(client, reply.ticket as string);
    assert.deepEqual({ sub: payload.sub, role: payload.role }, { sub: "guest-resumed", role: "guest" });
    assert.ok(payload.exp > aged.exp);
  });

  test("tracker - RENEW gives a signed-in user a fresh ticket", async () => {
    const owner = await connectUser(tracker.address, "Renata");
    open.push(owner.client);
    const aged = agedTicket("Renata", "user", owner);
    const client = await connect();
    await client.request("RESUME", { ticket: aged.ticket });
    const reply = await client.request("RENEW", {});
    assert.deepEqual(Object.keys(reply).sort(), ["expiresAt", "ticket"]);
    const payload = await verify(client, reply.ticket as string);
    assert.deepEqual({ sub: payload.sub, role: payload.role }, { sub: "Renata", role: "user" });
    assert.ok(payload.exp > aged.exp);
    assert.equal(reply.expiresAt, new Date(payload.exp * 1000).toISOString());
  });

  test("tracker - RENEW gives a guest a fresh guest ticket", async () => {
    const guest = await connectGuest(tracker.address, "wren");
    open.push(guest.client);
    const reply = await guest.client.request("RENEW", {});
    const payload = await verify(guest.client, reply.ticket as string);
    assert.deepEqual({ sub: payload.sub, role: payload.role }, { sub: "guest-wren", role: "guest" });
  });

  test("tracker - RENEW before signing in is NOT_SIGNED_IN", async () => {
    const client = await connect();
    assert.equal((await client.requestError("RENEW", {})).code, "NOT_SIGNED_IN");
  });

  test("tracker - RENEW for a user whose account is gone is BAD_TICKET", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hychat-renew-"));
    const real = new SqliteTrackerStore(join(dir, TRACKER_DB_FILE));
    const deleted = new Set<string>();
    // The store has no account deletion: this one hides accounts, as a deletion would.
    const store = Object.assign(Object.create(real) as TrackerStore, {
      findAccount: (username: string) => (deleted.has(username) ? undefined : real.findAccount(username)),
    });
    const forgetful = await startTestTracker({ dataDir: dir, store });
    try {
      const user = await connectUser(forgetful.address, "Vanishing");
      try {
        deleted.add("Vanishing");
        assert.equal((await user.client.requestError("RENEW", {})).code, "BAD_TICKET");
      } finally {
        await user.client.close();
      }
    } finally {
      await forgetful.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
