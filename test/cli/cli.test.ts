import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { VERSION } from "../../src/util/version.js";
import { CliProcess } from "./cli-process.js";

const HOME = mkdtempSync(join(tmpdir(), "hychat-cli-"));
const ENV = { HYCHAT_HOME: HOME, HYCHAT_TEST_PASSWORD: "correct horse battery" };
const children: CliProcess[] = [];

function hychat(...args: string[]): CliProcess {
  const child = new CliProcess(args, ENV);
  children.push(child);
  return child;
}

const MESSAGE_LINE = (from: string, text: string) =>
  new RegExp(`^\\[first\\] \\d\\d:\\d\\d ${from}: ${text}$`);

describe("cli end to end", () => {
  let tracker = "";
  let alice: CliProcess;
  let bob: CliProcess;
  let carol: CliProcess;
  /** Where bob's output stood when alice went down. */
  let bobBeforeOutage = 0;

  /** A peer of `username` on the shared tracker, with its own data dir, signing up or in. */
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
      join(HOME, username),
      ...extra,
    );

  before(async () => {
    const [, address] = await hychat("tracker", "--port", "0", "--password-cost", "10").waitForLine(
      /^listening on (127\.0\.0\.1:\d+)$/,
    );
    tracker = address ?? "";
  });

  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    rmSync(HOME, { recursive: true, force: true });
  });

  test("cli - a headless peer prints hosting NAME on H:P once the tracker lists its channel", async () => {
    alice = peer("alice", "--channel-name", "first", "--headless");
    await alice.waitForLine(/^hosting first on 127\.0\.0\.1:\d+$/);
  });

  test("cli - scripted peers join a channel and see each other's messages", async () => {
    bob = peer("bob");
    carol = peer("carol");
    bob.send("/join first");
    carol.send("/join first");
    await bob.waitForLine(/^joined first \(owner alice, public/);
    await carol.waitForLine(/^joined first \(owner alice, public/);
    bob.send("hello from bob");
    await bob.waitForLine(MESSAGE_LINE("bob \\(you\\)", "hello from bob"));
    await carol.waitForLine(MESSAGE_LINE("bob", "hello from bob"));
    carol.send("/send first hi bob");
    await bob.waitForLine(MESSAGE_LINE("carol", "hi bob"));
    await alice.waitForLine(MESSAGE_LINE("carol", "hi bob"));
  });

  test("cli - a guest can read but sending prints error GUEST_READ_ONLY; unknown commands print an error", async () => {
    const guest = hychat(
      "peer",
      "--tracker",
      tracker,
      "--guest",
      "watcher",
      "--data-dir",
      join(HOME, "guest"),
    );
    guest.send("/join first");
    guest.send("may I speak?");
    guest.send("/frobnicate");
    guest.send("/list");
    guest.endInput();
    assert.deepEqual(await guest.waitForExit(), { code: 0, signal: null });
    const output = guest.stdout;
    assert.match(output, /^signed in as guest-watcher \(guest\)$/m);
    assert.match(output, /^\[first\] \d\d:\d\d bob: hello from bob$/m);
    assert.match(output, /^error GUEST_READ_ONLY: /m);
    assert.match(output, /^error UNKNOWN_COMMAND: unknown command \/frobnicate \(try \/help\)$/m);
    assert.match(output, /^first\s+alice\s+public\s+no\s+yes\s+\d+/m);
  });

  test("cli - a headless peer closes cleanly and exits 0 on SIGTERM", async () => {
    bobBeforeOutage = bob.stdoutLines.length;
    alice.child.kill("SIGTERM");
    assert.deepEqual(await alice.waitForExit(), { code: 0, signal: null });
  });

  test("cli - a message sent while the host is down shows as pending, then as delivered", async () => {
    const from = bobBeforeOutage;
    await bob.waitForLine(/^\[first\] host (connecting|unreachable)$/, { from });
    bob.send("while you were away");
    await bob.waitForLine(/^\[first\] \d\d:\d\d bob \(you\): while you were away \(pending\)$/, { from });
    // The same command again: --signup signs in to the existing account, the channel comes back.
    alice = peer("alice", "--channel-name", "first", "--headless");
    await alice.waitForLine(/^hosting first on 127\.0\.0\.1:\d+$/);
    await bob.waitForLine(/^\[first\] delivered #\d+: while you were away$/, { from });
    await carol.waitForLine(MESSAGE_LINE("bob", "while you were away"));
  });

  test("cli - a scripted session exits 0 at the end of its input", async () => {
    bob.endInput();
    carol.endInput();
    assert.deepEqual(await bob.waitForExit(), { code: 0, signal: null });
    assert.deepEqual(await carol.waitForExit(), { code: 0, signal: null });
  });

  test("cli - /send before /join keeps the message pending, across a restart, and /join delivers it once", async () => {
    const first = peer("dave");
    first.send("/send first hello before joining");
    await first.waitForLine(/^\[first\] \d\d:\d\d dave \(you\): hello before joining \(pending\)$/);
    await first.waitForLine(/^pending: join first to deliver$/);
    first.send("/send first drop me");
    first.send("/outbox");
    await first.waitForLine(/^2\s+first\s+not joined\s+\d\d:\d\d\s+drop me$/);
    first.send("/outbox drop 2");
    await first.waitForLine(/^\[first\] cancelled: drop me$/);
    first.send("/connected");
    await first.waitForLine(/^\s+first\s+not joined\s+1\s*$/);
    first.endInput();
    assert.deepEqual(await first.waitForExit(), { code: 0, signal: null });

    const from = alice.stdoutLines.length;
    const again = peer("dave");
    again.send("/outbox");
    await again.waitForLine(/^1\s+first\s+not joined\s+\d\d:\d\d\s+hello before joining$/);
    again.send("/join first");
    await again.waitForLine(/^\[first\] delivered #\d+: hello before joining$/);
    again.send("after joining");
    await alice.waitForLine(MESSAGE_LINE("dave", "after joining"), { from });
    const seen = alice.stdoutLines.slice(from).filter((line) => / dave: /.test(line));
    assert.equal(seen.length, 2, seen.join("\n"));
    assert.match(seen[0] ?? "", MESSAGE_LINE("dave", "hello before joining"));
    again.send("/outbox");
    await again.waitForLine(/^the outbox is empty$/);
    again.endInput();
    assert.deepEqual(await again.waitForExit(), { code: 0, signal: null });
  });

  test("cli - a headless peer with no saved session and no GUI exits 1 with NOT_SIGNED_IN", async () => {
    const lonely = hychat("peer", "--tracker", tracker, "--headless", "--data-dir", join(HOME, "nobody"));
    assert.deepEqual(await lonely.waitForExit(), { code: 1, signal: null });
    assert.match(lonely.stderr, /^error NOT_SIGNED_IN: no saved session/m);
  });

  test("cli - --help and --version work on every subcommand", async () => {
    const commands = ["", "peer", "up", "tracker"];
    const runs = commands.map((command) => {
      const args = command === "" ? [] : [command];
      return { command, help: hychat(...args, "--help"), version: hychat(...args, "--version") };
    });
    const helps = new Map<string, string>();
    for (const { command, help, version } of runs) {
      assert.deepEqual(await help.waitForExit(), { code: 0, signal: null });
      assert.match(help.stdout, /^Usage: hychat/m);
      helps.set(command, help.stdout);
      assert.deepEqual(await version.waitForExit(), { code: 0, signal: null });
      assert.equal(version.stdout.trim(), VERSION);
    }
    const peerHelp = helps.get("peer") ?? "";
    for (const flag of ["--tracker <host:port>", "--channel-name", "--headless", "--gui", "--password-env"]) {
      assert.ok(peerHelp.includes(flag), flag);
    }
    assert.match(peerHelp, /default: 127\.0\.0\.1:22236/);
  });

  test("cli - a bad flag exits non-zero with a clear message", async () => {
    const unknown = hychat("peer", "--no-such-flag");
    const badPort = hychat("peer", "--tracker", "localhost:http");
    assert.notEqual((await unknown.waitForExit()).code, 0);
    assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
    assert.notEqual((await badPort.waitForExit()).code, 0);
    assert.match(badPort.stderr, /--tracker <host:port>.*expected HOST:PORT/);
  });
});
