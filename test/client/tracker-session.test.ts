import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  type TrackerCredentials,
  TrackerSession,
  type TrackerSessionListener,
} from "../../src/client/tracker-session.js";
import type { HychatError } from "../../src/protocol/errors.js";
import type { Address, TrackerEventBodies } from "../../src/protocol/tracker-schemas.js";
import { silentLogger } from "../../src/util/logger.js";
import { TRUST_ANY } from "../helpers/tls.js";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { WakeOnChange } from "../helpers/wake-on-change.js";

const BACKOFF = { initialMs: 2, maxMs: 20, jitter: 0 };

class Recorder extends WakeOnChange implements TrackerSessionListener {
  readonly states: boolean[] = [];
  readonly changes: TrackerEventBodies["CHANNELS"][] = [];
  readonly rejected: HychatError[] = [];
  readonly renewed: TrackerCredentials[] = [];

  constructor() {
    super(20_000);
  }

  state(connected: boolean): void {
    this.states.push(connected);
    this.wake();
  }
  channels(change: TrackerEventBodies["CHANNELS"]): void {
    this.changes.push(change);
    this.wake();
  }
  ticketRejected(error: HychatError): void {
    this.rejected.push(error);
    this.wake();
  }
  ticketRenewed(credentials: TrackerCredentials): void {
    this.renewed.push(credentials);
    this.wake();
  }
}

