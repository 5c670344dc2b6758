import assert from "node:assert/strict";
import fc from "fast-check";
import { PROTOCOL_VERSION, parseFrame } from "../../src/protocol/frames.js";
import { fingerprintOf } from "../../src/transport/tls-identity.js";
import type { NetAddress } from "./client.js";
import { RawSocket } from "./raw-socket.js";

/** Generators of hostile input lines for a server's fuzz test, and the oracle that checks its answers. */

/** A request frame's id is filled in when the batch is sent, so every request has its own. */
export const ASSIGN_ID = Symbol("assign id");

/** A generated request frame, before its id is assigned. */
export interface PlannedRequest {
  type: "request";
  id: typeof ASSIGN_ID;
  command: string;
  body: unknown;
}

export const oddValues = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    null,
    true,
    false,
    -1,
    0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    2 ** 64,
    "",
    "0.0.0.0",
    "::",
  ),
  fc.string({ minLength: 300, maxLength: 2_000 }),
);

export const shortName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/);

export interface LineOptions {
  /** The server's own commands: most requests name one of them. */
  commands: readonly string[];
  /** Other servers' commands and near misses of the server's own. */
  otherCommands: readonly string[];
  /** Field names the server's bodies use, for bodies of random values. */
  fieldNames: readonly string[];
  /** Bodies that get past validation now and then, so the handlers themselves are exercised. */
  plausibleBody: fc.Arbitrary<object>;
}

/** One line of input: a frame (sent as JSON), a string or raw bytes; `encodeLine` turns it into bytes. */
export function inputLine(options: LineOptions): fc.Arbitrary<unknown> {
  const body = fc.oneof(
    { weight: 4, arbitrary: options.plausibleBody },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.constantFrom(...options.fieldNames), oddValues, { maxKeys: 6 }),
    },
    { weight: 1, arbitrary: fc.object() },
  );
  const commandName = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...options.commands) },
    { weight: 1, arbitrary: fc.constantFrom(...options.otherCommands) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 70 }) },
  );
  const requestFrame = fc.record({
    type: fc.constant("request"),
    id: fc.constant(ASSIGN_ID),
    command: commandName,
    body,
  });
  const brokenFrame = fc.record(
    {
      type: fc.oneof(fc.constantFrom("request", "response", "event", "REQUEST"), oddValues),
      id: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ minLength: 65, maxLength: 1_000 }), oddValues),
      command: fc.oneof(commandName, oddValues),
      event: fc.oneof(fc.string({ maxLength: 10 }), oddValues),
      status: fc.oneof(fc.constantFrom("OK", "REQUEST_ERROR", "SERVER_ERROR", "UNAUTHORIZED"), oddValues),
      body: fc.oneof(body, oddValues),
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 6, arbitrary: requestFrame },
    { weight: 3, arbitrary: brokenFrame },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  );
}

/** The bytes of one generated line (never containing a newline), with `id` for a planned request. */
export function encodeLine(value: unknown, id: string): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(value)) bytes = Buffer.from(value);
  else if (typeof value === "string") bytes = Buffer.from(value, "utf8");
  else {
    const frame = value as Record<string, unknown>;
    bytes = Buffer.from(JSON.stringify(frame.id === ASSIGN_ID ? { ...frame, id } : frame), "utf8");
  }
  // Newlines would split one generated line into several.
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x20;
  return bytes;
}

/** The id this line's one response carries (undefined: no response): the oracle is the protocol's own parser. */
export function expectedResponseId(bytes: Buffer): string | null | undefined {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
  if (end === 0) return undefined;
  const parsed = parseFrame(bytes.toString("utf8", 0, end));
  if (!parsed.ok) return parsed.id;
  return parsed.frame.type === "request" ? parsed.frame.id : undefined;
}

export type ResponseFrame = Record<string, unknown> & { id: string | null; status: string; body: unknown };

/** The id of the `HELLO` `sendAndCheckResponses` sends first when the lines need the connection's challenge. */
const HELLO_ID = "fz-hello";

/** What a connection's lines may depend on: its `HELLO` challenge and the server's certificate fingerprint. */
export interface HelloedLink {
  challenge: string;
  fingerprint: string;
}

/**
 * Sends `lines` on one new connection in chunks whose sizes cycle through `chunkSizes`, and checks that every line the
 * protocol answers got exactly one response with the id it promises, none of them `INTERNAL_ERROR`.
 * Returns the responses and events received (events: whatever the server pushed meanwhile).
 * `lines` as a function: the connection sends `HELLO` first (its answer is not counted) and the
 * lines are made from its challenge, so they can carry proofs of possession.
 */
export async function sendAndCheckResponses(
  address: NetAddress,
  lines: Buffer[] | ((link: HelloedLink) => Buffer[]),
  chunkSizes: readonly number[],
): Promise<{ responses: ResponseFrame[]; events: Record<string, unknown>[] }> {
  const raw = await RawSocket.connect(address);
  try {
    let planned: Buffer[];
    if (typeof lines === "function") {
      await raw.request(HELLO_ID, "HELLO", { version: PROTOCOL_VERSION });
      const hello = await raw.response(HELLO_ID);
      const challenge = (hello.body as { challenge?: unknown } | undefined)?.challenge;
      assert.equal(typeof challenge, "string", `HELLO answered no challenge: ${JSON.stringify(hello)}`);
      planned = lines({
        challenge: challenge as string,
        fingerprint: fingerprintOf(raw.socket.getPeerCertificate().raw),
      });
    } else {
      planned = lines;
    }
    const expected = new Map<string | null, number>();
    for (const bytes of planned) {
      const id = expectedResponseId(bytes);
      if (id !== undefined) expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    const total = [...expected.values()].reduce((sum, count) => sum + count, 0);
    const data = Buffer.concat(planned.flatMap((bytes) => [bytes, Buffer.from("\n")]));
    for (let offset = 0, chunk = 0; offset < data.length; chunk += 1) {
      const size = Math.max(1, chunkSizes[chunk % chunkSizes.length] ?? data.length);
      await raw.send(data.subarray(offset, offset + size));
      offset += size;
    }
    const responses = () =>
      raw.frames.filter((frame) => frame.type === "response" && frame.id !== HELLO_ID) as ResponseFrame[];
    await raw.waitFor(() => responses().length >= total, 120_000);
    // Anything extra would already be here: ask once more and wait for that answer.
    await raw.send('{"type":"request","id":"fz-last","command":"PING","body":{}}\n');
    await raw.waitFor(() => responses().some((frame) => frame.id === "fz-last"), 30_000);
    const got = new Map<string | null, number>();
    const answered: ResponseFrame[] = [];
    for (const frame of responses()) {
      if (frame.id === "fz-last") continue;
      answered.push(frame);
      got.set(frame.id, (got.get(frame.id) ?? 0) + 1);
      assert.notEqual((frame.body as { code?: string }).code, "INTERNAL_ERROR", JSON.stringify(frame));
    }
    assert.deepEqual(got, expected);
    return { responses: answered, events: raw.frames.filter((frame) => frame.type === "event") };
  } finally {
    await raw.destroy();
  }
}
