import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createServer, type Server } from "node:tls";
import Database from "better-sqlite3";
import { signMessage } from "../../src/auth/message-signature.js";
import { HOST_DB_FILE } from "../../src/host/history-store.js";
import type { Peer } from "../../src/peer/peer.js";
import { userDir } from "../../src/peer/session-file.js";
import { Connection } from "../../src/protocol/connection.js";
import { PROTOCOL_VERSION, type RequestFrame } from "../../src/protocol/frames.js";
import { testTlsIdentity } from "../helpers/tls.js";
import {
  connectUser,
  type SignedInClient,
  startTestTracker,
  TEST_PASSWORD,
  type TestTracker,
} from "../helpers/tracker.js";
import { EventLog, openPeer } from "../peer/harness.js";
import { CliProcess } from "./cli-process.js";

const FORGED = "I owe alice 100 euros";
/** Escape sequences a hostile host would like a terminal to run: clear screen, a C1 CSI, a bell. */
const ESCAPES = "\u001b[2J\u009b31m\u0007";
/** What the CLI prints of `ESCAPES`: every control character replaced. */
const DEFUSED = "\uFFFD[2J\uFFFD31m\uFFFD";

/** An answer the hostile host gives: OK with a body, or an error with a status and a body. */
type Answer = { status: "OK" | "REQUEST_ERROR" | "UNAUTHORIZED" | "SERVER_ERROR"; body: object };

/**
 * A channel host run by an attacker: a TLS server that answers `HELLO` properly (with a challenge)
 * and every other request as `answer` says, per command and channel.
 */
class HostileHost {
  readonly server: Server;
  /** Every request received, in order. */
  readonly requests: RequestFrame[] = [];
  private readonly connections = new Set<Connection>();

