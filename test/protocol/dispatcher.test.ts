import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, test } from "node:test";
import { z } from "zod";
import { Connection } from "../../src/protocol/connection.js";
import { command, Dispatcher } from "../../src/protocol/dispatcher.js";
import {
  HychatError,
  RequestError,
  ServerError,
  UnauthorizedError,
  wireError,
} from "../../src/protocol/errors.js";
import { socketPair, until } from "./socket-pair.js";

interface Session {
  username: string | null;
}

const internalErrors: { error: unknown; command: string }[] = [];
const contexts: { requestId: string; session: Session }[] = [];
let held = 0;
let openGate: () => void = () => {};
const gate = new Promise<void>((resolve) => {
  openGate = resolve;
});

const dispatcher = new Dispatcher<Session>(
  {
    SIGNIN: command({
      schema: z.object({ username: z.string().min(1) }),
      handle: ({ session }, body) => {
        session.username = body.username;
        return { username: body.username };
      },
    }),
    WHOAMI: command({
      schema: z.object({}),
      signedIn: true,
      handle: ({ session, requestId }) => {
        contexts.push({ requestId, session });
        return { username: session.username };
      },
    }),
    SAY: command({
      schema: z.object({ text: z.string() }),
      signedIn: true,
      handle: (_context, body) => ({ said: body.text }),
    }),
    HOLD: command({
      schema: z.object({}),
      handle: async () => {
        held += 1;
        await gate;
        return {};
      },
    }),
    ADD: command({
      schema: z.object({
        a: z.number().int(),
        b: z.number().int().max(100),
        options: z.object({ negate: z.boolean() }).optional(),
      }),
      handle: (_context, body) => ({ sum: (body.a + body.b) * (body.options?.negate ? -1 : 1) }),
    }),
    REFUSE: command({
      schema: z.object({ code: z.enum(["NOT_OWNER", "RATE_LIMITED", "SHUTTING_DOWN"]) }),
      handle: (_context, body) => {
        throw wireError(body.code, `refused with ${body.code}`, { retryAfterMs: 42 });
      },
    }),
    CRASH: command({
      schema: z.object({}),
      handle: () => {
        throw new Error("secret internal detail");
      },
    }),
    LATER: command({
      schema: z.object({
        outcome: z.enum(["ok", "refuse", "crash"]),
        waitMs: z.number().int().min(0).max(200),
      }),
      handle: async (_context, body) => {
        await new Promise((resolve) => setTimeout(resolve, body.waitMs));
        if (body.outcome === "refuse") throw wireError("NO_SUCH_CHANNEL", "no such channel");
        if (body.outcome === "crash") throw new TypeError("boom");
        return { waited: body.waitMs };
      },
    }),
    ROOT: command({
      schema: z
        .object({ a: z.number().optional(), b: z.number().optional() })
        .refine((v) => v.a !== undefined || v.b !== undefined, "needs a or b"),
      handle: () => ({}),
    }),
  },
  {
    isSignedIn: (session) => session.username !== null,
    onInternalError: (error, name) => internalErrors.push({ error, command: name }),
  },
);

const sockets: Socket[] = [];
after(() => {
  for (const socket of sockets) socket.destroy();
});

/** A client connection to a fresh server connection that dispatches with its own session. */
async function connect(): Promise<{ client: Connection; server: Connection; session: Session }> {
  const { client, served } = await socketPair();
  sockets.push(client, served);
  const session: Session = { username: null };
  const server = new Connection(served, {
    onRequest: (frame, connection) => dispatcher.dispatch(session, connection, frame),
  });
  return { client: new Connection(client, {}), server, session };
}

