import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { pino } from "pino";
import { EventPrinter } from "../../src/cli/event-printer.js";
import { Output } from "../../src/cli/format.js";
import { Shell } from "../../src/cli/shell.js";
import { SLASH_COMMANDS } from "../../src/cli/slash/registry.js";
import { Terminal } from "../../src/cli/terminal.js";
import { type Logger, silentLogger } from "../../src/util/logger.js";
import { FakePeer } from "../helpers/fake-peer.js";

/** The shared fake, recording each call as one `method arg…` line. */
class CliFakePeer extends FakePeer<string> {
  constructor() {
    super((method, args) => [method, ...args].join(" "));
  }
}

interface Harness {
  peer: CliFakePeer;
  /** The shell's input, as a pipe. */
  input: PassThrough;
  shell: Shell;
  /** Everything written to the shell's output so far. */
  text(): string;
  lines(): string[];
}

function harness(peer = new CliFakePeer(), drainTimeoutMs?: number, logger: Logger = silentLogger): Harness {
  const input = new PassThrough();
  const sink = new PassThrough();
  let written = "";
  sink.on("data", (chunk: Buffer) => {
    written += chunk.toString("utf8");
  });
  const out = new Output(sink, false);
  let shell: Shell | undefined;
  const terminal = new Terminal({ input, output: sink as unknown as NodeJS.WriteStream });
  const printer = new EventPrinter(out, {
    current: () => shell?.current() ?? null,
    markRead: (channel) => peer.markRead(channel),
    username: () => peer.identity?.username ?? null,
  });
  peer.subscribe((event) => printer.handle(event));
  shell = new Shell({
    peer,
    terminal,
    out,
    printer,
    logger,
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
  });
  const created = shell;
  return {
    peer,
    input,
    shell: created,
    text: () => written,
    lines: () => written.split("\n").filter((line) => line !== ""),
  };
}

/** Runs a script of input lines through a fresh shell to the end of input. */
async function script(lines: string[], setup?: (peer: CliFakePeer) => void): Promise<Harness> {
  const peer = new CliFakePeer();
  setup?.(peer);
  const h = harness(peer);
  h.input.end(`${lines.join("\n")}\n`);
  await h.shell.run();
  return h;
}

function withChannels(peer: CliFakePeer): void {
  peer.identity = { username: "bob", role: "user", invisible: false };
  peer.directory.push(
    {
      name: "first",
      owner: "alice",
      view: "public",
      moderated: false,
      online: true,
      address: { host: "127.0.0.1", port: 4000 },
      fingerprint: `sha256:${"ab".repeat(32)}`,
      members: 2,
      reach: "direct",
    },
    {
      name: "second-channel",
      owner: "carol",
      view: "private",
      moderated: true,
      online: false,
      address: null,
      fingerprint: null,
      members: 0,
      reach: null,
    },
  );
}

