import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/client.js";
import {
  connectGuest,
  connectUser,
  startTestTracker,
  TEST_FINGERPRINT,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";

type OnlineUsers = { users: { username: string; role: string }[] };

async function onlineNames(client: TestClient): Promise<string[]> {
  return ((await client.request("ONLINE")) as OnlineUsers).users.map((user) => user.username);
}

describe("tracker presence and info", () => {
  let tracker: TestTracker;
  let anonymous: TestClient;

  before(async () => {
    tracker = await startTestTracker();
    anonymous = await TestClient.connect(tracker.address);
  });
  after(async () => {
    await anonymous.close();
    await tracker.close();
  });

  test("tracker - ONLINE, INVISIBLE and RET_INFO before sign-in are NOT_SIGNED_IN", async () => {
    for (const [command, body] of [
      ["ONLINE", {}],
      ["INVISIBLE", { invisible: true }],
      ["RET_INFO", {}],
      ["UNHOST", { channel: "x" }],
      ["VIEW", { channel: "x", view: "public" }],
      ["MEMBERS", { channel: "x", count: 0 }],
    ] as const) {
      const error = await anonymous.requestError(command, body);
      assert.equal(error.code, "NOT_SIGNED_IN", command);
      assert.equal(error.status, "UNAUTHORIZED");
    }
  });

  test("tracker - an unknown command is UNKNOWN_COMMAND", async () => {
    const error = await anonymous.requestError("CONNECT", {});
    assert.equal(error.code, "UNKNOWN_COMMAND");
    assert.equal(error.status, "REQUEST_ERROR");
  });

  test("tracker - PING answers the tracker's time to anyone", async () => {
    const before = Date.now();
    const { time } = (await anonymous.request("PING")) as { time: string };
    assert.match(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Date.parse(time) >= before - 1000);
    // Unknown body fields are ignored, so newer clients can add some.
    assert.ok(typeof (await anonymous.request("PING", { extra: 1 })).time === "string");
  });

  test("tracker - ONLINE lists users and guests with an open connection, once each", async () => {
    const carol = await connectUser(tracker.address, "carol");
    const carolAgain = await connectUser(tracker.address, "carol");
    const guest = await connectGuest(tracker.address, "gina");
    try {
      const { users } = (await carol.client.request("ONLINE")) as OnlineUsers;
      assert.deepEqual(
        users.filter((user) => user.username === "carol" || user.username === "guest-gina"),
        [
          { username: "carol", role: "user" },
          { username: "guest-gina", role: "guest" },
        ],
      );
      // Online while at least one connection is open.
      await carolAgain.client.close();
      assert.ok((await onlineNames(guest.client)).includes("carol"));
      await carol.client.close();
      assert.ok(!(await onlineNames(guest.client)).includes("carol"));
    } finally {
      await Promise.all([carol.client.close(), carolAgain.client.close(), guest.client.close()]);
    }
  });

  test("tracker - INVISIBLE hides a user from ONLINE and SIGNIN reports it", async () => {
    const dana = await connectUser(tracker.address, "dana");
    const observer = await connectGuest(tracker.address);
    try {
      assert.ok((await onlineNames(observer.client)).includes("dana"));
      assert.deepEqual(await dana.client.request("INVISIBLE", { invisible: true }), { invisible: true });
      assert.ok(!(await onlineNames(observer.client)).includes("dana"));
      // Invisible users still see everyone, themselves left out.
      assert.ok((await onlineNames(dana.client)).includes(observer.username));
      const again = await dana.client.request("SIGNIN", { username: "dana", password: TEST_PASSWORD });
      assert.equal(again.invisible, true);
      await dana.client.close();
      const back = await connectUser(tracker.address, "dana");
      try {
        assert.ok(!(await onlineNames(observer.client)).includes("dana"));
        assert.deepEqual(await back.client.request("INVISIBLE", { invisible: false }), { invisible: false });
        assert.ok((await onlineNames(observer.client)).includes("dana"));
        const signin = await back.client.request("SIGNIN", { username: "dana", password: TEST_PASSWORD });
        assert.equal(signin.invisible, false);
      } finally {
        await back.client.close();
      }
    } finally {
      await Promise.all([dana.client.close(), observer.client.close()]);
    }
  });

  test("tracker - INVISIBLE by a guest is GUESTS_CANNOT_HIDE, with a bad body BAD_REQUEST", async () => {
    const guest = await connectGuest(tracker.address);
    try {
      const error = await guest.client.requestError("INVISIBLE", { invisible: true });
      assert.equal(error.code, "GUESTS_CANNOT_HIDE");
      assert.equal(error.status, "UNAUTHORIZED");
      assert.equal((await guest.client.requestError("INVISIBLE", { invisible: "yes" })).code, "BAD_REQUEST");
    } finally {
      await guest.client.close();
    }
  });

  test("tracker - RET_INFO reports version, uptime and counts", async () => {
    const owner = await connectUser(tracker.address, "erik");
    const guest = await connectGuest(tracker.address, "stats");
    try {
      await owner.client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "erik-room", port: 6000 });
      await owner.client.request("HOST", {
        fingerprint: TEST_FINGERPRINT,
        channel: "erik-offline",
        port: 6001,
      });
      const info = await guest.client.request("RET_INFO");
      assert.equal(typeof info.version, "string");
      assert.ok(Number.isInteger(info.uptimeS) && (info.uptimeS as number) >= 0);
      assert.equal(info.users, 3); // carol, dana, erik have accounts
      assert.equal(info.guestsOnline, 1);
      assert.equal(info.channels, 2);
      assert.equal(info.channelsOnline, 2);
      assert.equal(info.connections, 3); // anonymous, owner, guest
      await owner.client.close();
      const later = await guest.client.request("RET_INFO");
      assert.equal(later.channels, 2);
      assert.equal(later.channelsOnline, 0);
      assert.equal(later.connections, 2);
    } finally {
      await Promise.all([owner.client.close(), guest.client.close()]);
    }
  });
});