async function refusal(promise: Promise<unknown>): Promise<HychatError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HychatError, `expected a HychatError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the request to be refused");
}

test("protocol - dispatcher lists its commands", () => {
  assert.deepEqual(dispatcher.commands.sort(), [
    "ADD",
    "CRASH",
    "HOLD",
    "LATER",
    "REFUSE",
    "ROOT",
    "SAY",
    "SIGNIN",
    "WHOAMI",
  ]);
});

test("protocol - dispatcher answers an unknown command with UNKNOWN_COMMAND", async () => {
  const { client } = await connect();
  const error = await refusal(client.request("FLY", {}));
  assert.ok(error instanceof RequestError);
  assert.equal(error.status, "REQUEST_ERROR");
  assert.equal(error.code, "UNKNOWN_COMMAND");
  assert.match(error.message, /FLY/);
  client.close();
});

test("protocol - dispatcher answers an invalid body with BAD_REQUEST naming the field", async () => {
  const { client } = await connect();
  const cases: [object, RegExp][] = [
    [{ b: 1 }, /^a: /],
    [{ a: "1", b: 1 }, /^a: /],
    [{ a: 1.5, b: 1 }, /^a: /],
    [{ a: 1, b: 101 }, /^b: /],
    [{ a: 1, b: 1, options: { negate: "yes" } }, /^options\.negate: /],
  ];
  for (const [body, field] of cases) {
    const error = await refusal(client.request("ADD", body));
    assert.equal(error.status, "REQUEST_ERROR");
    assert.equal(error.code, "BAD_REQUEST");
    assert.match(error.message, field, JSON.stringify(body));
  }
  const root = await refusal(client.request("ROOT", {}));
  assert.equal(root.code, "BAD_REQUEST");
  assert.match(root.message, /^body: needs a or b/);
  assert.deepEqual(await client.request("ADD", { a: 2, b: 3, options: { negate: true } }), { sum: -5 });
  client.close();
});

test("protocol - dispatcher refuses a signed-in command with NOT_SIGNED_IN until the session signs in", async () => {
  const { client } = await connect();
  const error = await refusal(client.request("WHOAMI", {}));
  assert.ok(error instanceof UnauthorizedError);
  assert.equal(error.status, "UNAUTHORIZED");
  assert.equal(error.code, "NOT_SIGNED_IN");
  assert.match(error.message, /WHOAMI/);
  await client.request("SIGNIN", { username: "alice" });
  assert.deepEqual(await client.request("WHOAMI", {}), { username: "alice" });
  const last = contexts.at(-1);
  assert.ok(last);
  assert.equal(last.session.username, "alice");
  assert.ok(last.requestId.length > 0);
  client.close();
});

test("protocol - dispatcher validates the body before checking sign-in", async () => {
  const { client } = await connect();
  const invalid = await refusal(client.request("SAY", { text: 7 }));
  assert.equal(invalid.code, "BAD_REQUEST");
  assert.match(invalid.message, /^text: /);
  const valid = await refusal(client.request("SAY", { text: "hi" }));
  assert.equal(valid.code, "NOT_SIGNED_IN");
  client.close();
});

test("protocol - a handler's HychatError is answered with its status, code and details", async () => {
  const { client, server } = await connect();
  const expected = [
    ["NOT_OWNER", "UNAUTHORIZED", UnauthorizedError],
    ["RATE_LIMITED", "REQUEST_ERROR", RequestError],
    ["SHUTTING_DOWN", "SERVER_ERROR", ServerError],
  ] as const;
  for (const [code, status, errorClass] of expected) {
    const error = await refusal(client.request("REFUSE", { code }));
    assert.ok(error instanceof errorClass);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    assert.equal(error.message, `refused with ${code}`);
    assert.deepEqual(error.details, { retryAfterMs: 42 });
  }
  assert.equal(server.closed, false);
  client.close();
});

test("protocol - a handler's plain Error is answered with SERVER_ERROR INTERNAL_ERROR and reported", async () => {
  const { client, server } = await connect();
  const before = internalErrors.length;
  const error = await refusal(client.request("CRASH", {}));
  assert.ok(error instanceof ServerError);
  assert.equal(error.status, "SERVER_ERROR");
  assert.equal(error.code, "INTERNAL_ERROR");
  assert.doesNotMatch(error.message, /secret/);
  assert.equal(internalErrors.length, before + 1);
  assert.equal(internalErrors.at(-1)?.command, "CRASH");
  assert.match(String(internalErrors.at(-1)?.error), /secret internal detail/);
  assert.deepEqual(await client.request("ADD", { a: 1, b: 1 }), { sum: 2 });
  assert.equal(server.closed, false);
  client.close();
});

test("protocol - async handlers answer when they settle, each request on its own", async () => {
  const { client } = await connect();
  const before = internalErrors.length;
  const slow = client.request("LATER", { outcome: "ok", waitMs: 60 });
  const refused = refusal(client.request("LATER", { outcome: "refuse", waitMs: 30 }));
  const crashed = refusal(client.request("LATER", { outcome: "crash", waitMs: 0 }));
  const quick = client.request("LATER", { outcome: "ok", waitMs: 0 });
  assert.deepEqual(await quick, { waited: 0 });
  assert.deepEqual(await slow, { waited: 60 });
  const refusedError = await refused;
  assert.equal(refusedError.code, "NO_SUCH_CHANNEL");
  assert.equal(refusedError.status, "REQUEST_ERROR");
  const crashedError = await crashed;
  assert.equal(crashedError.code, "INTERNAL_ERROR");
  assert.equal(crashedError.status, "SERVER_ERROR");
  assert.equal(internalErrors.length, before + 1);
  assert.ok(internalErrors.at(-1)?.error instanceof TypeError);
  client.close();
});

test("protocol - an async handler that settles after its connection closed does not throw", async () => {
  const { client, server } = await connect();
  const pending = client.request("HOLD", {});
  await until(() => held === 1, "the handler to start");
  server.destroy();
  await assert.rejects(pending, { code: "CONNECTION_CLOSED" });
  openGate();
  await gate;
  // The late reply runs in the microtasks after the gate opened; give them one turn.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(server.closed, true);
});
