import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createServer, type Server } from "node:tls";
import { Connection } from "../../src/protocol/connection.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import type { Address } from "../../src/protocol/tracker-schemas.js";
import { testTlsIdentity } from "../helpers/tls.js";
import { TEST_PASSWORD } from "../helpers/tracker.js";
import { OpenPeers, tempDir } from "./harness.js";

/**
 * A hostile tracker: it answers `SIGNIN` and `GUEST` for whatever name the test sets, with a
 * ticket-shaped string, and `KEY`, `HELLO` and `PING` as a tracker would; anything else is refused.
 */
class NameForgingTracker {
  answerName = "";
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  async listen(): Promise<Address> {
    const identity = await testTlsIdentity();
    const server = createServer({ key: identity.key, cert: identity.cert }, (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      new Connection(
        socket,
        {
          onRequest: (frame, connection) => {
            const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
            const ticket = `${Buffer.from("{}").toString("base64url")}.${"A".repeat(86)}`;
            switch (frame.command) {
              case "HELLO":
                connection.reply(frame.id, "OK", {
                  version: PROTOCOL_VERSION,
                  server: "tracker",
                  challenge: randomBytes(32).toString("base64url"),
                });
                return;
              case "SIGNIN":
                connection.reply(frame.id, "OK", {
                  username: this.answerName,
                  role: "user",
                  ticket,
                  expiresAt,
                  invisible: false,
                });
                return;
              case "GUEST":
                connection.reply(frame.id, "OK", {
                  username: this.answerName,
                  role: "guest",
                  ticket,
                  expiresAt,
                });
                return;
              case "KEY":
                connection.reply(frame.id, "OK", {
                  algorithm: "Ed25519",
                  publicKey: "AAAA",
                  issuer: "forger",
                });
                return;
              case "PING":
                connection.reply(frame.id, "OK", { time: new Date().toISOString() });
                return;
              default:
                connection.reply(frame.id, "REQUEST_ERROR", { code: "UNKNOWN_COMMAND", message: "no" });
            }
          },
        },
        { heartbeatIntervalMs: 0 },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    return { host: "127.0.0.1", port: (server.address() as AddressInfo).port };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("peer and a tracker that answers another name", () => {
  const root = tempDir("hychat-peer-hostile-name-");
  const dataDir = join(root.path, "data");
  const forger = new NameForgingTracker();
  let address: Address;
  const peers = new OpenPeers(() => address, dataDir);

  before(async () => {
    mkdirSync(dataDir);
    address = await forger.listen();
  });
  after(async () => {
    await peers.closeAll();
    await forger.close();
    root.remove();
  });

  /** Asserts the sign-in is refused with BAD_REPLY, the peer signed in as nobody, nothing outside the data dir. */
  async function assertRefused(signIn: Promise<unknown>, peerIdentity: () => unknown): Promise<void> {
    await assert.rejects(signIn, (error: { code?: string }) => {
      assert.equal(error.code, "BAD_REPLY", String(error));
      return true;
    });
    assert.equal(peerIdentity(), null);
    assert.deepEqual(readdirSync(root.path), ["data"]);
    const files = tree(dataDir);
    for (const name of ["session.json", "client.db", "last-user"]) {
      assert.ok(!files.some((path) => path.endsWith(name)), `${name} written: ${files.join(", ")}`);
    }
  }

  for (const answered of ["..", ".", "../x", "mallory", "ALICE2", "guest-alice"]) {
    test(`peer - a SIGNIN for alice answered as ${JSON.stringify(answered)} is refused with BAD_REPLY`, async () => {
      forger.answerName = answered;
      const peer = await peers.open();
      await assertRefused(peer.signIn("alice", TEST_PASSWORD), () => peer.identity);
      assert.ok(!tree(dataDir).includes(answered.toLowerCase()), "no directory of the answered name");
      await peers.close(peer);
    });
  }

  test("peer - a GUEST answered with another guest's name, or a bare name, is refused with BAD_REPLY", async () => {
    for (const [asked, answered] of [
      ["visitor", "guest-other"],
      [undefined, "alice"],
      [undefined, "guest-.."],
    ] as const) {
      forger.answerName = answered;
      const peer = await peers.open();
      await assertRefused(peer.guest(asked), () => peer.identity);
      await peers.close(peer);
    }
  });
});
