import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ChannelHost } from "../../src/host/channel-host.js";
import { silentLogger } from "../../src/util/logger.js";
import { TestClient } from "../helpers/client.js";
import { startTestHost, TEST_BACKOFF } from "../helpers/host.js";
import { connectUser, startTestTracker, trustTestTracker } from "../helpers/tracker.js";

test("revocation - signing in again and signing out revoke a device's tickets at hosts, also across a host restart while the tracker is down", async () => {
  const tracker = await startTestTracker();
  const dataDir = mkdtempSync(join(tmpdir(), "hychat-revoke-host-"));
  const testHost = await startTestHost({ tracker, dataDir });
  const clients: TestClient[] = [];
  const member = async () => {
    const client = await TestClient.connect(testHost.address);
    clients.push(client);
    return client;
  };
  try {
    await testHost.host.host("room");
    const first = await connectUser(tracker.address, "alice");
    const joined = await member();
    await joined.request("CONNECT", { channel: "room", ticket: first.ticket });

    // The same device signs in again: its first ticket dies, and the host drops the link joined with it.
    const second = await connectUser(tracker.address, "alice");
    const removed = await joined.nextEvent("REMOVED", (body) => body.channel === "room");
    assert.equal(removed.body.code, "TICKET_REVOKED");
    await joined.closed;
    const refused = await (await member()).requestError("CONNECT", { channel: "room", ticket: first.ticket });
    assert.equal(refused.code, "BAD_TICKET");
    assert.match(refused.message, /revoked/);
    const rejoined = await member();
    await rejoined.request("CONNECT", { channel: "room", ticket: second.ticket });

    // Sign-out revokes the second one the same way.
    await second.client.request("SIGNOUT", {});
    const signedOut = await rejoined.nextEvent("REMOVED", (body) => body.channel === "room");
    assert.equal(signedOut.body.code, "TICKET_REVOKED");
    const afterSignOut = await (await member()).requestError("CONNECT", {
      channel: "room",
      ticket: second.ticket,
    });
    assert.equal(afterSignOut.code, "BAD_TICKET");

    // The host keeps what it learned: restarted while the tracker is down, it still refuses both.
    await testHost.host.close();
    const trackerTrust = trustTestTracker(tracker);
    const trackerAddress = tracker.address;
    await tracker.close();
    const restarted = await ChannelHost.start({
      dataDir,
      owner: "owner",
      getCredentials: () => ({ ticket: testHost.owner.ticket, key: testHost.owner.key }),
      tracker: trackerAddress,
      trackerTrust,
      backoff: TEST_BACKOFF,
      logger: silentLogger,
    });
    try {
      for (const ticket of [first.ticket, second.ticket]) {
        const client = await TestClient.connect(restarted.address);
        clients.push(client);
        const error = await client.requestError("CONNECT", { channel: "room", ticket });
        assert.equal(error.code, "BAD_TICKET");
      }
    } finally {
      await restarted.close();
    }
    await first.client.close();
    await second.client.close();
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await testHost.close();
    await tracker.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
