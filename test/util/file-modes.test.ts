import assert from "node:assert/strict";
import { once } from "node:events";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createLogger } from "../../src/util/logger.js";
import { CliProcess } from "../cli/cli-process.js";
import { startTestTracker, TEST_PASSWORD } from "../helpers/tracker.js";
import { EventLog, openPeer } from "../peer/harness.js";

type LogFile = ReturnType<typeof pino.destination>;

/** Every file and directory under `root` (not `root` itself), with its permission bits. */
function walk(root: string): Map<string, number> {
  const found = new Map<string, number>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      found.set(relative(root, path), lstatSync(path).mode & 0o777);
      if (entry.isDirectory()) visit(path);
    }
  };
  visit(root);
  return found;
}

/** The entries group or others may read, write or enter. */
function openToOthers(modes: Map<string, number>): string[] {
  return [...modes]
    .filter(([, mode]) => (mode & 0o077) !== 0)
    .map(([path, mode]) => `${path} ${mode.toString(8)}`);
}

function assertHas(modes: Map<string, number>, paths: readonly string[]): void {
  const missing = paths.filter((path) => !modes.has(path));
  assert.deepEqual(missing, [], `expected files not written: ${[...modes.keys()].sort().join(", ")}`);
}

/** What the three roles write, with the SQLite -wal and -shm files that exist while they run. */
const TRACKER_FILES = [
  "tracker/tracker.db",
  "tracker/tracker.db-wal",
  "tracker/tracker.db-shm",
  "tracker/tracker-key.pem",
  "tracker/tracker-id",
  "tracker/tls-key.pem",
  "tracker/tls-cert.pem",
  "tracker/tls-ticket-keys",
];
const HOST_FILES = [
  "alice/device-id",
  "alice/known-trackers.json",
  "alice/last-user",
  "alice/alice",
  "alice/alice/client.db",
  "alice/alice/client.db-wal",
  "alice/alice/host.db",
  "alice/alice/host.db-wal",
  "alice/alice/host.db-shm",
  "alice/alice/session.json",
  "alice/alice/peer.lock",
  "alice/alice/tls-key.pem",
  "alice/alice/tls-cert.pem",
  "alice/alice/tls-ticket-keys",
];
const MEMBER_FILES = [
  "bob/device-id",
  "bob/known-trackers.json",
  "bob/bob/client.db",
  "bob/bob/session.json",
];

describe("file modes", () => {
  test("file modes - with umask 022, the tracker, a hosting peer and a member started as a library write nothing others can read", async () => {
    const root = mkdtempSync(join(tmpdir(), "hychat-modes-lib-"));
    const umask = process.umask(0o022);
    const tracker = await startTestTracker({ dataDir: join(root, "tracker") });
    const alice = await openPeer(tracker.address, join(root, "alice"));
    const bob = await openPeer(tracker.address, join(root, "bob"));
    try {
      await alice.signUp("alice", TEST_PASSWORD);
      await alice.host("room");
      await bob.signUp("bob", TEST_PASSWORD);
      await bob.join("room");
      const seen = new EventLog(alice);
      await bob.send("room", "hello");
      await seen.waitFor("message", (event) => event.message.text === "hello");
      const logFile = join(root, "logs", "peer.log");
      const logger = createLogger({ file: logFile, level: "info" });
      logger.info("one line");
      // The log file is opened asynchronously: closing it waits for that.
      const destination = (logger as unknown as Record<symbol, LogFile>)[pino.symbols.streamSym] as LogFile;
      const closed = once(destination, "close");
      destination.end();
      await closed;

      const running = walk(root);
      assertHas(running, [...TRACKER_FILES, ...HOST_FILES, ...MEMBER_FILES, "logs", "logs/peer.log"]);
      assert.deepEqual(openToOthers(running), []);
    } finally {
      await bob.close();
      await alice.close();
      await tracker.close();
      process.umask(umask);
    }
    assert.deepEqual(openToOthers(walk(root)), []);
    rmSync(root, { recursive: true, force: true });
  });
});

