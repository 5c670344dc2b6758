import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, test } from "node:test";
import {
  Connection,
  type ConnectionHandlers,
  type ConnectionOptions,
} from "../../src/protocol/connection.js";
import { ConnectionError, RequestError, UnauthorizedError } from "../../src/protocol/errors.js";
import type { EventFrame, RequestFrame } from "../../src/protocol/frames.js";
import { socketPair as connectedPair, until } from "./socket-pair.js";

const sockets: Socket[] = [];

after(() => {
  for (const socket of sockets) socket.destroy();
});

/** A TCP pair whose sockets are destroyed after the file's tests. */
async function socketPair(): Promise<{ client: Socket; served: Socket }> {
  const pair = await connectedPair();
  sockets.push(pair.client, pair.served);
  return pair;
}

/** Reads NDJSON lines from a raw socket, one promise per line. */
function lineReader(socket: Socket): { next(): Promise<Record<string, unknown>>; ended: Promise<void> } {
  let buffered = "";
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (text: string) => {
    buffered += text;
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
      newline = buffered.indexOf("\n");
    }
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    next: () =>
      new Promise((resolve, reject) => {
        const line = lines.shift();
        if (line !== undefined) {
          resolve(JSON.parse(line));
          return;
        }
        socket.once("close", () => reject(new Error("socket closed before the next line")));
        waiters.push((text) => resolve(JSON.parse(text)));
      }),
    ended,
  };
}

interface Recorded {
  connection: Connection;
  requests: RequestFrame[];
  events: EventFrame[];
  closed: Promise<Error | undefined>;
}

function wrap(socket: Socket, handlers: ConnectionHandlers = {}, options: ConnectionOptions = {}): Recorded {
  const requests: RequestFrame[] = [];
  const events: EventFrame[] = [];
  let resolveClosed: (error: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => {
    resolveClosed = resolve;
  });
  const connection = new Connection(
    socket,
    {
      onRequest: (frame, conn) => {
        requests.push(frame);
        handlers.onRequest?.(frame, conn);
      },
      onEvent: (frame, conn) => {
        events.push(frame);
        handlers.onEvent?.(frame, conn);
      },
      onClose: (conn, error) => {
        handlers.onClose?.(conn, error);
        resolveClosed(error);
      },
    },
    options,
  );
  return { connection, requests, events, closed };
}

test("protocol - connection matches responses to requests when they arrive out of order", async () => {
  const { client, served } = await socketPair();
  const held: RequestFrame[] = [];
  const server = wrap(served, {
    onRequest: (frame, conn) => {
      held.push(frame);
      // Answer only once all three arrived, in reverse order.
      if (held.length === 3) {
        for (const request of [...held].reverse()) conn.reply(request.id, "OK", { echo: request.body.n });
      }
    },
  });
  const caller = wrap(client);
  const answers = await Promise.all([
    caller.connection.request("ECHO", { n: 1 }),
    caller.connection.request("ECHO", { n: 2 }),
    caller.connection.request("ECHO", { n: 3 }),
  ]);
  assert.deepEqual(answers, [{ echo: 1 }, { echo: 2 }, { echo: 3 }]);
  assert.deepEqual(
    server.requests.map((r) => r.command),
    ["ECHO", "ECHO", "ECHO"],
  );
  assert.equal(new Set(server.requests.map((r) => r.id)).size, 3);
  assert.equal(caller.connection.pendingRequests, 0);
  caller.connection.close();
  await Promise.all([caller.closed, server.closed]);
});

test("protocol - connection turns error responses into error classes with code and details", async () => {
  const { client, served } = await socketPair();
  wrap(served, {
    onRequest: (frame, conn) => {
      if (frame.command === "A")
        conn.reply(frame.id, "REQUEST_ERROR", { code: "RATE_LIMITED", message: "slow", retryAfterMs: 5 });
      else conn.reply(frame.id, "UNAUTHORIZED", { code: "NOT_OWNER", message: "no" });
    },
  });
  const caller = wrap(client);
  await assert.rejects(caller.connection.request("A", {}), (error: unknown) => {
    assert.ok(error instanceof RequestError);
    assert.equal(error.code, "RATE_LIMITED");
    assert.equal(error.message, "slow");
    assert.deepEqual(error.details, { retryAfterMs: 5 });
    return true;
  });
  await assert.rejects(caller.connection.request("B", {}), UnauthorizedError);
  caller.connection.close();
  await caller.closed;
});

test("protocol - connection times out only the call that got no answer", async () => {
  const { client, served } = await socketPair();
  wrap(served, {
    onRequest: (frame, conn) => {
      if (frame.command !== "SILENT") conn.reply(frame.id, "OK", { ok: frame.command });
    },
  });
  const caller = wrap(client, {}, { requestTimeoutMs: 20_000 });
  const silent = caller.connection.request("SILENT", {}, { timeoutMs: 50 });
  const answered = caller.connection.request("LOUD", {});
  await assert.rejects(silent, (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.code, "TIMEOUT");
    assert.match(error.message, /SILENT/);
    return true;
  });
  assert.deepEqual(await answered, { ok: "LOUD" });
  assert.equal(caller.connection.closed, false);
  assert.deepEqual(await caller.connection.request("AGAIN", {}), { ok: "AGAIN" });
  caller.connection.close();
  await caller.closed;
});