/** A debug-level logger whose output the test reads back. */
function capturingLogger(): { logger: Logger; text(): string; entries(): Record<string, unknown>[] } {
  let written = "";
  const logger = pino(
    { level: "debug" },
    {
      write: (line: string) => {
        written += line;
      },
    },
  );
  return {
    logger,
    text: () => written,
    entries: () =>
      written
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("cli shell", () => {
  test("cli - shell reads commands from non-terminal input, one at a time, and ends at end of input", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    h.input.end("/join first\nhello there\n/connected\n");
    await h.shell.run();
    const text = h.text();
    assert.match(text, /^joined first \(owner alice, public, 0 online\)$/m);
    assert.match(text, /^\[first\] \d\d:\d\d bob \(you\): hello there$/m);
    assert.match(text, /^\*\s+first\s+online\s+0\s+0\s+user\s+0$/m);
    assert.ok(text.indexOf("joined first") < text.indexOf("hello there"));
    assert.ok(!text.includes("> "), "no prompt when input is not a terminal");
  });

  test("cli - /list prints the directory as an aligned table", async () => {
    const h = await script(["/list"], withChannels);
    const [header, first, second] = h.lines();
    assert.match(header ?? "", /^NAME\s+OWNER\s+VIEW\s+MODERATED\s+ONLINE\s+MEMBERS\s+ADDRESS$/);
    assert.match(first ?? "", /^first\s+alice\s+public\s+no\s+yes\s+2\s+127\.0\.0\.1:4000$/);
    assert.match(second ?? "", /^second-channel\s+carol\s+private\s+yes\s+no\s+0\s+-$/);
    assert.equal(header?.indexOf("OWNER"), first?.indexOf("alice"));
    assert.equal(first?.indexOf("alice"), second?.indexOf("carol"));
  });

  test("cli - unknown commands and bad arguments print an error and the shell goes on", async () => {
    const h = await script(["/frobnicate now", "/join", "/retrieve many", "/online"], withChannels);
    assert.deepEqual(h.lines(), [
      "error UNKNOWN_COMMAND: unknown command /frobnicate (try /help)",
      "error USAGE: usage: /join NAME [NAME...]",
      "error USAGE: usage: /retrieve [N]",
      "online (1): bob",
    ]);
  });

  test("cli - an unknown command of any length is echoed cut short", async () => {
    const h = await script([`/${"y".repeat(100_000)}`]);
    assert.deepEqual(h.lines(), [`error UNKNOWN_COMMAND: unknown command /${"y".repeat(32)}… (try /help)`]);
  });

  test("cli - facade errors print as error CODE: message", async () => {
    const h = await script(["/guest viewer", "/join first", "can I talk?", "/join nowhere"], withChannels);
    const text = h.text();
    assert.match(text, /^signed in as guest-viewer \(guest\)$/m);
    assert.match(text, /^error GUEST_READ_ONLY: guests can only read$/m);
    assert.match(text, /^error NO_SUCH_CHANNEL: no channel nowhere$/m);
  });

  test("cli - /join of several channels goes on past one that fails", async () => {
    const h = await script(["/join nowhere first", "/connected"], withChannels);
    const text = h.text();
    assert.match(text, /^error NO_SUCH_CHANNEL: no channel nowhere$/m);
    assert.match(text, /^joined first /m);
  });

  test("cli - plain text while signed out asks to sign in", async () => {
    const h = await script(["hello?"]);
    assert.deepEqual(h.lines(), [
      "error NOT_SIGNED_IN: not signed in: /signin USER, /signup USER or /guest first",
    ]);
  });

  test("cli - plain text without a current channel is refused", async () => {
    const h = await script(["hello?"], withChannels);
    assert.deepEqual(h.lines(), ["error NO_CHANNEL: no current channel: /join NAME first"]);
  });

  test("cli - /signin reads the password from the next input line when scripted", async () => {
    const peer = new CliFakePeer();
    const h = harness(peer);
    h.input.end("/signin dave\nsecret-password\n/signin dave\nwrong-password\n");
    await h.shell.run();
    assert.deepEqual(peer.calls, ["signIn dave secret-password", "signIn dave wrong-password"]);
    assert.deepEqual(h.lines(), [
      "signed in as dave (user)",
      "error BAD_CREDENTIALS: wrong username or password",
    ]);
  });

  test("cli - a scripted /signin or /signup with wrong arguments still takes the next line as its password", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const debugLog = capturingLogger();
    const h = harness(peer, undefined, debugLog.logger);
    h.input.end(
      [
        "/join first",
        "/signin bob now",
        "hunter2-first",
        "/login",
        "hunter2-second",
        "/signup bob extra words",
        "hunter2-third",
        "after the passwords",
      ].join("\n"),
    );
    await h.shell.run();
    assert.deepEqual(
      peer.calls.filter((call) => !call.startsWith("markRead")),
      ["join first", "send first after the passwords"],
    );
    const [joined, ...rest] = h.lines();
    assert.match(joined ?? "", /^joined first /);
    assert.deepEqual(rest.slice(0, 3), [
      "error USAGE: usage: /signin USER",
      "error USAGE: usage: /signin USER",
      "error USAGE: usage: /signup USER",
    ]);
    assert.match(rest[3] ?? "", /^\[first\] \d\d:\d\d bob \(you\): after the passwords$/);
    assert.equal(rest.length, 4);
    assert.ok(!h.text().includes("hunter2"), "no password is printed");
    assert.ok(!debugLog.text().includes("hunter2"), "no password is logged");
  });

  test("cli - a failed line is logged by command name and code only, never its text", async () => {
    const peer = new CliFakePeer();
    const debugLog = capturingLogger();
    const h = harness(peer, undefined, debugLog.logger);
    h.input.end("hunter2-typed-while-signed-out\n/frobnicate hunter2-as-argument\n/join hunter2-channel\n");
    await h.shell.run();
    assert.match(h.text(), /^error NOT_SIGNED_IN: /m);
    const entries = debugLog.entries();
    assert.deepEqual(
      entries.map((entry) => [entry.command, entry.code]),
      [
        ["(text)", "NOT_SIGNED_IN"],
        ["(unknown)", "UNKNOWN_COMMAND"],
        ["/join", "NO_SUCH_CHANNEL"],
      ],
    );
    assert.ok(!debugLog.text().includes("hunter2"), debugLog.text());
  });

  test("cli - messages for other channels print with their channel; /send names a channel", async () => {
    const h = await script(
      ["/join first second-channel", "/send first to the first", "/send just text", "/switch first"],
      withChannels,
    );
    const text = h.text();
    assert.match(text, /^\[first\] \d\d:\d\d bob \(you\): to the first$/m);
    assert.match(text, /^\[second-channel\] \d\d:\d\d bob \(you\): just text$/m);
    assert.match(text, /^current channel: first$/m);
    assert.ok(h.peer.calls.includes("send first to the first"));
    assert.ok(h.peer.calls.includes("send second-channel just text"));
  });

  test("cli - an incoming message is printed as [channel] HH:MM from: text and marks the current channel read", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    const running = h.shell.run();
    await h.shell.execute("/join first");
    peer.receive("first", "alice", "line one\nline two\u001b[31m");
    h.shell.stop();
    await running;
    assert.match(h.text(), /^\[first\] \d\d:\d\d alice: line one\n {4}line two\uFFFD\[31m$/m);
    assert.ok(peer.calls.includes("markRead first"));
  });

  test("cli - a queued message is marked pending and its delivery is reported once", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    const running = h.shell.run();
    await h.shell.execute("/join first");
    peer.reachable = false;
    await h.shell.execute("wait for me");
    peer.deliverOutbox();
    h.shell.stop();
    await running;
    const lines = h.lines();
    assert.equal(
      lines.filter((line) => /^\[first\] \d\d:\d\d bob \(you\): wait for me \(pending\)$/.test(line)).length,
      1,
    );
    assert.equal(lines.filter((line) => line === "[first] delivered #1: wait for me").length, 1);
    assert.equal(lines.filter((line) => line.includes("wait for me")).length, 2);
  });

  test("cli - a queued message its host refuses later is printed as not delivered, once", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    const running = h.shell.run();
    await h.shell.execute("/join first");
    peer.reachable = false;
    await h.shell.execute("may I speak now?");
    const [entry] = peer.outbox();
    peer.refuseOutbox("NOT_AUTHORIZED", "only authorized users may send");
    // A second report of the same entry finds it forgotten.
    peer.emit({
      type: "dropped",
      channel: "first",
      msgId: entry?.msgId ?? "",
      reason: "refused",
      code: "NOT_AUTHORIZED",
      message: "only authorized users may send",
    });
    h.shell.stop();
    await running;
    const lines = h.lines();
    assert.deepEqual(
      lines.filter((line) => line.includes("not delivered")),
      ["[first] not delivered: may I speak now? (error NOT_AUTHORIZED: only authorized users may send)"],
    );
    assert.equal(lines.filter((line) => line.includes("(pending)")).length, 1);
  });

  test("cli - a message refused while /send waits prints only the command's error", async () => {
    const h = await script(["/join first", "may I speak?"], (peer) => {
      withChannels(peer);
      peer.refusal = { code: "NOT_AUTHORIZED", message: "only authorized users may send" };
    });
    const lines = h.lines();
    assert.deepEqual(
      lines.filter((line) => line.includes("NOT_AUTHORIZED")),
      ["error NOT_AUTHORIZED: only authorized users may send"],
    );
    assert.equal(lines.filter((line) => line.includes("may I speak?")).length, 0);
  });

  test("cli - messages left in the outbox are shown as pending at sign-in, then as delivered", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const before = harness(peer);
    const running = before.shell.run();
    await before.shell.execute("/join first");
    peer.reachable = false;
    await before.shell.execute("sent before a restart");
    before.shell.stop();
    await running;
    // A new shell and printer, as after a restart, signing in to the same outbox.
    const h = harness(peer);
    peer.subscribe((event) => {
      if (event.type === "queued") peer.deliverOutbox();
    });
    h.input.end("/signin bob\nsecret-password\n");
    await h.shell.run();
    const lines = h.lines();
    assert.equal(
      lines.filter((line) =>
        /^\[first\] \d\d:\d\d bob \(you\): sent before a restart \(pending\)$/.test(line),
      ).length,
      1,
    );
    assert.equal(lines.filter((line) => line === "[first] delivered #1: sent before a restart").length, 1);
  });

  test("cli - after signing out and in again, hosted channels are announced again", async () => {
    const h = await script(
      ["/host room", "/signout", "/signin bob", "secret-password", "/host room"],
      withChannels,
    );
    assert.equal(h.lines().filter((line) => /^hosting room on /.test(line)).length, 2);
  });

  test("cli - at the end of scripted input the shell waits for the outbox of reachable channels", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    let ended = false;
    const queued = new Promise<void>((resolve) => {
      peer.subscribe((event) => {
        // Joined while reachable; the host goes away before the message is sent.
        if (event.type === "joined") peer.reachable = false;
        if (event.type === "queued") resolve();
      });
    });
    const running = h.shell.run().then(() => {
      ended = true;
    });
    h.input.end("/join first\nlast words\n");
    await queued;
    // The input has ended; without the wait the shell would be done within a few turns.
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ended, false);
    peer.deliverOutbox();
    await running;
    assert.ok(h.lines().includes("[first] delivered #1: last words"));
  });

  test("cli - at the end of scripted input the shell waits for channels still connecting, not unreachable ones", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer, 60_000);
    let ended = false;
    const queued = new Promise<void>((resolve) => {
      peer.subscribe((event) => {
        if (event.type === "joined") peer.reachable = false;
        if (event.type === "queued") resolve();
      });
    });
    const running = h.shell.run().then(() => {
      ended = true;
    });
    h.input.end("/join first\nstill connecting\n");
    await queued;
    const [first] = peer.joinedChannels();
    assert.ok(first);
    first.state = "connecting";
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ended, false);
    first.state = "unreachable";
    // Any event makes the shell look again; an unreachable channel keeps its outbox for next time.
    peer.emit({ type: "link", channel: "first", state: "unreachable" });
    await running;
    assert.equal(peer.outbox().length, 1);
  });

  test("cli - the wait for the outbox at the end of scripted input is bounded", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer, 50);
    peer.subscribe((event) => {
      if (event.type === "joined") peer.reachable = false;
    });
    h.input.end("/join first\nnever delivered\n");
    await h.shell.run();
    assert.equal(peer.outbox().length, 1);
  });

  test("cli - owner commands report their results", async () => {
    const h = await script(
      [
        "/host room private",
        "/view room public",
        "/moderate room on",
        "/author room dave",
        "/author room dave revoke",
        "/unhost room",
        "/view",
        "/moderate room maybe",
      ],
      withChannels,
    );
    assert.deepEqual(h.lines(), [
      "hosting room on 127.0.0.1:40000",
      "[room] now public, not moderated",
      "[room] now public, moderated",
      "authorized dave in room",
      "authorized in room: dave",
      "revoked dave in room",
      "authorized in room: nobody",
      "stopped hosting room",
      "error USAGE: usage: /view NAME public|private",
      "error USAGE: usage: /moderate NAME on|off",
    ]);
  });

  test("cli - /help lists every command and /history is /retrieve", async () => {
    const h = await script(["/help", "/help history", "/help nothing"], withChannels);
    const text = h.text();
    for (const command of SLASH_COMMANDS) assert.ok(text.includes(command.usage), command.usage);
    assert.match(text, /^\/retrieve \[N\]$/m);
    assert.match(text, /also: \/history/);
    assert.match(text, /^error UNKNOWN_COMMAND: no command \/nothing \(try \/help\)$/m);
  });

  test("cli - /retrieve pages back through the current channel", async () => {
    const h = await script(["/join first", "/retrieve 2", "/history", "/retrieve"], (peer) => {
      withChannels(peer);
      for (let n = 1; n <= 60; n += 1) peer.receive("first", "alice", `number ${n}`);
    });
    const lines = h.lines();
    const shown = (from: number) => lines.slice(from).filter((line) => line.startsWith("[first]"));
    const afterJoin = lines.indexOf("older messages in first:");
    assert.deepEqual(
      shown(afterJoin).map((line) => line.replace(/^.*: /, "")),
      [
        "number 9",
        "number 10",
        "number 1",
        "number 2",
        "number 3",
        "number 4",
        "number 5",
        "number 6",
        "number 7",
        "number 8",
      ],
    );
    assert.ok(lines.includes("that is the start of first"));
    assert.equal(lines.at(-1), "no older messages in first");
  });

  test("cli - /exit ends the shell before the rest of the input", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    h.input.write("/online\n/exit\n/list\n");
    await h.shell.run();
    h.input.destroy();
    assert.deepEqual(h.lines(), ["online (1): bob"]);
  });

  test("cli - tab completion offers commands, then channel names", async () => {
    const peer = new CliFakePeer();
    withChannels(peer);
    const h = harness(peer);
    const running = h.shell.run();
    await h.shell.execute("/list");
    await h.shell.execute("/join first");
    assert.deepEqual(h.shell.complete("/jo"), [["/join "], "/jo"]);
    assert.deepEqual(h.shell.complete("/join se"), [["second-channel"], "se"]);
    assert.deepEqual(h.shell.complete("/switch f"), [["first"], "f"]);
    assert.deepEqual(h.shell.complete("/help sig"), [["signup", "signin", "signout"], "sig"]);
    assert.deepEqual(h.shell.complete("/nothing x"), [[], "/nothing x"]);
    h.shell.stop();
    await running;
  });
});