describe("file modes and secret lines of the CLI", () => {
  const home = mkdtempSync(join(tmpdir(), "hychat-modes-cli-"));
  const env = { HYCHAT_HOME: home, HYCHAT_TEST_PASSWORD: "correct horse battery", HYCHAT_LOG_LEVEL: "debug" };
  const children: CliProcess[] = [];
  let trackerProcess: CliProcess;
  let alice: CliProcess;
  let bob: CliProcess;
  let tracker = "";
  let umask = 0;

  const hychat = (...args: string[]) => {
    const child = new CliProcess(args, env);
    children.push(child);
    return child;
  };
  const peer = (username: string, ...extra: string[]) =>
    hychat(
      "peer",
      "--tracker",
      tracker,
      "--username",
      username,
      "--password-env",
      "HYCHAT_TEST_PASSWORD",
      "--signup",
      "--data-dir",
      join(home, username),
      "--log-file",
      join(home, "logs", `${username}.log`),
      ...extra,
    );

  before(async () => {
    // Children inherit a umask that leaves files readable to others: the CLI must set its own.
    umask = process.umask(0o022);
    trackerProcess = hychat(
      "tracker",
      "--port",
      "0",
      "--password-cost",
      "10",
      "--data-dir",
      join(home, "tracker"),
      "--log-file",
      join(home, "logs", "tracker.log"),
    );
    const [, address] = await trackerProcess.waitForLine(/^listening on (127\.0\.0\.1:\d+)$/);
    tracker = address ?? "";
    alice = peer("alice", "--channel-name", "room");
    await alice.waitForLine(/^hosting room on 127\.0\.0\.1:\d+$/);
    bob = peer("bob");
    bob.send("/join room");
    await bob.waitForLine(/^joined room \(owner alice/);
    bob.send("hello from bob");
    await alice.waitForLine(/^\[room\] \d\d:\d\d bob: hello from bob$/);
  });

  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    process.umask(umask);
    rmSync(home, { recursive: true, force: true });
  });

  test("file modes - nothing the tracker, a hosting peer and a member write is readable by others", () => {
    const running = walk(home);
    assertHas(running, [
      ...TRACKER_FILES,
      ...HOST_FILES,
      ...MEMBER_FILES,
      "logs/tracker.log",
      "logs/alice.log",
      "logs/bob.log",
    ]);
    assert.deepEqual(openToOthers(running), []);
  });

  test("cli - scripted /signin with wrong arguments takes the password line: never sent, printed or logged", async () => {
    bob.send("/signin bob now");
    bob.send("hunter2-secret-line");
    bob.send("after the password");
    await alice.waitForLine(/^\[room\] \d\d:\d\d bob: after the password$/);
    await bob.waitForLine(/^error USAGE: usage: \/signin USER$/);
    bob.endInput();
    alice.endInput();
    assert.deepEqual(await bob.waitForExit(), { code: 0, signal: null });
    assert.deepEqual(await alice.waitForExit(), { code: 0, signal: null });
    trackerProcess.child.kill("SIGTERM");
    assert.deepEqual(await trackerProcess.waitForExit(), { code: 0, signal: null });
    for (const child of [alice, bob, trackerProcess]) {
      assert.ok(!child.stdout.includes("hunter2"), child.stdout);
      assert.ok(!child.stderr.includes("hunter2"), child.stderr);
    }
    for (const name of ["tracker", "alice", "bob"]) {
      const log = readFileSync(join(home, "logs", `${name}.log`), "utf8");
      assert.ok(!log.includes("hunter2"), `${name}.log holds the password`);
    }
    // The debug log of bob's shell names the failed command, so it was written at all.
    assert.match(readFileSync(join(home, "logs", "bob.log"), "utf8"), /"command":"\/signin"/);
    assert.deepEqual(openToOthers(walk(home)), []);
  });
});