test("protocol - a request whose body cannot be encoded fails at once and leaves nothing pending", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served, { onRequest: (frame, conn) => conn.reply(frame.id, "OK", {}) });
  const caller = wrap(client);
  assert.throws(() => caller.connection.request("BIG", { n: 1n }, { timeoutMs: 20 }), TypeError);
  assert.equal(caller.connection.pendingRequests, 0);
  assert.deepEqual(await caller.connection.request("PING", {}), {});
  assert.equal(server.requests.length, 1);
  caller.connection.close();
  await caller.closed;
});

test("protocol - connection ignores a late response to a request that timed out", async () => {
  const { client, served } = await socketPair();
  const late: RequestFrame[] = [];
  const server = wrap(served, { onRequest: (frame) => late.push(frame) });
  const caller = wrap(client);
  await assert.rejects(caller.connection.request("SLOW", {}, { timeoutMs: 30 }), ConnectionError);
  await until(() => late.length === 1, "the request to arrive");
  const [request] = late;
  assert.ok(request);
  server.connection.reply(request.id, "OK", {});
  server.connection.event("AFTER", {});
  await until(() => caller.events.length === 1, "the event after the late response");
  assert.equal(caller.connection.closed, false);
  caller.connection.close();
  await caller.closed;
});

test("protocol - closing rejects every pending request with CONNECTION_CLOSED and later requests too", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served);
  const caller = wrap(client);
  const pending = [caller.connection.request("A", {}), caller.connection.request("B", {})];
  await until(() => server.requests.length === 2, "both requests to arrive");
  server.connection.destroy();
  for (const request of pending) {
    await assert.rejects(request, (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.code, "CONNECTION_CLOSED");
      return true;
    });
  }
  await caller.closed;
  assert.equal(caller.connection.closed, true);
  assert.equal(caller.connection.pendingRequests, 0);
  await assert.rejects(caller.connection.request("C", {}), { code: "CONNECTION_CLOSED" });
  assert.equal(caller.connection.write("x\n"), false);
});

test("protocol - close() on the calling side rejects its own pending requests", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served);
  const caller = wrap(client);
  const pending = caller.connection.request("A", {});
  caller.connection.close();
  await assert.rejects(pending, { code: "CONNECTION_CLOSED" });
  await Promise.all([caller.closed, server.closed]);
});

test("protocol - connection delivers events in order and never answers them", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served);
  const caller = wrap(client);
  for (let n = 0; n < 5; n += 1) server.connection.event("TICK", { n, text: "é😀" });
  await until(() => caller.events.length === 5, "five events");
  assert.deepEqual(
    caller.events.map((e) => [e.event, e.body.n, e.body.text]),
    [0, 1, 2, 3, 4].map((n) => ["TICK", n, "é😀"]),
  );
  // A request after the events is answered first in line: nothing was sent back for the events.
  const served2 = new Promise<RequestFrame>((resolve) => {
    served.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as RequestFrame));
  });
  void caller.connection.request("PING", {}, { timeoutMs: 20_000 }).catch(() => {});
  assert.equal((await served2).command, "PING");
  caller.connection.close();
  await Promise.all([caller.closed, server.closed]);
});

test("protocol - a bad frame is answered with BAD_FRAME and the connection stays open", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served, { onRequest: (frame, conn) => conn.reply(frame.id, "OK", { pong: true }) });
  const raw = lineReader(client);
  client.write("not json\n");
  assert.deepEqual(await raw.next(), {
    type: "response",
    id: null,
    status: "REQUEST_ERROR",
    body: { code: "BAD_FRAME", message: "line is not valid JSON" },
  });
  client.write('{"type":"request","id":"abc","command":"PING","body":[]}\r\n');
  const copied = await raw.next();
  assert.equal(copied.id, "abc");
  assert.equal(copied.status, "REQUEST_ERROR");
  assert.equal((copied.body as { code: string }).code, "BAD_FRAME");
  client.write('{"type":"request","id":"ok-1","command":"PING","body":{}}\n');
  assert.deepEqual(await raw.next(), { type: "response", id: "ok-1", status: "OK", body: { pong: true } });
  assert.equal(server.connection.closed, false);
  client.end();
  await server.closed;
});

test("protocol - a side without a request handler answers requests with UNKNOWN_COMMAND", async () => {
  const { client, served } = await socketPair();
  const server = new Connection(served, {});
  const raw = lineReader(client);
  client.write('{"type":"request","id":"r1","command":"HELLO","body":{}}\n');
  const answer = await raw.next();
  assert.equal(answer.id, "r1");
  assert.equal((answer.body as { code: string }).code, "UNKNOWN_COMMAND");
  client.end();
  await raw.ended;
  assert.equal(server.closed, true);
});

