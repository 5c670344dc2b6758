import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { signMessage } from "../../src/auth/message-signature.js";
import {
  type HostChannelListener,
  HostConnectionPool,
  type HostEvent,
} from "../../src/client/host-connection.js";
import { KNOWN_TRACKERS_FILE } from "../../src/client/tracker-trust.js";
import { SESSION_FILE, userDir } from "../../src/peer/session-file.js";
import { HychatError } from "../../src/protocol/errors.js";
import { TLS_CERT_FILE, TLS_KEY_FILE } from "../../src/transport/tls-identity.js";
import { silentLogger } from "../../src/util/logger.js";
import { connectMember, startTestHost } from "../helpers/host.js";
import { RecordingProxy, TlsInterceptor } from "../helpers/proxy.js";
import { issueFromTestCa, testTlsIdentity } from "../helpers/tls.js";
import { connectUser, startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { WakeOnChange } from "../helpers/wake-on-change.js";
import { EventLog, FAST_BACKOFF, OpenPeers, tempDir } from "../peer/harness.js";

const SECRET_TEXT = "the eagle lands at noon";

/** What a channel's listener of a pooled host connection saw. */
class ChannelRecorder extends WakeOnChange implements HostChannelListener {
  ups = 0;
  readonly errors: unknown[] = [];
  readonly events: HostEvent[] = [];
  constructor() {
    super(20_000);
  }
  up(): void {
    this.ups += 1;
    this.wake();
  }
  down(error: unknown): void {
    this.errors.push(error);
    this.wake();
  }
  event(event: HostEvent): void {
    this.events.push(event);
    this.wake();
  }
}

function codeOf(error: unknown): string | undefined {
  return error instanceof Error ? (error as { code?: string }).code : undefined;
}

/** Asserts that none of `needles` occurs in `haystack`, naming the one that does. */
function assertUnreadable(haystack: Buffer, needles: Record<string, string>): void {
  for (const [what, needle] of Object.entries(needles)) {
    assert.equal(haystack.includes(Buffer.from(needle)), false, `${what} crossed the wire readable`);
  }
}

describe("TLS on every link", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const dirs = tempDir("hychat-tls-");
  cleanups.push(() => dirs.remove());

  async function tracker(options: Parameters<typeof startTestTracker>[0] = {}): Promise<TestTracker> {
    const started = await startTestTracker(options);
    cleanups.push(() => started.close());
    return started;
  }

  test("tls - a recording proxy between peers and the tracker sees no password, ticket or message", async () => {
    const real = await tracker();
    const proxy = new RecordingProxy(real.address);
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const peers = new OpenPeers(() => proxy.address, join(dirs.path, "proxied"));
    cleanups.push(() => peers.closeAll());
    const alice = await peers.open();
    const bob = await peers.open();
    const password = "proxy-visible-password-1234";
    await alice.signUp("alice", password);
    await bob.signUp("bob", password);
    await alice.host("secrets");
    await bob.join("secrets");
    const aliceLog = new EventLog(alice);
    assert.equal((await bob.send("secrets", SECRET_TEXT)).status, "delivered");
    await aliceLog.waitFor("message", (event) => event.message.text === SECRET_TEXT);
    const tickets = ["alice", "bob"].map(
      (name) =>
        (
          JSON.parse(readFileSync(join(userDir(join(dirs.path, "proxied"), name), SESSION_FILE), "utf8")) as {
            ticket: string;
          }
        ).ticket,
    );
    const recorded = proxy.recorded();
    assert.ok(recorded.length > 1000, "the proxy carried the tracker traffic");
    assertUnreadable(recorded, {
      password,
      "alice's ticket": tickets[0] as string,
      "bob's ticket": tickets[1] as string,
      "a frame": '"command"',
      "the channel name": "secrets",
    });
  });

  test("tls - a recording proxy between a member and a host sees no ticket or message", async () => {
    const host = await startTestHost({ owner: "owner" });
    cleanups.push(() => host.close());
    await host.host.host("quiet");
    const proxy = new RecordingProxy(host.address);
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const bob = await connectUser(host.tracker.address, "bob");
    cleanups.push(() => bob.client.close());
    const watcher = await connectMember(host.address, host.owner.ticket, "quiet");
    cleanups.push(() => watcher.client.close());

    const pool = new HostConnectionPool({ logger: silentLogger, backoff: FAST_BACKOFF });
    cleanups.push(() => pool.close());
    const channel = new ChannelRecorder();
    const connection = pool.get({ address: proxy.address, fingerprint: host.host.fingerprint });
    connection.attach("quiet", channel);
    await channel.until(() => channel.ups === 1);
    await connection.connect({ channel: "quiet", ticket: bob.ticket }, bob.key);
    const sentAt = new Date().toISOString();
    const sig = signMessage(bob.key, {
      channel: "quiet",
      from: "bob",
      msgId: "m-1",
      sentAt,
      text: SECRET_TEXT,
    });
    await connection.request("MESSAGE", {
      channel: "quiet",
      msgId: "m-1",
      text: SECRET_TEXT,
      sentAt,
      sig,
      cert: bob.ticket,
    });
    const seen = await watcher.client.nextEvent("MESSAGE", (body) => body.text === SECRET_TEXT);
    assert.equal(seen.body.from, "bob");
    assertUnreadable(proxy.recorded(), {
      "bob's ticket": bob.ticket,
      "the message": SECRET_TEXT,
      "the message's signature": sig,
      "a frame": '"command"',
    });
  });

  test("tls - a man in the middle with another certificate is refused on the tracker link, and learns nothing", async () => {
    const real = await tracker();
    const mitm = new TlsInterceptor(await testTlsIdentity(), real.address);
    await mitm.listen();
    cleanups.push(() => mitm.close());
    const peers = new OpenPeers(() => mitm.address, join(dirs.path, "mitm-tracker"), {
      trackerFingerprint: real.tracker.fingerprint,
    });
    cleanups.push(() => peers.closeAll());
    const peer = await peers.open({ requestTimeoutMs: 3_000 });
    const refused = await peer.signUp("mallory-victim", TEST_PASSWORD).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.equal(codeOf(refused), "TRACKER_KEY_MISMATCH", String(refused));
    assert.match(String((refused as Error).message), new RegExp(real.tracker.fingerprint));
    assert.ok(mitm.connections >= 1, "the peer reached the man in the middle");
    assert.equal(Buffer.concat(mitm.plaintext).length, 0, "the peer sent something to the man in the middle");
  });

  test("tls - a man in the middle is refused on the member's link to a host, and learns nothing", async () => {
    const host = await startTestHost({ owner: "owner" });
    cleanups.push(() => host.close());
    await host.host.host("guarded");
    const mitm = new TlsInterceptor(await testTlsIdentity(), host.address);
    await mitm.listen();
    cleanups.push(() => mitm.close());
    const pool = new HostConnectionPool({ logger: silentLogger, backoff: FAST_BACKOFF });
    cleanups.push(() => pool.close());
    const channel = new ChannelRecorder();
    pool.get({ address: mitm.address, fingerprint: host.host.fingerprint }).attach("guarded", channel);
    await channel.until(() => channel.errors.length >= 1);
    assert.equal(codeOf(channel.errors[0]), "HOST_KEY_MISMATCH", String(channel.errors[0]));
    assert.equal(channel.ups, 0);
    assert.equal(Buffer.concat(mitm.plaintext).length, 0);
  });

  test("tls - a peer trusts a tracker on first use, refuses it once its key changed, and accepts the new key when told", async () => {
    const trackerDir = join(dirs.path, "changing-tracker");
    let current = await startTestTracker({ dataDir: trackerDir });
    const port = current.address.port;
    const first = current.tracker.fingerprint;
    const peers = new OpenPeers(() => current.address, join(dirs.path, "changing-peer"), {
      requestTimeoutMs: 3_000,
    });
    cleanups.push(async () => {
      await peers.closeAll();
      await current.close();
    });

    const peer = await peers.open();
    const notices = new EventLog(peer);
    await peer.signUp("carol", TEST_PASSWORD);
    const trusted = await notices.waitFor("notice", (event) => event.code === "TRACKER_TRUSTED");
    assert.match(trusted.text, new RegExp(first));
    const known = JSON.parse(readFileSync(join(dirs.path, "changing-peer", KNOWN_TRACKERS_FILE), "utf8"));
    assert.deepEqual(known, { [`127.0.0.1:${port}`]: first });
    await peers.close(peer);

    // Same address, same accounts, a new key: as if the tracker's machine had been replaced.
    await current.close();
    rmSync(join(trackerDir, TLS_KEY_FILE));
    rmSync(join(trackerDir, TLS_CERT_FILE));
    current = await startTestTracker({ dataDir: trackerDir, port });
    const second = current.tracker.fingerprint;
    assert.notEqual(second, first);

    const refusedPeer = await peers.open();
    const refused = await refusedPeer.signIn("carol", TEST_PASSWORD).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof Error);
    assert.equal(codeOf(refused), "TRACKER_KEY_MISMATCH");
    assert.match(refused.message, new RegExp(`--tracker-fingerprint ${second}`));
    assert.match(refused.message, new RegExp(first));
    await peers.close(refusedPeer);

    const accepting = await peers.open({ trackerFingerprint: second });
    assert.equal((await accepting.signIn("carol", TEST_PASSWORD)).username, "carol");
    await peers.close(accepting);
    const later = await peers.open();
    assert.equal((await later.signIn("carol", TEST_PASSWORD)).username, "carol");
  });

  test("tls - a host presenting another key than the one listed is refused with HOST_KEY_MISMATCH", async () => {
    const host = await startTestHost({ owner: "owner" });
    cleanups.push(() => host.close());
    await host.host.host("forged");
    const pool = new HostConnectionPool({ logger: silentLogger, backoff: FAST_BACKOFF });
    cleanups.push(() => pool.close());
    const channel = new ChannelRecorder();
    const forged = `sha256:${"0".repeat(64)}`;
    pool.get({ address: host.address, fingerprint: forged }).attach("forged", channel);
    await channel.until(() => channel.errors.length >= 1);
    const error = channel.errors[0];
    assert.ok(error instanceof HychatError || error instanceof Error);
    assert.equal(codeOf(error), "HOST_KEY_MISMATCH");
    assert.match((error as Error).message, new RegExp(host.host.fingerprint));
  });

  test("tls - a tracker with a CA-issued certificate for its name is verified the ordinary way, without first-use trust", async () => {
    const issued = await issueFromTestCa("localhost");
    const certDir = join(dirs.path, "ca-tracker-files");
    mkdirSync(certDir);
    writeFileSync(join(certDir, "fullchain.pem"), issued.certPem);
    writeFileSync(join(certDir, "privkey.pem"), issued.keyPem, { mode: 0o600 });
    const real = await tracker({
      tlsCert: join(certDir, "fullchain.pem"),
      tlsKey: join(certDir, "privkey.pem"),
    });
    const byName = { host: "localhost", port: real.address.port };
    const peerDir = join(dirs.path, "ca-peer");
    const peers = new OpenPeers(() => byName, peerDir, { trackerCa: [issued.caPem] });
    cleanups.push(() => peers.closeAll());
    const peer = await peers.open();
    const log = new EventLog(peer);
    assert.equal((await peer.signUp("dora", TEST_PASSWORD)).username, "dora");
    assert.equal(log.of("notice").filter((event) => event.code === "TRACKER_TRUSTED").length, 0);
    assert.equal(
      existsSync(join(peerDir, KNOWN_TRACKERS_FILE)),
      false,
      "a CA-verified tracker was stored as first use",
    );

    // Reached by its IP address the certificate does not name, so it is only trusted on first use.
    const byAddress = new OpenPeers(() => real.address, join(dirs.path, "ca-peer-by-ip"), {
      trackerCa: [issued.caPem],
    });
    cleanups.push(() => byAddress.closeAll());
    const other = await byAddress.open();
    const otherLog = new EventLog(other);
    await other.signIn("dora", TEST_PASSWORD);
    await otherLog.waitFor("notice", (event) => event.code === "TRACKER_TRUSTED");
  });

  test("tls - with the tracker down, a member refuses another key at its host's stored address and keeps the message", async () => {
    const trackerDir = join(dirs.path, "offline-tracker");
    let current: TestTracker | undefined = await startTestTracker({ dataDir: trackerDir });
    const trackerAddress = current.address;
    const peers = new OpenPeers(() => trackerAddress, join(dirs.path, "offline-peers"), {
      offlineAfterMs: 500,
    });
    cleanups.push(async () => {
      await peers.closeAll();
      await current?.close();
    });
    const owner = await peers.open();
    await owner.signUp("hana", TEST_PASSWORD);
    const port = (await owner.host("kept")).address?.port as number;
    const member = await peers.open();
    await member.signUp("ivo", TEST_PASSWORD);
    await member.join("kept");
    await peers.close(member);
    await peers.close(owner);
    await current.close();
    current = undefined;

    // Someone else now answers on the host's address, with a key of its own.
    const impostor = new TlsInterceptor(await testTlsIdentity(), { host: "127.0.0.1", port: 9 });
    await impostor.listen(port);
    cleanups.push(() => impostor.close());
    const offline = await peers.open();
    await offline.resume("ivo");
    // Two dials: the first refused, and the redial after it refused again.
    await impostor.whenConnections(2);
    assert.notEqual(offline.joinedChannels().find((channel) => channel.name === "kept")?.state, "online");
    const outcome = await offline.send("kept", SECRET_TEXT);
    assert.equal(outcome.status, "queued");
    assert.equal(Buffer.concat(impostor.plaintext).length, 0, "the member talked to a host with another key");
    assert.equal(offline.outbox().length, 1);
  });
});
