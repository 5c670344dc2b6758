import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import { after, describe, test } from "node:test";
import { createServer, type Server } from "node:tls";
import {
  type HostChannelListener,
  type HostConnectionOptions,
  HostConnectionPool,
  type HostEndpoint,
  type HostEvent,
} from "../../src/client/host-connection.js";
import { Connection } from "../../src/protocol/connection.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { silentLogger } from "../../src/util/logger.js";
import { testTlsIdentity } from "../helpers/tls.js";
import { WakeOnChange } from "../helpers/wake-on-change.js";

const BACKOFF = { initialMs: 2, maxMs: 10, jitter: 0 };

/**
 * A minimal host: answers HELLO (with `version` and `challenge`, left out when undefined) and PING, and lets the test push events, drop
 * connections, or stop reading (`freeze`, as a stopped process or a dead path would).
 */
class FakeHost {
  readonly connections = new Set<Connection>();
  readonly sockets = new Set<Socket>();
  accepted = 0;
  version = PROTOCOL_VERSION;
  challenge: string | undefined = randomBytes(32).toString("base64url");
  private server: Server | undefined;

  fingerprint = "";

  async listen(port = 0): Promise<HostEndpoint> {
    const identity = await testTlsIdentity();
    this.fingerprint = identity.fingerprint;
    const server = createServer({ key: identity.key, cert: identity.cert }, (socket) => {
      this.accepted += 1;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      const connection = new Connection(
        socket,
        {
          onRequest: (frame, conn) =>
            conn.reply(
              frame.id,
              "OK",
              frame.command === "HELLO"
                ? { version: this.version, server: "host", challenge: this.challenge }
                : frame.command === "RET_INFO"
                  ? { channel: 42 }
                  : { time: new Date().toISOString() },
            ),
          onClose: (closed) => this.connections.delete(closed),
        },
        { heartbeatIntervalMs: 0 },
      );
      this.connections.add(connection);
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    return {
      address: { host: "127.0.0.1", port: (server.address() as AddressInfo).port },
      fingerprint: this.fingerprint,
    };
  }

  broadcast(event: string, body: object): void {
    for (const connection of this.connections) connection.event(event, body);
  }

  dropAll(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /** Stops reading and answering on every connection, without closing any. */
  freeze(): void {
    for (const socket of this.sockets) socket.pause();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropAll();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Records what a session tells one channel, and lets a test wait for a count of each. */
class Recorder extends WakeOnChange implements HostChannelListener {
  ups = 0;
  downs = 0;
  readonly errors: unknown[] = [];
  readonly events: HostEvent[] = [];

  constructor() {
    super(10_000);
  }

  up(): void {
    this.ups += 1;
    this.wake();
  }
  down(error: unknown): void {
    this.downs += 1;
    this.errors.push(error);
    this.wake();
  }
  event(event: HostEvent): void {
    this.events.push(event);
    this.wake();
  }
}

function message(channel: string, seq: number) {
  return {
    channel,
    seq,
    msgId: `m${seq}`,
    from: "alice",
    text: `hi ${seq}`,
    ts: new Date().toISOString(),
    sentAt: null,
  };
}

describe("host connection", () => {
  const hosts: FakeHost[] = [];
  const pools: HostConnectionPool[] = [];
  after(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await Promise.all(hosts.map((host) => host.close()));
  });

  function newPool(options: Partial<HostConnectionOptions> = {}): HostConnectionPool {
    const pool = new HostConnectionPool({
      backoff: BACKOFF,
      logger: silentLogger,
      requestTimeoutMs: 5_000,
      ...options,
    });
    pools.push(pool);
    return pool;
  }

  test("client - channels on one host share one connection and get only their own events", async () => {
    const host = new FakeHost();
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const a = new Recorder();
    const b = new Recorder();
    const session = pool.get(address);
    session.attach("a", a);
    assert.equal(pool.get(address), session);
    session.attach("b", b);
    await a.until(() => session.connected);
    assert.equal(host.accepted, 1);
    assert.ok(typeof (await session.request("PING", {})).time === "string");
    host.broadcast("MESSAGE", message("a", 1));
    host.broadcast("MESSAGE", message("b", 1));
    host.broadcast("MESSAGE", { channel: "a", seq: "not a number" });
    host.broadcast("NONSENSE", { channel: "a" });
    host.broadcast("MESSAGE", message("a", 2));
    await a.until(() => a.events.length === 2);
    await b.until(() => b.events.length === 1);
    assert.deepEqual(
      a.events.map((event) => (event.event === "MESSAGE" ? event.body.seq : -1)),
      [1, 2],
    );
  });

  test("client - a dropped connection is redialed with backoff, also after the host was down a while", async () => {
    const host = new FakeHost();
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const channel = new Recorder();
    const session = pool.get(address);
    session.attach("c", channel);
    await channel.until(() => channel.ups === 1);

    host.dropAll();
    await channel.until(() => channel.downs >= 1 && channel.ups === 2);
    assert.equal(host.accepted, 2);

    await host.close();
    await channel.until(() => channel.downs >= 3);
    assert.equal(session.connected, false);
    await host.listen(address.address.port);
    session.retryNow();
    await channel.until(() => channel.ups === 3);
    assert.equal(session.connected, true);
  });

  test("client - a connection closes once its last channel detaches", async () => {
    const host = new FakeHost();
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const channel = new Recorder();
    const session = pool.get(address);
    session.attach("d", channel);
    await channel.until(() => channel.ups === 1);
    session.detach("d", channel);
    assert.deepEqual(pool.all(), []);
    await pool.close();
    assert.equal(session.connected, false);
    await assert.rejects(session.request("PING", {}), { code: "CONNECTION_CLOSED" });
    assert.notEqual(pool.get(address), session);
  });

  test("client - a host that stops answering is dropped by the heartbeat and redialed", async () => {
    const host = new FakeHost();
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool({ connection: { heartbeatIntervalMs: 40, heartbeatMisses: 2 } });
    const channel = new Recorder();
    const connection = pool.get(address);
    connection.attach("h", channel);
    await channel.until(() => channel.ups === 1);
    host.freeze();
    await channel.until(() => channel.downs >= 1);
    assert.equal(connection.connected, false);
    assert.match(String((channel.errors[0] as Error).message), /no answer to \d+ heartbeats/);
    assert.equal((channel.errors[0] as { code?: string }).code, "TIMEOUT");
    await channel.until(() => channel.ups === 2);
    assert.equal(host.accepted, 2);
  });

  test("client - a host speaking another protocol version is refused with UNSUPPORTED_VERSION", async () => {
    const host = new FakeHost();
    host.version = PROTOCOL_VERSION + 1;
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const channel = new Recorder();
    pool.get(address).attach("v", channel);
    await channel.until(() => channel.downs >= 1);
    assert.equal(channel.ups, 0);
    assert.equal((channel.errors[0] as { code?: string }).code, "UNSUPPORTED_VERSION");
    assert.match(String((channel.errors[0] as Error).message), new RegExp(`version ${PROTOCOL_VERSION + 1}`));
  });

  test("client - a HELLO answer without a challenge is BAD_REPLY: nothing could prove a ticket on that link", async () => {
    const host = new FakeHost();
    host.challenge = undefined;
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const channel = new Recorder();
    pool.get(address).attach("n", channel);
    await channel.until(() => channel.downs >= 1);
    assert.equal(channel.ups, 0);
    assert.equal((channel.errors[0] as { code?: string }).code, "BAD_REPLY");
  });

  test("client - an answer that does not fit its command's schema is BAD_REPLY, never passed on", async () => {
    const host = new FakeHost();
    hosts.push(host);
    const address = await host.listen();
    const pool = newPool();
    const channel = new Recorder();
    const connection = pool.get(address);
    connection.attach("r", channel);
    await channel.until(() => channel.ups === 1);
    await assert.rejects(connection.request("RET_INFO", { channel: "r" }), { code: "BAD_REPLY" });
    assert.equal(connection.connected, true);
  });
});