test("protocol - two connections do not answer each other's error responses in a loop", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served, { onRequest: (frame, conn) => conn.reply(frame.id, "OK", {}) });
  const caller = wrap(client);
  let linesReceived = 0;
  served.on("data", (chunk: Buffer) => {
    linesReceived += chunk.toString().split("\n").length - 1;
  });
  // The caller sends garbage; the server answers BAD_FRAME with id null; the caller must not answer that.
  caller.connection.write("garbage\n");
  assert.deepEqual(await caller.connection.request("PING", {}), {});
  await caller.connection.request("PING", {});
  assert.equal(linesReceived, 3, "garbage and two requests, and nothing more");
  caller.connection.close();
  await Promise.all([caller.closed, server.closed]);
});

test("protocol - an oversized frame gets FRAME_TOO_LARGE and the connection closes", async () => {
  const { client, served } = await socketPair();
  const server = wrap(served, {}, { maxFrameBytes: 1024 });
  const raw = lineReader(client);
  client.write("x".repeat(600));
  client.write("y".repeat(600));
  const answer = await raw.next();
  assert.equal(answer.type, "response");
  assert.equal(answer.id, null);
  assert.equal(answer.status, "REQUEST_ERROR");
  assert.equal((answer.body as { code: string }).code, "FRAME_TOO_LARGE");
  await server.closed;
  await raw.ended;
  assert.equal(server.requests.length, 0);
});

test("protocol - a peer that never reads is destroyed once maxQueuedBytes is passed", async () => {
  const { client, served } = await socketPair();
  served.pause();
  const writer = wrap(client, {}, { maxQueuedBytes: 64 * 1024, drainTimeoutMs: 60_000 });
  const pending = writer.connection.request("NEVER", {});
  const chunk = Buffer.alloc(16 * 1024, 0x7a);
  let accepted = true;
  // Kernel buffers take a few MB first; the loop is bounded well above that.
  for (let n = 0; n < 16_384 && accepted; n += 1) accepted = writer.connection.write(chunk);
  assert.equal(accepted, false, "the connection was dropped");
  const error = await writer.closed;
  assert.match(String(error?.message), /not reading/);
  assert.equal(writer.connection.closed, true);
  await assert.rejects(pending, { code: "CONNECTION_CLOSED" });
});

test("protocol - a peer that does not drain within drainTimeoutMs is destroyed", async () => {
  const { client, served } = await socketPair();
  served.pause();
  const writer = wrap(client, {}, { maxQueuedBytes: 1024 ** 3, drainTimeoutMs: 100 });
  const chunk = Buffer.alloc(64 * 1024, 0x7a);
  // Fill the kernel buffers so the write buffer cannot drain; bounded at 64 MiB.
  for (let n = 0; n < 1024 && writer.connection.queuedBytes < 1024 * 1024; n += 1) {
    writer.connection.write(chunk);
    if (n % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(writer.connection.queuedBytes >= 1024 * 1024, "the write buffer stays full");
  const error = await writer.closed;
  assert.match(String(error?.message), /did not drain within 100 ms/);
  assert.equal(writer.connection.closed, true);
});

test("protocol - a reader that drains in time keeps its connection", async () => {
  const { client, served } = await socketPair();
  const writer = wrap(client, {}, { drainTimeoutMs: 20_000, maxQueuedBytes: 64 * 1024 * 1024 });
  let received = 0;
  served.on("data", (chunk: Buffer) => {
    received += chunk.length;
  });
  const chunk = Buffer.alloc(64 * 1024, 0x7a);
  for (let n = 0; n < 64; n += 1) writer.connection.write(chunk);
  await until(() => received === 64 * chunk.length, "all bytes to arrive");
  assert.equal(writer.connection.closed, false);
  writer.connection.close();
  await writer.closed;
});

test("protocol - heartbeats: a quiet side is sent PING, and a side that answers nothing is closed with TIMEOUT", async () => {
  const { client, served } = await socketPair();
  const watcher = wrap(client, {}, { heartbeatIntervalMs: 30, heartbeatMisses: 2 });
  const silent = lineReader(served);
  // The other side reads but never answers: what arrives are the watcher's PINGs.
  const ping = await silent.next();
  assert.equal(ping.type, "request");
  assert.equal(ping.command, "PING");
  const error = await watcher.closed;
  assert.ok(error instanceof ConnectionError);
  assert.equal(error.code, "TIMEOUT");
  assert.match(error.message, /no answer to 2 heartbeats \(30 ms apart\)/);
});

test("protocol - heartbeats: a link that answers stays open through many quiet intervals", async () => {
  const { client, served } = await socketPair();
  const watcher = wrap(client, {}, { heartbeatIntervalMs: 20, heartbeatMisses: 2 });
  // No request handler: this side still answers PING, as a member's link to a host does.
  const answering = new Connection(served, {}, { heartbeatIntervalMs: 0 });
  let pings = 0;
  served.on("data", (chunk: Buffer) => {
    pings += chunk.toString("utf8").split('"command":"PING"').length - 1;
  });
  await until(() => pings >= 10, "ten heartbeats to go out");
  assert.equal(watcher.connection.closed, false);
  assert.equal(answering.closed, false);
  watcher.connection.close();
  await watcher.closed;
});
