import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
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

/** How long the tracker waits for a host to dial back in these tests. */
const ACCEPT_TIMEOUT_MS = 300;
const DEADLINE_MS = 10_000;

/** Asks `check` until it holds, on the event loop's own turns; fails past the deadline. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`${what} within ${DEADLINE_MS} ms`);
}

/** A member's RELAY_DIAL on a fresh connection of its own, as a peer sends it. */
async function relayDial(
  tracker: TestTracker,
  member: SignedInClient,
  channel: string,
  extra: object = {},
): Promise<TestClient> {
  const client = await TestClient.connect(tracker.address);
  const proof = await client.proof(member.key, "RELAY_DIAL", channel);
  void client.connection
    .request("RELAY_DIAL", { channel, ticket: member.ticket, proof, ...extra }, { timeoutMs: DEADLINE_MS })
    .catch(() => undefined);
  return client;
}

describe("tracker relay abuse", () => {
  let tracker: TestTracker;
  let owner: SignedInClient;

  before(async () => {
    tracker = await startTestTracker({
      reachabilityTimeoutMs: 500,
      relayLimits: { acceptTimeoutMs: ACCEPT_TIMEOUT_MS, maxSessionsPerAddress: 3 },
    });
    owner = await connectUser(tracker.address, "owner");
    // A host that never dials back: its liveness link takes RELAY_INCOMING and ignores it.
    await owner.client.request("HOST", { channel: "quiet", port: 1, fingerprint: TEST_FINGERPRINT });
  });
  after(async () => {
    await owner.client.close();
    await tracker.close();
  });

  test("relay - a dial its host never answers is refused, and its socket is gone after the grace", async () => {
    const member = await connectUser(tracker.address, "member");
    const dialer = await relayDial(tracker, member, "quiet");
    await owner.client.nextEvent("RELAY_INCOMING", (body) => body.channel === "quiet");
    await dialer.closed;
    await eventually(() => tracker.tracker.relayStats()?.pending === 0, "no dial left waiting");
    assert.equal(tracker.tracker.relayStats()?.unanswered, 1);
    await member.client.close();
  });

  test("relay - guests minted from one address share that address's relay streams", async () => {
    const guests = await Promise.all([1, 2, 3, 4].map(() => connectGuest(tracker.address)));
    const dialers = await Promise.all(guests.slice(0, 3).map((guest) => relayDial(tracker, guest, "quiet")));
    await eventually(() => tracker.tracker.relayStats()?.pending === 3, "three dials waiting");
    const fourth = await TestClient.connect(tracker.address);
    const proof = await fourth.proof(guests[3]?.key as SignedInClient["key"], "RELAY_DIAL", "quiet");
    const refusal = await fourth.requestError(
      "RELAY_DIAL",
      { channel: "quiet", ticket: guests[3]?.ticket, proof },
      { raw: true },
    );
    assert.equal(refusal.code, "RELAY_LIMIT");
    assert.match(refusal.message, /from one address/);
    await Promise.all([...dialers.map((dialer) => dialer.closed), fourth.close()]);
    for (const guest of guests) await guest.client.close();
  });

  test("relay - a dial naming another host key than the live one is not spliced", async () => {
    const member = await connectUser(tracker.address, "checker");
    const client = await TestClient.connect(tracker.address);
    const proof = await client.proof(member.key, "RELAY_DIAL", "quiet");
    const refusal = await client.requestError(
      "RELAY_DIAL",
      { channel: "quiet", ticket: member.ticket, proof, fingerprint: `sha256:${"cd".repeat(32)}` },
      { raw: true },
    );
    assert.equal(refusal.code, "RELAY_UNAVAILABLE");
    assert.match(refusal.message, /another key/);
    assert.equal(tracker.tracker.relayStats()?.pending, 0, "the host was not asked to dial back");
    await client.close();
    await member.client.close();
  });

  test("relay - pipelined HOSTs to new addresses each cost a HOST token, even for a channel coming back", async () => {
    const scanner = await startTestTracker({ hostBurstPerUser: 3, hostsPerSecondPerUser: 0.001 });
    try {
      const mallory = await connectUser(scanner.address, "mallory");
      await mallory.client.request("HOST", { channel: "probe", port: 2, fingerprint: TEST_FINGERPRINT });
      await mallory.client.close();
      // The channel is offline now; bringing it back is free, dialing somewhere new is not.
      const again = await connectUser(scanner.address, "mallory", TEST_PASSWORD, { device: "second" });
      const answers = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) =>
          again.client.request("HOST", {
            channel: "probe",
            port: 3 + index,
            fingerprint: `sha256:${index.toString(16).padStart(2, "0").repeat(32)}`,
          }),
        ),
      );
      const limited = answers.filter(
        (answer) =>
          answer.status === "rejected" && (answer.reason as { code?: string }).code === "RATE_LIMITED",
      );
      assert.ok(limited.length >= 7, `${limited.length} of 10 refused`);
      await again.client.close();
    } finally {
      await scanner.close();
    }
  });
});
