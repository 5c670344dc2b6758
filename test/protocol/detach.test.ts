import assert from "node:assert/strict";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { after, test } from "node:test";
import { Connection } from "../../src/protocol/connection.js";
import { RequestError } from "../../src/protocol/errors.js";
import { LineFramer } from "../../src/protocol/framer.js";
import { socketPair as connectedPair } from "./socket-pair.js";

const sockets: Socket[] = [];
after(() => {
  for (const socket of sockets) socket.destroy();
});

async function socketPair(): Promise<{ client: Socket; served: Socket }> {
  const pair = await connectedPair();
  sockets.push(pair.client, pair.served);
  return pair;
}

/** Everything `stream` sends until `bytes` have come, as one buffer. */
function readBytes(stream: Duplex, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let seen = 0;
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      seen += chunk.length;
      if (seen >= bytes) {
        stream.off("data", onData);
        resolve(Buffer.concat(parts));
      }
    };
    stream.on("data", onData);
    stream.once("error", reject);
    stream.resume();
  });
}

test("framer - stop inside onLine keeps the bytes after the line, partial ones too", () => {
  const lines: string[] = [];
  const framer: LineFramer = new LineFramer({
    onLine: (line) => {
      lines.push(line);
      if (line === "switch") framer.stop();
    },
    onOversize: () => assert.fail("no oversize"),
  });
  framer.push(Buffer.from("one\nswi"));
  framer.push(Buffer.from("tch\n\x16\x03\x01raw\nbytes"));
  framer.push(Buffer.from("ignored after stop\n"));
  assert.deepEqual(lines, ["one", "switch"]);
  assert.equal(framer.takeRest().toString("latin1"), "\x16\x03\x01raw\nbytes");
  assert.equal(framer.takeRest().length, 0);
});

test("connection - requestThenDetach hands over the stream with the bytes that came with the OK", async () => {
  const { client, served } = await socketPair();
  let closedWith: Error | undefined | "open" = "open";
  const connection = new Connection(client, { onClose: (_c, error) => (closedWith = error) });
  served.once("data", (chunk: Buffer) => {
    const request = JSON.parse(chunk.toString("utf8").trim()) as { id: string };
    // The answer and the first raw bytes in one write, as a relay may send them.
    served.write(
      `${JSON.stringify({ type: "response", id: request.id, status: "OK", body: {} })}\nRAW\x00\x0abytes`,
    );
  });
  const stream = await connection.requestThenDetach("RELAY_ACCEPT", { session: "x" });
  assert.equal(stream, client);
  assert.equal(connection.closed, true);
  assert.equal(closedWith, undefined, "the owner is told the connection is gone, without an error");
  assert.equal((await readBytes(stream, 9)).toString("latin1"), "RAW\x00\x0abytes");
  // Raw both ways: what is written now reaches the other side unframed.
  const echoed = readBytes(served, 4);
  stream.write("\x01\x02\x03\x04");
  assert.equal((await echoed).toString("latin1"), "\x01\x02\x03\x04");
  assert.equal(connection.write("late"), false, "a detached connection writes nothing more");
});

test("connection - an error answer to requestThenDetach leaves the connection framed", async () => {
  const { client, served } = await socketPair();
  const connection = new Connection(client, {});
  served.once("data", (chunk: Buffer) => {
    const request = JSON.parse(chunk.toString("utf8").trim()) as { id: string };
    served.write(
      `${JSON.stringify({ type: "response", id: request.id, status: "REQUEST_ERROR", body: { code: "BAD_RELAY_SESSION", message: "no" } })}\n`,
    );
  });
  await assert.rejects(connection.requestThenDetach("RELAY_ACCEPT", { session: "x" }), (error: unknown) => {
    assert.ok(error instanceof RequestError);
    assert.equal(error.code, "BAD_RELAY_SESSION");
    return true;
  });
  assert.equal(connection.closed, false);
  connection.destroy();
});

test("connection - detach from a request handler passes on what the client sent after the request", async () => {
  const { client, served } = await socketPair();
  const handed = new Promise<Duplex>((resolve) => {
    const connection = new Connection(served, {
      onRequest: () => resolve(connection.detach()),
    });
  });
  client.write(
    `${JSON.stringify({ type: "request", id: "1", command: "RELAY_DIAL", body: {} })}\nearly raw bytes`,
  );
  const stream = await handed;
  assert.equal((await readBytes(stream, 15)).toString("utf8"), "early raw bytes");
});