  constructor(
    key: string,
    cert: string,
    private readonly answer: (frame: RequestFrame) => Answer,
  ) {
    this.server = createServer({ key, cert, minVersion: "TLSv1.3" }, (socket) => {
      const connection = new Connection(socket, {
        onRequest: (frame, link) => {
          this.requests.push(frame);
          if (frame.command === "HELLO") {
            link.reply(frame.id, "OK", {
              version: PROTOCOL_VERSION,
              server: "host",
              challenge: randomBytes(32).toString("base64url"),
            });
            return;
          }
          const { status, body } = this.answer(frame);
          link.reply(frame.id, status, body);
        },
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(connection);
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    this.server.close();
    await once(this.server, "close");
  }
}

describe("cli signed messages", () => {
  const home = mkdtempSync(join(tmpdir(), "hychat-cli-signed-"));
  let tracker: TestTracker;
  const peers: Peer[] = [];
  const children: CliProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    tracker = await startTestTracker();
  });

  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await Promise.all(peers.map((peer) => peer.close()));
    for (const close of closers.reverse()) await close();
    await tracker.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** A facade peer (in this process) on a data dir of its own under `home`. */
  async function facade(name: string): Promise<Peer> {
    const peer = await openPeer(tracker.address, join(home, name));
    peers.push(peer);
    return peer;
  }

  async function closeFacade(peer: Peer): Promise<void> {
    peers.splice(peers.indexOf(peer), 1);
    await peer.close();
  }

  /** `hychat peer` as `username` (signing up), its input scripted, against the test tracker. */
  function cliPeer(username: string): CliProcess {
    const child = new CliProcess(
      [
        "peer",
        "--tracker",
        `${tracker.address.host}:${tracker.address.port}`,
        "--tracker-fingerprint",
        tracker.tracker.fingerprint,
        "--username",
        username,
        "--password-env",
        "HYCHAT_TEST_PASSWORD",
        "--signup",
        "--data-dir",
        join(home, username),
      ],
      { HYCHAT_HOME: home, HYCHAT_TEST_PASSWORD: TEST_PASSWORD },
    );
    children.push(child);
    return child;
  }

  test("cli - a channel whose host.db was tampered shows only the untampered messages and one warning", async () => {
    let alice = await facade("alice");
    await alice.signUp("alice", TEST_PASSWORD);
    await alice.host("room");
    const bob = await facade("bob");
    await bob.signUp("bob", TEST_PASSWORD);
    await bob.join("room");
    for (const text of ["one", "two", "three"]) {
      assert.equal((await bob.send("room", text)).status, "delivered");
    }
    await closeFacade(bob);
    await closeFacade(alice);

    // The owner rewrites one stored message in their own host.db: what any host could do.
    const db = new Database(join(userDir(join(home, "alice"), "alice"), HOST_DB_FILE));
    try {
      const changed = db
        .prepare("UPDATE messages SET text = ? WHERE channel = 'room' AND text = 'two'")
        .run(FORGED);
      assert.equal(changed.changes, 1);
    } finally {
      db.close();
    }
    alice = await facade("alice");
    const aliceLog = new EventLog(alice);
    await alice.resume("alice");
    await aliceLog.waitFor("hosting", (event) => event.channel.name === "room" && event.channel.listed);

    const carol = cliPeer("carol");
    carol.send("/join room");
    carol.endInput();
    assert.deepEqual(await carol.waitForExit(), { code: 0, signal: null }, carol.stderr);
    const lines = carol.stdoutLines;
    assert.ok(
      lines.some((line) => /^joined room \(owner alice, public/.test(line)),
      carol.stdout,
    );
    const shown = lines.filter((line) => line.startsWith("[room] "));
    assert.deepEqual(
      shown.map((line) => line.replace(/^\[room\] \d\d:\d\d /, "")),
      ["bob: one", "bob: three"],
    );
    const warnings = lines.filter((line) => line.startsWith("warning: "));
    assert.deepEqual(warnings, [
      "warning: #room: 1 message from the host left out, not shown as their authors' (1 with a signature that does not match)",
    ]);
    assert.equal(carol.stdout.includes(FORGED), false, "the forged text was printed");
    assert.equal(carol.stderr.includes(FORGED), false, "the forged text was printed on standard error");
  });

  test("cli - a hostile host's error codes and messages put no escape sequence on the terminal", async () => {
    const mallory: SignedInClient = await connectUser(tracker.address, "mallory");
    closers.push(() => mallory.client.close());
    const hostileText = `the host says ${ESCAPES} hello`;
    const hostileCode = `EVIL${ESCAPES}CODE`;
    const identity = await testTlsIdentity();
    const hostile = new HostileHost(identity.key, identity.cert, (frame) => {
      const channel = (frame.body as { channel?: unknown }).channel;
      if (frame.command === "CONNECT") {
        switch (channel) {
          case "trap":
            // A code no client knows: the link counts the host as unreachable and retries.
            return { status: "REQUEST_ERROR", body: { code: hostileCode, message: hostileText } };
          case "trap-private":
            // A final refusal: the CLI prints it as `error CODE: message`.
            return { status: "UNAUTHORIZED", body: { code: "PRIVATE_CHANNEL", message: hostileText } };
          case "trap-ticket":
            // A refused ticket: the CLI prints a warning with the host's message.
            return { status: "UNAUTHORIZED", body: { code: "BAD_TICKET", message: hostileText } };
          default:
            return {
              status: "OK",
              body: {
                channel,
                owner: "mallory",
                view: "public",
                moderated: false,
                role: "user",
                members: [],
                history: [],
                latestSeq: 0,
                hasMore: false,
              },
            };
        }
      }
      // Sends into the joined channel are refused with the hostile code and message.
      if (frame.command === "MESSAGE" || frame.command === "CACHE") {
        return { status: "REQUEST_ERROR", body: { code: hostileCode, message: hostileText } };
      }
      return { status: "OK", body: {} };
    });
    const port = await hostile.listen();
    closers.push(() => hostile.close());
    for (const channel of ["trap", "trap-private", "trap-ticket", "trap-send"]) {
      await mallory.client.request("HOST", { channel, port, fingerprint: identity.fingerprint });
    }

    const dave = cliPeer("dave");
    dave.send("/join trap");
    dave.send("/join trap-private");
    dave.send("/join trap-ticket");
    dave.send("/join trap-send");
    dave.send("/send trap-send hello mallory");
    dave.endInput();
    assert.deepEqual(await dave.waitForExit(), { code: 0, signal: null }, dave.stderr);

    const connects = hostile.requests.filter((frame) => frame.command === "CONNECT");
    for (const channel of ["trap", "trap-private", "trap-ticket", "trap-send"]) {
      assert.ok(
        connects.some((frame) => (frame.body as { channel?: unknown }).channel === channel),
        `dave never asked the hostile host for ${channel}`,
      );
    }
    assert.ok(
      hostile.requests.some((frame) => frame.command === "MESSAGE" || frame.command === "CACHE"),
      "dave's message never reached the hostile host",
    );
    // What the host said did reach the terminal, defused.
    const out = dave.stdout;
    const defusedText = `the host says ${DEFUSED} hello`;
    assert.ok(out.includes(`error PRIVATE_CHANNEL: ${defusedText}`), out);
    assert.ok(out.includes(`warning: #trap-ticket: ${defusedText}`), out);
    assert.ok(out.includes(`error EVIL${DEFUSED}CODE: ${defusedText}`), out);
    // And not one control byte of it, on standard output or standard error.
    const bytes = dave.stdoutBytes;
    for (const [what, byte] of [
      ["ESC", 0x1b],
      ["BEL", 0x07],
    ] as const) {
      assert.equal(bytes.includes(byte), false, `${what} on standard output`);
    }
    // A raw 0x9b would be a C1 CSI to a terminal that is not in UTF-8: the output must decode as UTF-8.
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    for (const character of ["\u001b", "\u009b", "\u0007"]) {
      assert.equal(
        decoded.includes(character),
        false,
        `U+${character.codePointAt(0)?.toString(16)} on stdout`,
      );
      assert.equal(
        dave.stderr.includes(character),
        false,
        `U+${character.codePointAt(0)?.toString(16)} on stderr`,
      );
    }
  });
  test("cli - a message from a channel's history is shown in that channel, whatever channel the host labels it with", async () => {
    const oscar: SignedInClient = await connectUser(tracker.address, "oscar");
    closers.push(() => oscar.client.close());
    // Oscar really wrote this, in #stage; his host serves it labelled as #lobby.
    const sentAt = new Date().toISOString();
    const text = "see you at the stage door";
    const written = { channel: "stage", from: "oscar", msgId: "s-1", sentAt, text };
    const relabelled = {
      ...written,
      channel: "lobby",
      seq: 1,
      ts: sentAt,
      sig: signMessage(oscar.key, written),
      cert: oscar.ticket,
    };
    const identity = await testTlsIdentity();
    const host = new HostileHost(identity.key, identity.cert, (frame) =>
      frame.command === "CONNECT"
        ? {
            status: "OK",
            body: {
              channel: "stage",
              owner: "oscar",
              view: "public",
              moderated: false,
              role: "user",
              members: [],
              history: [relabelled],
              latestSeq: 1,
              hasMore: false,
            },
          }
        : { status: "OK", body: {} },
    );
    const port = await host.listen();
    closers.push(() => host.close());
    await oscar.client.request("HOST", { channel: "stage", port, fingerprint: identity.fingerprint });

    const erin = cliPeer("erin");
    erin.send("/join stage");
    erin.endInput();
    assert.deepEqual(await erin.waitForExit(), { code: 0, signal: null }, erin.stderr);
    const shown = erin.stdoutLines.filter((line) => line.endsWith(text));
    assert.equal(shown.length, 1, erin.stdout);
    assert.match(shown[0] ?? "", /^\[stage\] \d\d:\d\d oscar: /, "shown under the channel it was written in");
  });
});
