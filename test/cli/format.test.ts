import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { defaultUsername } from "../../src/cli/commands/up.js";
import { clock, colorEnabled, describeError, displayText, Output } from "../../src/cli/format.js";
import {
  parseChannelName,
  parseGuestName,
  parseHostPort,
  parseUsername,
  portParser,
} from "../../src/cli/options.js";
import { wireError } from "../../src/protocol/errors.js";

function capture(color: boolean): { out: Output; text(): string } {
  const sink = new PassThrough();
  let text = "";
  sink.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const out = new Output(sink, color);
  return {
    out,
    text: () => {
      out.flush();
      return text;
    },
  };
}

describe("cli format", () => {
  test("cli - colour only on a terminal and never with NO_COLOR set", () => {
    assert.equal(colorEnabled({ isTTY: true }, {}), true);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "1" }), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "" }), true);
    assert.equal(colorEnabled({ isTTY: false }, {}), false);
    assert.equal(colorEnabled({}, {}), false);
    const plain = capture(false);
    plain.out.error("NOT_JOINED", "not in x");
    assert.equal(plain.text(), "error NOT_JOINED: not in x\n");
    const coloured = capture(true);
    coloured.out.error("NOT_JOINED", "not in x");
    assert.equal(coloured.text(), "\u001b[31merror NOT_JOINED: not in x\u001b[39m\n");
  });

  test("cli - errors print with their wire or local code", () => {
    assert.deepEqual(describeError(wireError("GUEST_READ_ONLY", "guests only read")), {
      code: "GUEST_READ_ONLY",
      message: "guests only read",
    });
    assert.deepEqual(describeError(Object.assign(new Error("in use"), { code: "EADDRINUSE" })), {
      code: "EADDRINUSE",
      message: "in use",
    });
    assert.deepEqual(describeError(new Error("plain")), { code: "INTERNAL_ERROR", message: "plain" });
    assert.deepEqual(describeError("odd"), { code: "INTERNAL_ERROR", message: "odd" });
  });

  test("cli - message text cannot drive the terminal and times print as HH:MM", () => {
    assert.equal(displayText("a\u001b[2Jb\u0007c\u009bd\ne\tf"), "a\uFFFD[2Jb\uFFFDc\uFFFDd\ne\tf");
    assert.match(clock("2026-01-02T09:30:00.000Z"), /^\d\d:\d\d$/);
    assert.equal(clock(null), "--:--");
    assert.equal(clock("not a date"), "--:--");
    const { out, text } = capture(false);
    out.message(
      {
        channel: "c",
        seq: 1,
        msgId: "m",
        from: "eve",
        text: "x\u001b]0;owned\u0007",
        ts: "bad",
        sentAt: null,
        sig: null,
        cert: null,
      },
      { own: false },
    );
    assert.equal(text(), "[c] --:-- eve: x\uFFFD]0;owned\uFFFD\n");
  });

  test("cli - tables align every column to its widest cell", () => {
    const { out, text } = capture(false);
    out.table(
      ["A", "LONG HEADER", "C"],
      [
        ["wide cell", "x", "last"],
        ["y", "z", ""],
      ],
    );
    assert.equal(
      text(),
      "A          LONG HEADER  C\nwide cell  x            last\ny          z            \n",
    );
  });

  test("cli - flag parsers accept what the protocol accepts and reject the rest", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:22236"), { host: "127.0.0.1", port: 22236 });
    assert.deepEqual(parseHostPort("[::1]:80"), { host: "::1", port: 80 });
    assert.deepEqual(parseHostPort("tracker.example:1"), { host: "tracker.example", port: 1 });
    for (const bad of ["127.0.0.1", ":80", "h:0", "h:65536", "h:8o", "::1:80"]) {
      assert.throws(() => parseHostPort(bad), /expected HOST:PORT|not a port/, bad);
    }
    assert.equal(portParser(true)("0"), 0);
    assert.throws(() => portParser(false)("0"), /not a port/);
    assert.deepEqual(parseChannelName("b", parseChannelName("a", undefined)), ["a", "b"]);
    assert.throws(() => parseChannelName("no spaces", undefined), /channel names/);
    assert.equal(parseUsername("alice"), "alice");
    assert.throws(() => parseUsername("guest-alice"), /guest/);
    assert.equal(parseGuestName("guest-bob"), "bob");
    assert.throws(() => parseGuestName("b o b"), /guest names/);
  });

  test("cli - hychat up defaults to $USER cut to a valid username, else me", () => {
    assert.equal(defaultUsername({ USER: "alice" }), "alice");
    assert.equal(defaultUsername({ USER: "jean pierre@host" }), "jeanpierrehost");
    assert.equal(defaultUsername({ USER: "Ω" }), "me");
    assert.equal(defaultUsername({ USER: "guest-x" }), "me");
    assert.equal(defaultUsername({}), "me");
  });
});