describe("tracker session", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Each session is its own device unless a test names one: signing in on a device revokes its older tickets. */
  let devices = 0;
  function session(
    address: Address,
    listener: Recorder,
    requestTimeoutMs = 5_000,
    renewal: { ticketRenewFraction?: number; ticketRenewMinDelayMs?: number } = {},
    deviceId = `session-device-${++devices}`,
  ): TrackerSession {
    const created = new TrackerSession(
      {
        address,
        deviceId,
        trust: TRUST_ANY,
        backoff: BACKOFF,
        requestTimeoutMs,
        logger: silentLogger,
        ...renewal,
      },
      listener,
    );
    cleanups.push(() => created.close());
    created.start();
    return created;
  }

  test("client - signs in, and signs back in with RESUME after a tracker restart", async () => {
    const first = await startTestTracker();
    let tracker: TestTracker = first;
    cleanups.push(() => tracker.close());
    const listener = new Recorder();
    const tracked = session(first.address, listener);
    const credentials = await tracked.signUp("resumer", TEST_PASSWORD);
    assert.equal(credentials.username, "resumer");
    assert.equal(credentials.role, "user");
    // The tracker's signing key comes with the sign-in, to check messages while it is down.
    assert.deepEqual(credentials.trackerKey, {
      publicKey: first.tracker.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
      issuer: first.tracker.issuer,
    });
    await first.tracker.close();
    await listener.until(() => listener.states.includes(false));
    tracker = await startTestTracker({ dataDir: first.dataDir, port: first.address.port });
    await listener.until(() => listener.states.at(-1) === true && listener.states.length >= 3);
    assert.deepEqual(listener.states, [true, false, true]);
    assert.equal(tracked.credentials?.username, "resumer");
    const online = await tracked.request("ONLINE", {});
    assert.deepEqual(
      online.users.map((user) => user.username),
      ["resumer"],
    );
    assert.deepEqual(listener.rejected, []);
  });

  test("client - a ticket the restarted tracker does not accept is reported and dropped", async () => {
    const first = await startTestTracker();
    let tracker: TestTracker = first;
    cleanups.push(() => tracker.close());
    const listener = new Recorder();
    const tracked = session(first.address, listener);
    await tracked.guest("wanderer");
    await first.close();
    // A fresh data dir means a new signing key: the old ticket no longer verifies.
    tracker = await startTestTracker({ port: first.address.port });
    await listener.until(() => listener.rejected.length === 1);
    assert.equal(listener.rejected[0]?.code, "BAD_TICKET");
    assert.equal(tracked.credentials, undefined);
  });

  test("client - the held ticket is renewed before it expires, and RESUME after a restart brings a fresh one", async () => {
    const first = await startTestTracker({ ticketTtlS: 3 });
    let tracker: TestTracker = first;
    cleanups.push(() => tracker.close());
    const listener = new Recorder();
    const tracked = session(first.address, listener, 5_000, {
      ticketRenewFraction: 0.2,
      ticketRenewMinDelayMs: 50,
    });
    const original = await tracked.guest("renewer");
    await listener.until(() => listener.renewed.some((renewed) => renewed.expiresAt > original.expiresAt));
    const latest = listener.renewed.at(-1);
    assert.equal(latest?.username, "guest-renewer");
    assert.equal(latest?.role, "guest");
    assert.equal(tracked.credentials?.ticket, latest?.ticket);

    await first.tracker.close();
    await listener.until(() => listener.states.includes(false));
    const renewedBeforeRestart = listener.renewed.length;
    tracker = await startTestTracker({ dataDir: first.dataDir, port: first.address.port, ticketTtlS: 3 });
    await listener.until(
      () => listener.states.at(-1) === true && listener.renewed.length > renewedBeforeRestart,
    );
    assert.deepEqual(listener.rejected, []);
    assert.equal(tracked.credentials?.username, "guest-renewer");
  });

  test("client - forgetting the identity is not reported as losing the tracker", async () => {
    const tracker = await startTestTracker();
    cleanups.push(() => tracker.close());
    const listener = new Recorder();
    const tracked = session(tracker.address, listener);
    await tracked.signUp("forgetter", TEST_PASSWORD);
    tracked.forget();
    const { channels } = await tracked.request("LIST", {});
    assert.deepEqual(channels, []);
    assert.equal(tracked.credentials, undefined);
    assert.equal(listener.states.includes(false), false);
  });

  test("client - adopted saved credentials sign in with RESUME once the tracker answers", async () => {
    const first = await startTestTracker();
    let tracker: TestTracker = first;
    cleanups.push(() => tracker.close());
    const signer = session(first.address, new Recorder());
    const saved = await signer.signUp("adopter", TEST_PASSWORD);
    await signer.close();
    await first.tracker.close();

    const listener = new Recorder();
    const tracked = session(first.address, listener, 200);
    await assert.rejects(tracked.whenReady(), { code: "TIMEOUT" });
    assert.ok(tracked.unreachableForMs > 0);
    tracked.adopt(saved);
    assert.equal(tracked.credentials?.username, "adopter");
    tracker = await startTestTracker({ dataDir: first.dataDir, port: first.address.port });
    await listener.until(() => listener.states.includes(true) && listener.renewed.length === 1);
    assert.equal(tracked.unreachableForMs, 0);
    assert.equal(tracked.credentials?.ticket, listener.renewed[0]?.ticket);
    const online = await tracked.request("ONLINE", {});
    assert.deepEqual(
      online.users.map((user) => user.username),
      ["adopter"],
    );
  });

  test("client - credentials adopted on an anonymous connection sign in on a fresh one", async () => {
    const tracker = await startTestTracker();
    cleanups.push(() => tracker.close());
    const signer = session(tracker.address, new Recorder());
    const saved = await signer.signUp("latecomer", TEST_PASSWORD);
    await signer.close();

    const listener = new Recorder();
    const tracked = session(tracker.address, listener);
    await tracked.whenReady();
    tracked.adopt(saved);
    await listener.until(() => listener.renewed.length === 1);
    const online = await tracked.request("ONLINE", {});
    assert.deepEqual(
      online.users.map((user) => user.username),
      ["latecomer"],
    );
    assert.deepEqual(listener.states, [true, true]);
  });

  test("client - requests wait for an unreachable tracker only up to their timeout", async () => {
    const down = await startTestTracker();
    const address = down.address;
    await down.close();
    const listener = new Recorder();
    const tracked = session(address, listener, 200);
    await assert.rejects(tracked.request("LIST", {}), { code: "TIMEOUT" });
    await tracked.close();
    await assert.rejects(tracked.whenReady(), { code: "CONNECTION_CLOSED" });
  });
});
