import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";
import { TestClient } from "../helpers/client.js";
import { connectGuest, connectUser, startTestTracker, TEST_FINGERPRINT } from "../helpers/tracker.js";

const PASSWORD = "Unmistakable-Secret-7391";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function filesContaining(dir: string, needle: string): string[] {
  const variants = [Buffer.from(needle, "utf8"), Buffer.from(needle, "utf16le")];
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    return variants.some((variant) => bytes.includes(variant));
  });
}

test("tracker - accounts, channels and settings survive a restart on the same data dir", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hychat-tracker-"));
  try {
    const first = await startTestTracker({ dataDir });
    const alice = await connectUser(first.address, "Alice", PASSWORD);
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "Lobby",
      port: 4000,
      view: "private",
      moderated: true,
    });
    await alice.client.request("INVISIBLE", { invisible: true });
    const guest = await connectGuest(first.address, "visitor");
    const { issuer } = first.tracker;
    await Promise.all([alice.client.close(), guest.client.close()]);
    await first.close();

    const second = await startTestTracker({ dataDir });
    const client = await TestClient.connect(second.address);
    try {
      assert.equal(second.tracker.issuer, issuer);
      const { channels } = (await client.request("LIST")) as { channels: ChannelListing[] };
      assert.deepEqual(channels, [
        {
          name: "Lobby",
          owner: "Alice",
          view: "private",
          moderated: true,
          online: false,
          address: null,
          fingerprint: null,
          members: 0,
          reach: null,
        },
      ]);
      // Tickets signed before the restart still verify: same key, same issuer.
      assert.equal((await client.request("RESUME", { ticket: alice.ticket })).username, "Alice");
      const signin = await client.request("SIGNIN", { username: "alice", password: PASSWORD });
      assert.equal(signin.invisible, true);
      assert.equal((await client.request("RET_INFO")).guestsOnline, 0);
      await client.request("HOST", { fingerprint: TEST_FINGERPRINT, channel: "lobby", port: 4001 });
      const relisted = (await client.request("LIST")) as { channels: ChannelListing[] };
      assert.equal(relisted.channels[0]?.online, true);
      assert.equal(relisted.channels[0]?.view, "private");
      const other = await connectUser(second.address, "mallory");
      try {
        assert.equal(
          (
            await other.client.requestError("HOST", {
              fingerprint: TEST_FINGERPRINT,
              channel: "LOBBY",
              port: 1,
            })
          ).code,
          "CHANNEL_TAKEN",
        );
        assert.equal(
          (await other.client.requestError("SIGNUP", { username: "ALICE", password: PASSWORD })).code,
          "USERNAME_TAKEN",
        );
      } finally {
        await other.client.close();
      }
    } finally {
      await client.close();
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("tracker - no file under the data dir holds a password in clear", async () => {
  const tracker = await startTestTracker();
  try {
    const users = await Promise.all(
      ["one", "two", "three"].map((name, index) =>
        connectUser(tracker.address, name, `${PASSWORD}-${index}`),
      ),
    );
    const refused = await users[0]?.client.requestError("SIGNIN", {
      username: "one",
      password: "a-wrong-password-42",
    });
    assert.equal(refused?.code, "BAD_CREDENTIALS");
    await Promise.all(users.map((user) => user.client.close()));
    // While running (WAL not yet checkpointed) ...
    assert.deepEqual(filesContaining(tracker.dataDir, PASSWORD), []);
    assert.deepEqual(filesContaining(tracker.dataDir, "a-wrong-password-42"), []);
    await tracker.tracker.close();
    // ... and after a clean close.
    assert.deepEqual(filesContaining(tracker.dataDir, PASSWORD), []);
    assert.ok(filesUnder(tracker.dataDir).length >= 2);
  } finally {
    await tracker.close();
  }
});
