import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { createServer, type Server } from "node:tls";
import { Connection } from "../../src/protocol/connection.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { TestClient } from "../helpers/client.js";
import { startTestHost, type TestHost } from "../helpers/host.js";
import { testTlsIdentity } from "../helpers/tls.js";
import { connectUser, type SignedInClient, TEST_PASSWORD } from "../helpers/tracker.js";
import { openPeer, tempDir, WAIT_MS } from "../peer/harness.js";

/**
 * A host run by an attacker: it answers `HELLO` with a challenge it got from the real host (so the
 * victim signs for that connection) and keeps the `CONNECT` it is handed.
 */
class HostileHost {
  readonly server: Server;
  readonly connects: Record<string, unknown>[] = [];
  private readonly waiting = new Set<() => void>();
  private readonly connections = new Set<Connection>();

  constructor(
    key: string,
    cert: string,
    private readonly challenge: () => string,
  ) {
    this.server = createServer({ key, cert, minVersion: "TLSv1.3" }, (socket) => {
      const connection = new Connection(socket, {
        onRequest: (frame, link) => {
          if (frame.command === "HELLO") {
            link.reply(frame.id, "OK", {
              version: PROTOCOL_VERSION,
              server: "host",
              challenge: this.challenge(),
            });
            return;
          }
          if (frame.command === "CONNECT") {
            this.connects.push(frame.body);
            for (const wake of this.waiting) wake();
          }
          link.reply(frame.id, "SERVER_ERROR", { code: "INTERNAL_ERROR", message: "try again later" });
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

  /** Resolves with the first CONNECT handed over, waiting up to `WAIT_MS`. */
  firstConnect(): Promise<Record<string, unknown>> {
    const seen = this.connects[0];
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no CONNECT reached the hostile host")), WAIT_MS);
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve(this.connects[0] as Record<string, unknown>);
      };
      this.waiting.add(wake);
    });
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    this.server.close();
    await once(this.server, "close");
  }
}

let testHost: TestHost;
let mallory: SignedInClient;
let hostile: HostileHost;
/** Mallory's own connection to the real host, whose challenge the hostile host hands out. */
let relay: TestClient;
const dirs = tempDir("hychat-replay-");

before(async () => {
  testHost = await startTestHost();
  await testHost.host.host("vault", { view: "private" });
  mallory = await connectUser(testHost.tracker.address, "mallory");
  relay = await TestClient.connect(testHost.address);
  const relayed = await relay.challenge();
  const identity = await testTlsIdentity();
  hostile = new HostileHost(identity.key, identity.cert, () => relayed);
  const port = await hostile.listen();
  await mallory.client.request("HOST", { channel: "trap", port, fingerprint: identity.fingerprint });
});

after(async () => {
  await relay.close();
  await mallory.client.close();
  await hostile.close();
  await testHost.close();
  dirs.remove();
});

test("replay - what a hostile host is handed on CONNECT is worth nothing at another host or at the tracker", async () => {
  const victim = await openPeer(testHost.tracker.address, dirs.path);
  try {
    await victim.signUp("victim", TEST_PASSWORD);
    // The owner of "vault" authorizes the victim: the channel mallory wants to read.
    const owner = await TestClient.connect(testHost.address);
    await owner.request("CONNECT", { channel: "vault", ticket: testHost.owner.ticket });
    await owner.request("AUTHORIZE", { channel: "vault", username: "victim", grant: true });
    await owner.close();

    void victim.join("trap").catch(() => undefined);
    const stolen = await hostile.firstConnect();
    assert.equal(typeof stolen.ticket, "string");
    assert.equal(typeof stolen.proof, "string");

    // At the real host, on the very connection whose challenge the victim signed.
    for (const channel of ["trap", "vault"]) {
      const refused = await relay.requestError(
        "CONNECT",
        { channel, ticket: stolen.ticket, proof: stolen.proof },
        { raw: true },
      );
      assert.equal(refused.code, "BAD_PROOF", `CONNECT to ${channel}`);
    }
    // At the tracker: RESUME (then RENEW, HOST, INVISIBLE as the victim) needs a proof for the tracker.
    const tracker = await TestClient.connect(testHost.tracker.address);
    try {
      await tracker.challenge();
      const resumed = await tracker.requestError(
        "RESUME",
        { ticket: stolen.ticket, proof: stolen.proof },
        { raw: true },
      );
      assert.equal(resumed.code, "BAD_PROOF");
      const renew = await tracker.requestError("RENEW", {}, { raw: true });
      assert.equal(renew.code, "NOT_SIGNED_IN");
    } finally {
      await tracker.close();
    }
  } finally {
    await victim.close();
  }
});

test("replay - a proof made for one channel does not join another on the same connection", async () => {
  await testHost.host.host("lobby");
  const alice = await connectUser(testHost.tracker.address, "alice");
  const member = await TestClient.connect(testHost.address);
  try {
    const key = alice.key;
    const proof = await member.proof(key, "CONNECT", "lobby");
    await member.request("CONNECT", { channel: "lobby", ticket: alice.ticket, proof }, { raw: true });
    const again = await member.requestError(
      "CONNECT",
      { channel: "vault", ticket: alice.ticket, proof },
      { raw: true },
    );
    assert.equal(again.code, "BAD_PROOF");
    const other = await TestClient.connect(testHost.address);
    const silent = await TestClient.connect(testHost.address);
    try {
      await other.challenge();
      const elsewhere = await other.requestError(
        "CONNECT",
        { channel: "lobby", ticket: alice.ticket, proof },
        { raw: true },
      );
      assert.equal(elsewhere.code, "BAD_PROOF", "another connection has another challenge");
      const skipped = await silent.requestError(
        "CONNECT",
        { channel: "lobby", ticket: alice.ticket, proof },
        { raw: true },
      );
      assert.equal(skipped.code, "BAD_PROOF", "a connection that skipped HELLO has nothing to sign");
    } finally {
      await other.close();
      await silent.close();
    }
  } finally {
    await member.close();
    await alice.client.close();
  }
});
