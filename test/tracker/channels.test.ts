import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type ChannelListing,
  type TrackerEventBodies,
  trackerEventSchemas,
} from "../../src/protocol/tracker-schemas.js";
import { TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  type SignedInClient,
  startTestTracker,
  TEST_FINGERPRINT,
  type TestTracker,
} from "../helpers/tracker.js";

async function listing(client: TestClient, name: string): Promise<ChannelListing | undefined> {
  const { channels } = (await client.request("LIST")) as { channels: ChannelListing[] };
  return channels.find((channel) => channel.name.toLowerCase() === name.toLowerCase());
}

/** The next `CHANNELS` event matching `matches`, checked against the protocol's schema. */
async function nextChannels(
  client: TestClient,
  matches: (body: TrackerEventBodies["CHANNELS"]) => boolean,
): Promise<TrackerEventBodies["CHANNELS"]> {
  const event = await client.nextEvent("CHANNELS", (body) =>
    matches(trackerEventSchemas.CHANNELS.parse(body)),
  );
  return trackerEventSchemas.CHANNELS.parse(event.body);
}

describe("tracker channels", () => {
  let tracker: TestTracker;
  let alice: SignedInClient;
  let bob: SignedInClient;
  let watcher: SignedInClient;
  const open: TestClient[] = [];

  before(async () => {
    tracker = await startTestTracker();
    alice = await connectUser(tracker.address, "alice");
    bob = await connectUser(tracker.address, "bob");
    watcher = await connectGuest(tracker.address, "watcher");
  });
  after(async () => {
    await Promise.all([alice.client, bob.client, watcher.client, ...open].map((client) => client.close()));
    await tracker.close();
  });

  test("tracker - HOST registers a channel, answers the key and lists it online", async () => {
    const reply = await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "First",
      host: "127.0.0.1",
      port: 4000,
    });
    const key = await alice.client.request("KEY");
    assert.deepEqual(reply, {
      channel: "First",
      address: { host: "127.0.0.1", port: 4000 },
      publicKey: key.publicKey,
      issuer: key.issuer,
      reach: "relay",
    });
    assert.deepEqual(await listing(alice.client, "First"), {
      name: "First",
      owner: "alice",
      view: "public",
      moderated: false,
      online: true,
      address: { host: "127.0.0.1", port: 4000 },
      fingerprint: TEST_FINGERPRINT,
      members: 0,
      reach: "relay",
    });
  });

  test("tracker - HOST pushes CHANNELS to every signed-in connection", async () => {
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "second",
      host: "127.0.0.1",
      port: 4001,
    });
    for (const client of [alice.client, bob.client, watcher.client]) {
      const event = await nextChannels(client, (body) => body.channel === "second");
      assert.deepEqual(event, {
        channel: "second",
        online: true,
        address: { host: "127.0.0.1", port: 4001 },
        fingerprint: TEST_FINGERPRINT,
        listing: {
          name: "second",
          owner: "alice",
          view: "public",
          moderated: false,
          online: true,
          address: { host: "127.0.0.1", port: 4001 },
          fingerprint: TEST_FINGERPRINT,
          members: 0,
          reach: "relay",
        },
      });
      assert.deepEqual(event.listing, await listing(client, "second"));
    }
  });

  test("tracker - VIEW pushes CHANNELS with the new settings; an unchanged VIEW pushes nothing", async () => {
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "settings",
      host: "127.0.0.1",
      port: 4010,
    });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "settings");
    await alice.client.request("VIEW", { channel: "settings", view: "private", moderated: true });
    const event = await nextChannels(
      bob.client,
      (body) => body.channel === "settings" && body.listing?.view === "private",
    );
    assert.equal(event.listing?.moderated, true);
    assert.deepEqual(event.listing, await listing(bob.client, "settings"));
    const before = bob.client.events.length;
    await alice.client.request("VIEW", { channel: "settings", view: "private", moderated: true });
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "settings",
      host: "127.0.0.1",
      port: 4010,
    });
    await bob.client.request("PING");
    assert.equal(bob.client.events.length, before);
  });

  test("tracker - LIST needs no sign-in and CHANNELS goes to signed-in connections only", async () => {
    const anonymous = await TestClient.connect(tracker.address);
    open.push(anonymous);
    assert.ok((await listing(anonymous, "First")) !== undefined);
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "third",
      host: "127.0.0.1",
      port: 4002,
    });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "third");
    await anonymous.request("PING");
    assert.equal(anonymous.events.length, 0);
  });

  test("tracker - HOST of a name another user owns, in any case, is CHANNEL_TAKEN", async () => {
    for (const channel of ["First", "first", "FIRST"]) {
      const error = await bob.client.requestError("HOST", {
        fingerprint: TEST_FINGERPRINT,
        channel,
        host: "127.0.0.1",
        port: 5000,
      });
      assert.equal(error.code, "CHANNEL_TAKEN", channel);
    }
    assert.equal((await listing(bob.client, "First"))?.address?.port, 4000);
  });

  test("tracker - HOST by a guest is GUESTS_CANNOT_HOST, before sign-in NOT_SIGNED_IN", async () => {
    const guestError = await watcher.client.requestError("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "guestroom",
      port: 5000,
    });
    assert.equal(guestError.code, "GUESTS_CANNOT_HOST");
    assert.equal(guestError.status, "UNAUTHORIZED");
    const anonymous = await TestClient.connect(tracker.address);
    open.push(anonymous);
    const error = await anonymous.requestError("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "nobody",
      port: 5000,
    });
    assert.equal(error.code, "NOT_SIGNED_IN");
    assert.equal(error.status, "UNAUTHORIZED");
  });

  test("tracker - HOST with bad fields is BAD_REQUEST", async () => {
    const bodies = [
      { channel: "bad name", port: 5000 },
      { channel: "ok", port: 0 },
      { channel: "ok", port: 70000 },
      { channel: "ok", port: "80" },
      { channel: "ok", port: 5000, host: "not a host!" },
      { channel: "ok", port: 5000, view: "secret" },
      { channel: "x".repeat(65), port: 5000 },
    ];
    for (const body of bodies) {
      assert.equal((await alice.client.requestError("HOST", body)).code, "BAD_REQUEST", JSON.stringify(body));
    }
  });

  test("tracker - HOST without a host or with an unspecified one lists the connection's address", async () => {
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "anyhost", port: 4100 });
    assert.deepEqual((await listing(alice.client, "anyhost"))?.address, { host: "127.0.0.1", port: 4100 });
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "anyhost",
      host: "0.0.0.0",
      port: 4101,
    });
    assert.deepEqual((await listing(alice.client, "anyhost"))?.address, { host: "127.0.0.1", port: 4101 });
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "anyhost",
      host: "::",
      port: 4102,
    });
    assert.deepEqual((await listing(alice.client, "anyhost"))?.address, { host: "127.0.0.1", port: 4102 });
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "anyhost",
      host: "peer.example.org",
      port: 4103,
    });
    assert.deepEqual((await listing(alice.client, "anyhost"))?.address, {
      host: "peer.example.org",
      port: 4103,
    });
  });

  test("tracker - HOST sets view and moderated, and keeps them when re-hosted without", async () => {
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "settings",
      port: 4200,
      view: "private",
      moderated: true,
    });
    let entry = await listing(alice.client, "settings");
    assert.equal(entry?.view, "private");
    assert.equal(entry?.moderated, true);
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "settings", port: 4200 });
    entry = await listing(alice.client, "settings");
    assert.equal(entry?.view, "private");
    assert.equal(entry?.moderated, true);
  });

  test("tracker - VIEW by the owner changes the listing", async () => {
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "viewed", port: 4300 });
    assert.deepEqual(await alice.client.request("VIEW", { channel: "viewed", view: "private" }), {});
    let entry = await listing(bob.client, "viewed");
    assert.deepEqual([entry?.view, entry?.moderated], ["private", false]);
    await alice.client.request("VIEW", { channel: "VIEWED", view: "public", moderated: true });
    entry = await listing(bob.client, "viewed");
    assert.deepEqual([entry?.view, entry?.moderated], ["public", true]);
  });

  test("tracker - MEMBERS by the owner changes the listed member count", async () => {
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "counted", port: 4400 });
    assert.deepEqual(await alice.client.request("MEMBERS", { channel: "counted", count: 7 }), {});
    assert.equal((await listing(bob.client, "counted"))?.members, 7);
  });

  test("tracker - UNHOST, VIEW and MEMBERS refuse other users with NOT_OWNER", async () => {
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "owned", port: 4500 });
    const attempts: [string, object][] = [
      ["UNHOST", { channel: "owned" }],
      ["VIEW", { channel: "owned", view: "private" }],
      ["MEMBERS", { channel: "owned", count: 1 }],
    ];
    for (const [command, body] of attempts) {
      for (const client of [bob.client, watcher.client]) {
        const error = await client.requestError(command, body);
        assert.equal(error.code, "NOT_OWNER", command);
        assert.equal(error.status, "UNAUTHORIZED");
      }
    }
    assert.equal((await listing(bob.client, "owned"))?.view, "public");
  });

  test("tracker - UNHOST, VIEW and MEMBERS of an unknown channel are NO_SUCH_CHANNEL", async () => {
    const attempts: [string, object][] = [
      ["UNHOST", { channel: "missing" }],
      ["VIEW", { channel: "missing", view: "private" }],
      ["MEMBERS", { channel: "missing", count: 1 }],
    ];
    for (const [command, body] of attempts) {
      assert.equal((await alice.client.requestError(command, body)).code, "NO_SUCH_CHANNEL", command);
    }
  });

  test("tracker - UNHOST removes the listing, frees the name and pushes CHANNELS offline", async () => {
    await alice.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "temporary", port: 4600 });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "temporary" && body.online === true);
    assert.deepEqual(await alice.client.request("UNHOST", { channel: "temporary" }), {});
    const event = await bob.client.nextEvent(
      "CHANNELS",
      (body) => body.channel === "temporary" && body.online === false,
    );
    assert.deepEqual(event.body, {
      channel: "temporary",
      online: false,
      address: null,
      fingerprint: null,
      removed: true,
      listing: null,
    });
    assert.equal(await listing(bob.client, "temporary"), undefined);
    await bob.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "temporary", port: 4601 });
    assert.equal((await listing(bob.client, "temporary"))?.owner, "bob");
  });

  test("tracker - closing the liveness link lists the channel offline and pushes CHANNELS", async () => {
    const hostLink = await TestClient.connect(tracker.address);
    await hostLink.request("RESUME", { ticket: alice.ticket });
    await hostLink.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "lively",
      host: "127.0.0.1",
      port: 4700,
    });
    await hostLink.request("MEMBERS", { channel: "lively", count: 3 });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "lively" && body.online === true);
    assert.equal((await listing(bob.client, "lively"))?.members, 3);
    await hostLink.close();
    const event = await bob.client.nextEvent(
      "CHANNELS",
      (body) => body.channel === "lively" && body.online === false,
    );
    const offline = {
      name: "lively",
      owner: "alice",
      view: "public",
      moderated: false,
      online: false,
      address: null,
      fingerprint: null,
      members: 0,
      reach: null,
    } as const;
    assert.deepEqual(event.body, {
      channel: "lively",
      online: false,
      address: null,
      fingerprint: null,
      listing: offline,
    });
    assert.deepEqual(await listing(bob.client, "lively"), offline);
    // Still registered: nobody else may take the name, and MEMBERS of an offline channel lists nothing.
    assert.equal(
      (await bob.client.requestError("HOST", { fingerprint: TEST_FINGERPRINT, channel: "lively", port: 1 }))
        .code,
      "CHANNEL_TAKEN",
    );
    await alice.client.request("MEMBERS", { channel: "lively", count: 5 });
    assert.equal((await listing(bob.client, "lively"))?.members, 0);
  });

  test("tracker - the owner re-hosts from another connection, which becomes the liveness link", async () => {
    const firstLink = await TestClient.connect(tracker.address);
    const secondLink = await TestClient.connect(tracker.address);
    open.push(secondLink);
    await firstLink.request("RESUME", { ticket: alice.ticket });
    await secondLink.request("RESUME", { ticket: alice.ticket });
    await firstLink.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "moving",
      host: "127.0.0.1",
      port: 4800,
    });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "moving" && body.online === true);
    await secondLink.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "moving",
      host: "127.0.0.2",
      port: 4801,
    });
    const moved = await nextChannels(bob.client, (body) => body.channel === "moving");
    assert.deepEqual(moved.address, { host: "127.0.0.2", port: 4801 });
    assert.deepEqual(moved.listing?.address, { host: "127.0.0.2", port: 4801 });
    // The old link closing no longer takes the channel down.
    await firstLink.close();
    await bob.client.request("PING");
    assert.equal((await listing(bob.client, "moving"))?.online, true);
    await secondLink.close();
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "moving" && body.online === false);
    assert.equal((await listing(bob.client, "moving"))?.online, false);
  });

  test("tracker - re-hosting unchanged sends no CHANNELS event; new settings send one", async () => {
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "steady",
      host: "127.0.0.1",
      port: 4900,
    });
    await bob.client.nextEvent("CHANNELS", (body) => body.channel === "steady");
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "steady",
      host: "127.0.0.1",
      port: 4900,
    });
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "steady",
      host: "127.0.0.1",
      port: 4900,
      view: "private",
    });
    const next = await nextChannels(bob.client, (body) => body.channel === "steady");
    assert.equal(next.listing?.view, "private");
    await alice.client.request("UNHOST", { channel: "steady" });
    const removed = await nextChannels(bob.client, (body) => body.channel === "steady");
    assert.equal(removed.removed, true);
  });

  test("tracker - LIST shows every registered channel ordered by name", async () => {
    const { channels } = (await bob.client.request("LIST")) as { channels: ChannelListing[] };
    const names = channels.map((channel) => channel.name.toLowerCase());
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes("first") && names.includes("lively"));
  });
});
