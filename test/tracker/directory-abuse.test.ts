import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEFAULT_MAX_FRAME_BYTES } from "../../src/protocol/framer.js";
import { encodeResponse } from "../../src/protocol/frames.js";
import {
  type ChannelListing,
  LIST_PAGE_MAX,
  trackerReplySchemas,
} from "../../src/protocol/tracker-schemas.js";
import { TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  type SignedInClient,
  startTestTracker,
  TEST_FINGERPRINT,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";
import { EventLog, OpenPeers, tempDir } from "../peer/harness.js";

/** Generous: CPU is shared with other test processes. */
const DEADLINE_MS = 20_000;

function host(client: TestClient, channel: string, port = 4000): Promise<Record<string, unknown>> {
  return client.request("HOST", { channel, host: "127.0.0.1", port, fingerprint: TEST_FINGERPRINT });
}

async function listed(client: TestClient, name: string): Promise<ChannelListing | undefined> {
  const reply = trackerReplySchemas.LIST.parse(await client.request("LIST", { name }));
  return reply.channels[0];
}

/** Names of the CHANNELS events `client` received and no test took yet. */
function untakenChannelEvents(client: TestClient): string[] {
  return client.events
    .filter((frame) => frame.event === "CHANNELS")
    .map((frame) => String(frame.body.channel));
}

/**
 * Waits until every CHANNELS event sent to `watcher` before now has arrived: `marker` registers a
 * channel, whose event comes after all of them on the same connection.
 */
async function channelsBarrier(watcher: TestClient, marker: TestClient, channel: string): Promise<void> {
  await host(marker, channel);
  await watcher.nextEvent("CHANNELS", (body) => body.channel === channel);
}

/** Asks `check` (a round trip each time) until it holds; fails past the deadline. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) if (await check()) return;
  assert.fail(`${what} within ${DEADLINE_MS} ms`);
}

describe("tracker directory abuse", () => {
  test("tracker - a page of LIST_PAGE_MAX longest listings stays far under the frame limit", () => {
    const longHost = `${"h".repeat(63)}.${"o".repeat(63)}.${"s".repeat(63)}.${"t".repeat(63)}`;
    const longest: ChannelListing = {
      name: "c".repeat(64),
      owner: `guest-${"u".repeat(32)}`,
      view: "private",
      moderated: false,
      online: true,
      address: { host: longHost, port: 65535 },
      fingerprint: `sha256:${"f".repeat(64)}`,
      members: Number.MAX_SAFE_INTEGER,
      reach: "unreachable",
    };
    const body = { channels: Array.from({ length: LIST_PAGE_MAX }, () => longest), next: longest.name };
    trackerReplySchemas.LIST.parse(body);
    const bytes = Buffer.byteLength(encodeResponse("x".repeat(64), "OK", body));
    assert.ok(bytes < DEFAULT_MAX_FRAME_BYTES / 3, `a full page is ${bytes} bytes`);
  });

  describe("quotas and rate", () => {
    let tracker: TestTracker;
    const open: TestClient[] = [];

    before(async () => {
      // A rate that refills nothing during the test, so the burst alone decides.
      tracker = await startTestTracker({ maxChannelsPerUser: 3, hostsPerSecondPerUser: 0.0001 });
    });
    after(async () => {
      await Promise.all(open.map((client) => client.close()));
      await tracker.close();
    });

    async function user(name: string): Promise<SignedInClient> {
      const signedIn = await connectUser(tracker.address, name);
      open.push(signedIn.client);
      return signedIn;
    }

    test("tracker - HOST of one more channel than the owner's quota is CHANNEL_QUOTA, and nobody hears of it", async () => {
      const watcher = await user("quotawatcher");
      const owner = await user("hoarder");
      const other = await user("neighbour");
      for (const name of ["h-1", "h-2", "h-3"]) await host(owner.client, name);
      const refused = await owner.client.requestError("HOST", {
        channel: "h-4",
        port: 4000,
        fingerprint: TEST_FINGERPRINT,
      });
      assert.equal(refused.code, "CHANNEL_QUOTA");
      assert.equal(refused.details.limit, 3);
      assert.equal(await listed(watcher.client, "h-4"), undefined);
      await channelsBarrier(watcher.client, other.client, "neighbour-1");
      assert.deepEqual(untakenChannelEvents(watcher.client), ["h-1", "h-2", "h-3"]);

      // Its own channels still come back, and unhosting one makes room.
      await host(owner.client, "H-1");
      await owner.client.request("UNHOST", { channel: "h-3" });
      await host(owner.client, "h-4");
      assert.equal((await listed(watcher.client, "h-4"))?.owner, "hoarder");
    });

    test("peer - hosting one channel past the quota fails with CHANNEL_QUOTA and lists nothing", async () => {
      const dirs = tempDir("hychat-directory-quota-");
      const peers = new OpenPeers(() => tracker.address, dirs.path);
      try {
        const owner = await peers.open();
        await owner.signUp("peerhoarder", TEST_PASSWORD);
        for (const name of ["p-1", "p-2", "p-3"]) await owner.host(name);
        await assert.rejects(owner.host("p-4"), { code: "CHANNEL_QUOTA" });
        assert.deepEqual(
          owner.hostedChannels().map((channel) => channel.name),
          ["p-1", "p-2", "p-3"],
        );
        assert.equal(
          (await owner.listChannels()).filter((channel) => channel.owner === "peerhoarder").length,
          3,
        );
      } finally {
        await peers.closeAll();
        dirs.remove();
      }
    });

    test("tracker - HOSTs past the per-user burst are RATE_LIMITED; bringing channels back online is free", async () => {
      // The burst is hostBurstPerUser (default 100); a small one here.
      const limited = await startTestTracker({ hostsPerSecondPerUser: 0.0001, hostBurstPerUser: 2 });
      try {
        const owner = await connectUser(limited.address, "hasty");
        const other = await connectUser(limited.address, "patient");
        try {
          await host(owner.client, "r-1");
          await host(owner.client, "r-2");
          const refused = await owner.client.requestError("HOST", {
            channel: "r-3",
            port: 4000,
            fingerprint: TEST_FINGERPRINT,
          });
          assert.equal(refused.code, "RATE_LIMITED");
          assert.ok(Number(refused.details.retryAfterMs) > 0);
          // A change to a live listing costs a token too; the same HOST again changes nothing and is free.
          const moved = await owner.client.requestError("HOST", {
            channel: "r-1",
            host: "127.0.0.1",
            port: 4999,
            fingerprint: TEST_FINGERPRINT,
          });
          assert.equal(moved.code, "RATE_LIMITED");
          await host(owner.client, "r-1");
          // Another user has a bucket of their own.
          await host(other.client, "p-1");

          // The liveness link closes; a new one brings both channels back without a token.
          await owner.client.close();
          await eventually(async () => (await listed(other.client, "r-2"))?.online === false, "r-2 offline");
          const relink = await TestClient.connect(limited.address);
          try {
            await relink.request("RESUME", { ticket: owner.ticket });
            await host(relink, "r-1");
            await host(relink, "r-2");
            assert.equal((await listed(other.client, "r-2"))?.online, true);
          } finally {
            await relink.close();
          }
        } finally {
          await Promise.all([owner.client.close(), other.client.close()]);
        }
      } finally {
        await limited.close();
      }
    });

    test("tracker - HOST past the tracker's channel cap is CHANNEL_QUOTA", async () => {
      const capped = await startTestTracker({ maxChannels: 2 });
      try {
        const first = await connectUser(capped.address, "early");
        const second = await connectUser(capped.address, "late");
        try {
          await host(first.client, "cap-1");
          await host(second.client, "cap-2");
          const refused = await second.client.requestError("HOST", {
            channel: "cap-3",
            port: 4000,
            fingerprint: TEST_FINGERPRINT,
          });
          assert.equal(refused.code, "CHANNEL_QUOTA");
          assert.equal(refused.details.limit, 2);
          await host(first.client, "cap-1");
        } finally {
          await Promise.all([first.client.close(), second.client.close()]);
        }
      } finally {
        await capped.close();
      }
    });
  });

  describe("paged LIST", () => {
    let tracker: TestTracker;
    let filler: SignedInClient;
    const dirs = tempDir("hychat-directory-abuse-");
    const peers = new OpenPeers(() => tracker.address, dirs.path);
    const fillers = ["a-1", "a-2", "A-3", "a-4", "a-5"];

    before(async () => {
      tracker = await startTestTracker({ listPageSize: 2 });
      filler = await connectUser(tracker.address, "filler");
      for (const [index, name] of fillers.entries()) await host(filler.client, name, 5000 + index);
    });
    after(async () => {
      await peers.closeAll();
      await filler.client.close();
      await tracker.close();
      dirs.remove();
    });

    test("tracker - LIST answers pages ordered by name with next, and LIST {name} one channel", async () => {
      const anonymous = await TestClient.connect(tracker.address);
      try {
        const names: string[] = [];
        const first = trackerReplySchemas.LIST.parse(await anonymous.request("LIST"));
        assert.deepEqual(
          first.channels.map((channel) => channel.name),
          ["a-1", "a-2"],
        );
        assert.equal(first.next, "a-2");
        let after: string | null = first.next;
        names.push(...first.channels.map((channel) => channel.name));
        for (let page = 0; page < 10 && after !== null; page++) {
          const reply = trackerReplySchemas.LIST.parse(await anonymous.request("LIST", { after }));
          assert.ok(reply.channels.length <= 2);
          names.push(...reply.channels.map((channel) => channel.name));
          after = reply.next;
        }
        assert.equal(after, null);
        assert.deepEqual(names.slice(0, 5), fillers);
        const asked = trackerReplySchemas.LIST.parse(
          await anonymous.request("LIST", { after: "A-2", limit: 1 }),
        );
        assert.deepEqual(
          asked.channels.map((channel) => channel.name),
          ["A-3"],
        );
        assert.equal((await listed(anonymous, "A-4"))?.name, "a-4");
        assert.deepEqual(trackerReplySchemas.LIST.parse(await anonymous.request("LIST", { name: "nope" })), {
          channels: [],
          next: null,
        });
        const tooMany = await anonymous.requestError("LIST", { limit: LIST_PAGE_MAX + 1 });
        assert.equal(tooMany.code, "BAD_REQUEST");
      } finally {
        await anonymous.close();
      }
    });

    test("peer - a fresh peer lists a directory of several pages completely and joins a channel past the first page", async () => {
      const owner = await peers.open();
      await owner.signUp("lastowner", TEST_PASSWORD);
      await owner.host("zz-last");
      const reader = await peers.open();
      await reader.signUp("reader", TEST_PASSWORD);
      const listing = await reader.listChannels();
      assert.deepEqual(
        listing.map((channel) => channel.name),
        [...fillers, "zz-last"],
      );
      const joined = await reader.join("zz-last");
      assert.equal(joined.owner, "lastowner");
      assert.equal(joined.state, "online");
    });

    test("peer - past its page cap a peer shows the first pages, says so, and still joins any channel by name", async () => {
      const owner = await peers.open();
      await owner.signUp("capowner", TEST_PASSWORD);
      await owner.host("zz-capped");
      const skimmer = await peers.open({ maxDirectoryPages: 1 });
      const log = new EventLog(skimmer);
      await skimmer.signUp("skimmer", TEST_PASSWORD);
      const listing = await skimmer.listChannels();
      assert.deepEqual(
        listing.map((channel) => channel.name),
        ["a-1", "a-2"],
      );
      await log.waitFor("notice", (event) => event.text.includes("join any other by its name"));
      const joined = await skimmer.join("zz-capped");
      assert.equal(joined.state, "online");
      await assert.rejects(skimmer.join("zz-nowhere"), { code: "NO_SUCH_CHANNEL" });
    });
  });

  describe("presence and names", () => {
    let tracker: TestTracker;
    let watcher: SignedInClient;
    let marker: SignedInClient;
    let markers = 0;

    before(async () => {
      tracker = await startTestTracker();
      watcher = await connectUser(tracker.address, "onlooker");
      marker = await connectUser(tracker.address, "marker");
    });
    after(async () => {
      await Promise.all([watcher.client.close(), marker.client.close()]);
      await tracker.close();
    });

    /** Closes `client` and waits until the tracker counts its connection gone. */
    async function closeSeen(client: TestClient): Promise<void> {
      const connections = async () => Number((await watcher.client.request("RET_INFO")).connections);
      const before = await connections();
      await client.close();
      await eventually(async () => (await connections()) < before, "the tracker to see the close");
    }

    function barrier(): Promise<void> {
      markers += 1;
      return channelsBarrier(watcher.client, marker.client, `marker-${markers}`);
    }

    test("tracker - an invisible owner's channel stays listed as it was when its host goes away", async () => {
      const ghost = await connectUser(tracker.address, "ghost");
      try {
        await ghost.client.request("INVISIBLE", { invisible: true });
        const hostLink = await TestClient.connect(tracker.address);
        await hostLink.request("RESUME", { ticket: ghost.ticket });
        await host(hostLink, "haunt", 4400);
        await hostLink.request("MEMBERS", { channel: "haunt", count: 2 });
        await watcher.client.nextEvent("CHANNELS", (body) => body.channel === "haunt");
        const whileUp = await listed(watcher.client, "haunt");
        assert.equal(whileUp?.online, true);
        assert.equal(whileUp?.members, 2);

        await closeSeen(hostLink);
        await barrier();
        assert.deepEqual(untakenChannelEvents(watcher.client), []);
        assert.deepEqual(await listed(watcher.client, "haunt"), whileUp);
        const { users } = (await watcher.client.request("ONLINE")) as { users: { username: string }[] };
        assert.ok(!users.some((user) => user.username === "ghost"));

        // Back at the same place: nothing anyone sees changes.
        const again = await TestClient.connect(tracker.address);
        await again.request("RESUME", { ticket: ghost.ticket });
        await host(again, "haunt", 4400);
        await barrier();
        assert.deepEqual(untakenChannelEvents(watcher.client), []);
        assert.deepEqual(await listed(watcher.client, "haunt"), whileUp);

        // Gone again, then visible: the channel is listed as it is, offline.
        await closeSeen(again);
        await barrier();
        await ghost.client.request("INVISIBLE", { invisible: false });
        const offline = await watcher.client.nextEvent("CHANNELS", (body) => body.channel === "haunt");
        assert.equal(offline.body.online, false);
        assert.equal((await listed(watcher.client, "haunt"))?.online, false);
      } finally {
        await ghost.client.close();
      }
    });

    test("tracker - RESUME of a guest ticket while another guest's connection holds the name is USERNAME_TAKEN", async () => {
      const first = await connectGuest(tracker.address, "sam");
      await first.client.close();
      await eventually(async () => {
        const { users } = (await watcher.client.request("ONLINE")) as { users: { username: string }[] };
        return !users.some((user) => user.username === "guest-sam");
      }, "guest-sam free");
      const second = await connectGuest(tracker.address, "sam");
      const comeback = await TestClient.connect(tracker.address);
      try {
        const refused = await comeback.requestError("RESUME", { ticket: first.ticket });
        assert.equal(refused.code, "USERNAME_TAKEN");
        // The holder's own ticket (its key) resumes on another connection.
        const sameGuest = await TestClient.connect(tracker.address);
        try {
          assert.equal((await sameGuest.request("RESUME", { ticket: second.ticket })).username, "guest-sam");
        } finally {
          await sameGuest.close();
        }
        await second.client.close();
        await eventually(async () => {
          const { users } = (await watcher.client.request("ONLINE")) as { users: { username: string }[] };
          return !users.some((user) => user.username === "guest-sam");
        }, "guest-sam free again");
        assert.equal((await comeback.request("RESUME", { ticket: first.ticket })).username, "guest-sam");
      } finally {
        await Promise.all([second.client.close(), comeback.close()]);
      }
    });
  });
});
