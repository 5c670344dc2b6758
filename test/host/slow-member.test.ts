import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostedChannel } from "../../src/api/index.js";
import { connectMember, startTestHost } from "../helpers/host.js";
import { RawSocket } from "../helpers/raw-socket.js";
import { connectUser } from "../helpers/tracker.js";

test("slow member - a member that never reads is dropped while another member receives every message", async () => {
  let onMembers: ((channel: HostedChannel) => void) | undefined;
  const testHost = await startTestHost({
    limits: { maxQueuedBytes: 256 * 1024, drainTimeoutMs: 2_000 },
    onChange: (channel) => onMembers?.(channel),
  });
  const alice = await connectUser(testHost.tracker.address, "alice");
  const bob = await connectUser(testHost.tracker.address, "bob");
  const slow = await RawSocket.connect(testHost.address);
  try {
    await testHost.host.host("firehose");
    await slow.request("c", "CONNECT", {
      channel: "firehose",
      ticket: bob.ticket,
      proof: await slow.proof(bob.key, "CONNECT", "firehose"),
    });
    assert.equal((await slow.response("c")).status, "OK");
    slow.socket.pause();
    const reader = await connectMember(testHost.address, alice.ticket, "firehose");
    const owner = await connectMember(testHost.address, testHost.owner.ticket, "firehose");
    const dropped = new Promise<void>((resolve) => {
      onMembers = (channel) => {
        if (channel.name === "firehose" && channel.members === 2) resolve();
      };
    });
    let isDropped = false;
    void dropped.then(() => {
      isDropped = true;
    });
    const text = "x".repeat(3_900);
    const perBatch = 200;
    let sent = 0;
    // Bounded: 40 batches of about 800 KB is far more than loopback socket buffers hold.
    for (let batch = 0; batch < 40 && !isDropped; batch += 1) {
      await owner.client.request("CACHE", {
        channel: "firehose",
        messages: Array.from({ length: perBatch }, (_, index) => ({ msgId: `b${batch}-${index}`, text })),
      });
      sent += perBatch;
    }
    await dropped;
    assert.ok(sent > 0);
    await owner.client.request("MESSAGE", { channel: "firehose", msgId: "last", text: "after the drop" });
    sent += 1;
    let received = 0;
    let lastSeq = 0;
    while (received < sent) {
      const event = await reader.client.nextEvent("MESSAGE");
      const seq = event.body.seq as number;
      assert.equal(seq, lastSeq + 1, "no gaps for the healthy reader");
      lastSeq = seq;
      received += 1;
    }
    assert.equal(lastSeq, sent);
    const info = testHost.host.debugInfo().channels as { name: string; connections: number }[];
    assert.equal(info.find((channel) => channel.name === "firehose")?.connections, 2);
    await reader.client.close();
    await owner.client.close();
  } finally {
    onMembers = undefined;
    await slow.destroy();
    await alice.client.close();
    await bob.client.close();
    await testHost.close();
  }
});
