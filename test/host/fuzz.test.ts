import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { proofBytes } from "../../src/auth/canonical.js";
import { DeviceKey } from "../../src/auth/device-key.js";
import { loadOrCreateIdentity } from "../../src/auth/keys.js";
import { nowSeconds, signTicket } from "../../src/auth/tickets.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../../src/protocol/framer.js";
import { type ChatMessage, hostBodySchemas, MAX_PAGE } from "../../src/protocol/host-schemas.js";
import { SIGNATURE_PATTERN } from "../../src/protocol/names.js";
import { keyOfTicket, type TestClient, ticketSubject } from "../helpers/client.js";
import {
  ASSIGN_ID,
  encodeLine,
  type HelloedLink,
  inputLine,
  oddValues,
  type PlannedRequest,
  sendAndCheckResponses,
  shortName,
} from "../helpers/fuzz-frames.js";
import { connectMember, startTestHost, type TestHost } from "../helpers/host.js";
import { connectGuest, connectUser, type SignedInClient } from "../helpers/tracker.js";

const RUNS_PER_IDENTITY = 2;
/** Lines after the connection's valid `CONNECT`; up to `LINES_BEFORE_CONNECT` more come before it. */
const FRAMES_PER_RUN = 1_700;
const LINES_BEFORE_CONNECT = 300;
/** The channel every run joins, and a private moderated one only the owner may enter. */
const CHANNEL = "fuzz";
const PRIVATE_CHANNEL = "closed";
/**
 * A `proof` that becomes, once the connection's challenge is known, the proof of the ticket's key
 * for this host and the body's channel (a throwaway key's for a ticket no test client holds).
 */
const PROVE = "<proof of the ticket's key>";
/** Signs nothing of ours: the proofs of tickets no test client holds. */
const STRANGER_KEY = DeviceKey.generate();

let testHost: TestHost;
let alice: SignedInClient;
let bob: SignedInClient;
let guest: SignedInClient;
/** Tickets that name nobody: forged, tampered, expired, foreign, malformed. */
let badTickets: string[];
const errorsLogged: string[] = [];

before(async () => {
  const logger = pino({ level: "error" }, { write: (entry: string) => errorsLogged.push(entry) });
  // The fuzzer's lines before CONNECT, and a guest's after it, are as long as any member's: the cap
  // before a user's CONNECT has tests of its own (preauth-limits.test.ts).
  testHost = await startTestHost({ logger, limits: { preAuthMaxFrameBytes: DEFAULT_MAX_FRAME_BYTES } });
  await testHost.host.host(CHANNEL);
  await testHost.host.host(PRIVATE_CHANNEL, { view: "private", moderated: true });
  alice = await connectUser(testHost.tracker.address, "alice");
  bob = await connectUser(testHost.tracker.address, "bob");
  guest = await connectGuest(testHost.tracker.address, "fuzzer");
  const identity = loadOrCreateIdentity(testHost.tracker.dataDir);
  const now = nowSeconds();
  const payload = {
    v: 2 as const,
    sub: "alice",
    role: "user" as const,
    key: STRANGER_KEY.publicKey,
    dev: "fuzz-device",
    gen: 1,
    iat: now,
    exp: now + 600,
    iss: identity.issuer,
  };
  const [ownerPayload, ownerSignature] = testHost.owner.ticket.split(".") as [string, string];
  const claims = JSON.parse(Buffer.from(ownerPayload, "base64url").toString("utf8")) as object;
  const tampered = Buffer.from(JSON.stringify({ ...claims, sub: "alice" })).toString("base64url");
  badTickets = [
    signTicket(payload, generateKeyPairSync("ed25519").privateKey),
    `${tampered}.${ownerSignature}`,
    signTicket({ ...payload, iat: now - 120, exp: now - 60 }, identity.privateKey),
    signTicket({ ...payload, iss: "another-tracker" }, identity.privateKey),
    "a.b",
    "garbage",
  ];
});

after(async () => {
  await Promise.all([alice, bob, guest].map((user) => user.client.close()));
  await testHost?.close();
});

const channelName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(CHANNEL, CHANNEL.toUpperCase()) },
  { weight: 2, arbitrary: fc.constant(PRIVATE_CHANNEL) },
  { weight: 1, arbitrary: fc.constantFrom("nowhere", "", "x".repeat(65), "bad name") },
  { weight: 1, arbitrary: shortName },
);
const username = fc.oneof(
  fc.constantFrom("alice", "bob", "owner", "OWNER", "guest-fuzzer", "no spaces", ""),
  shortName,
);
const msgId = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9]{1,4}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(64), "x".repeat(65), "\u0000", "é") },
);
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom("", " \n\t", "😀".repeat(4000), "😀".repeat(4001)) },
);
const sentAt = fc.oneof(
  { weight: 6, arbitrary: fc.constant("2026-11-25T09:30:00.123Z") },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 1, arbitrary: oddValues },
);
/** Signatures the host stores as they come (members check them); it checks only their form. */
const sig = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(SIGNATURE_PATTERN) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  { weight: 1, arbitrary: oddValues },
);
const proof = fc.oneof(
  { weight: 6, arbitrary: fc.constant(PROVE) },
  { weight: 1, arbitrary: fc.stringMatching(SIGNATURE_PATTERN) },
  { weight: 1, arbitrary: oddValues },
);
/** One message more than `CACHE` takes. */
const oversizedCache = Array.from({ length: MAX_PAGE + 1 }, (_, index) => ({ msgId: `${index}`, text: "t" }));
const seq = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -2, max: 3_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, 2 ** 53, 1e308) },
  { weight: 1, arbitrary: oddValues },
);

/**
 * Requests whose body fits their command most of the time, so the handlers past validation run.
 * `CONNECT`s mostly carry the connection's own ticket, else one of `otherTickets` or a random string,
 * and mostly the proof of that ticket's key; messages mostly carry the connection's own ticket as
 * their certificate, else another; a `from` or `username` in a body tries to pass for someone else.
 */
function hostRequests(ownTicket: string, otherTickets: readonly string[]): fc.Arbitrary<PlannedRequest> {
  const ticket = fc.oneof(
    { weight: 4, arbitrary: fc.constant(ownTicket) },
    { weight: 2, arbitrary: fc.constantFrom(...otherTickets) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 200 }) },
  );
  const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
  const message = fc.record(
    { msgId, text, sentAt, sig, cert: ticket, from: optional(username) },
    { requiredKeys: ["msgId", "text", "sentAt", "sig", "cert"] },
  );
  const bodies: Record<string, fc.Arbitrary<object>> = {
    CONNECT: fc.record(
      {
        channel: channelName,
        ticket,
        proof,
        since: seq,
        invisible: fc.oneof(fc.boolean(), oddValues),
        username,
      },
      { requiredKeys: ["channel", "ticket", "proof"] },
    ),
    DISCONNECT: fc.record({ channel: channelName }),
    MESSAGE: fc.record(
      { channel: channelName, msgId, text, sentAt, sig, cert: ticket, from: username },
      { requiredKeys: ["channel", "msgId", "text", "sentAt", "sig", "cert"] },
    ),
    CACHE: fc.record({
      channel: channelName,
      messages: fc.oneof(
        { weight: 8, arbitrary: fc.array(message, { minLength: 1, maxLength: 5 }) },
        { weight: 1, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.constant(oversizedCache) },
      ),
    }),
    HISTORY: fc.record(
      { channel: channelName, before: seq, after: seq, limit: seq },
      { requiredKeys: ["channel"] },
    ),
    VIEW: fc.record(
      { channel: channelName, view: fc.constantFrom("public", "private", "secret"), moderated: fc.boolean() },
      { requiredKeys: ["channel", "view"] },
    ),
    AUTHORIZE: fc.record({ channel: channelName, username, grant: fc.oneof(fc.boolean(), oddValues) }),
    INVISIBLE: fc.record({
      invisible: fc.oneof({ weight: 6, arbitrary: fc.boolean() }, { weight: 1, arbitrary: oddValues }),
    }),
    RET_INFO: fc.record({ channel: channelName }),
    PING: fc.constant({}),
  };
  const weights: Record<string, number> = { MESSAGE: 6, CACHE: 3, CONNECT: 3, HISTORY: 2, DISCONNECT: 1 };
  return fc.oneof(
    ...Object.entries(bodies).map(([command, body]) => ({
      weight: weights[command] ?? 2,
      arbitrary: body.map(
        (value): PlannedRequest => ({ type: "request", id: ASSIGN_ID, command, body: value }),
      ),
    })),
  );
}

/**
 * The frame with its `PROVE` placeholder replaced by the proof for this connection: signed by the
 * key of the body's ticket (when a test client holds it) for this host, challenge and channel.
 */
function proved(value: unknown, link: HelloedLink): unknown {
  if (typeof value !== "object" || value === null || Buffer.isBuffer(value)) return value;
  const frame = value as Record<string, unknown>;
  const body = frame.body;
  if (typeof body !== "object" || body === null || (body as { proof?: unknown }).proof !== PROVE)
    return value;
  const { ticket, channel } = body as { ticket?: unknown; channel?: unknown };
  const key = (typeof ticket === "string" ? keyOfTicket(ticket) : undefined) ?? STRANGER_KEY;
  const bytes = proofBytes({
    purpose: "CONNECT",
    fingerprint: link.fingerprint,
    challenge: link.challenge,
    channel: typeof channel === "string" ? channel : "",
  });
  return { ...frame, body: { ...body, proof: key.sign(bytes) } };
}

function hostLines(ownTicket: string, otherTickets: readonly string[]): fc.Arbitrary<unknown> {
  const requests = hostRequests(ownTicket, otherTickets);
  const hostile = inputLine({
    commands: Object.keys(hostBodySchemas),
    otherCommands: ["SIGNIN", "LIST", "message", "PING ", "__proto__", "x".repeat(64)],
    fieldNames: [
      "channel",
      "ticket",
      "proof",
      "since",
      "invisible",
      "msgId",
      "text",
      "sentAt",
      "sig",
      "cert",
      "messages",
      "before",
      "after",
      "limit",
      "view",
      "moderated",
      "username",
      "grant",
      "from",
      "__proto__",
    ],
    plausibleBody: requests.map((request) => request.body as object),
  });
  return fc.oneof(hostile, requests);
}

/** The parts of `ChannelHost.debugInfo()` that show what the host still holds. */
interface HostDebugInfo {
  server: { connections: number };
  channels: { name: string; connections: number }[];
}

/** Every stored message of a channel, read by the owner page by page. */
async function storedMessages(owner: TestClient, channel: string): Promise<ChatMessage[]> {
  const messages: ChatMessage[] = [];
  for (let page = 0; page < 1_000; page++) {
    const after = messages.at(-1)?.seq ?? 0;
    const reply = await owner.request("HISTORY", { channel, after, limit: MAX_PAGE });
    messages.push(...(reply.messages as ChatMessage[]));
    if (reply.hasMore !== true) return messages;
  }
  throw new Error(`${channel} has more pages than expected`);
}

test("host - 10,000 random lines before and after a valid CONNECT each get exactly the answers the protocol promises", async () => {
  const identities = [
    { name: "owner", ticket: testHost.owner.ticket },
    { name: "alice", ticket: alice.ticket },
    { name: "guest", ticket: guest.ticket },
  ];
  let framesSent = 0;
  for (const identity of identities) {
    let run = 0;
    // Before its CONNECT the connection may only take on its own identity, so that CONNECT succeeds.
    const othersValid = [testHost.owner.ticket, alice.ticket, bob.ticket, guest.ticket].filter(
      (ticket) => ticket !== identity.ticket,
    );
    const linesBefore = hostLines(identity.ticket, badTickets);
    const linesAfter = hostLines(identity.ticket, [...othersValid, ...badTickets]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(linesBefore, { maxLength: LINES_BEFORE_CONNECT }),
        fc.array(linesAfter, { minLength: FRAMES_PER_RUN, maxLength: FRAMES_PER_RUN + 200 }),
        fc.array(fc.integer({ min: 1, max: 16_384 }), { minLength: 1, maxLength: 8 }),
        async (valuesBefore, valuesAfter, chunkSizes) => {
          run += 1;
          // An owner's run may have made the channel private or moderated.
          await testHost.host.host(CHANNEL, { view: "public", moderated: false });
          const prefix = `fz-${identity.name}-${run}`;
          const connect: PlannedRequest = {
            type: "request",
            id: ASSIGN_ID,
            command: "CONNECT",
            body: { channel: CHANNEL, ticket: identity.ticket, proof: PROVE },
          };
          const lines = (link: HelloedLink) => [
            ...valuesBefore.map((value, index) => encodeLine(proved(value, link), `${prefix}-b${index}`)),
            encodeLine(proved(connect, link), `${prefix}-connect`),
            ...valuesAfter.map((value, index) => encodeLine(proved(value, link), `${prefix}-a${index}`)),
          ];
          const { responses } = await sendAndCheckResponses(testHost.address, lines, chunkSizes);
          framesSent += valuesBefore.length + 1 + valuesAfter.length;
          const joined = responses.find((frame) => frame.id === `${prefix}-connect`);
          assert.equal(joined?.status, "OK", JSON.stringify(joined));
        },
      ),
      { numRuns: RUNS_PER_IDENTITY, endOnFailure: true },
    );
  }
  assert.ok(framesSent >= 10_000, `sent ${framesSent} frames`);
  assert.deepEqual(errorsLogged, []);

  await testHost.host.host(CHANNEL, { view: "public", moderated: false });
  const fresh = await connectUser(testHost.tracker.address, "fresh");
  const member = await connectMember(testHost.address, fresh.ticket, CHANNEL);
  const owner = await connectMember(testHost.address, testHost.owner.ticket, CHANNEL);
  try {
    const sent = await member.client.request("MESSAGE", {
      channel: CHANNEL,
      msgId: "after-fuzz",
      text: "still here",
    });
    const event = await member.client.nextEvent("MESSAGE", (body) => body.msgId === "after-fuzz");
    assert.equal(event.body.seq, sent.seq);
    assert.equal(event.body.from, "fresh");
    await owner.client.request("CONNECT", { channel: PRIVATE_CHANNEL, ticket: testHost.owner.ticket });
    for (const channel of [CHANNEL, PRIVATE_CHANNEL]) {
      const messages = await storedMessages(owner.client, channel);
      const info = await owner.client.request("RET_INFO", { channel });
      assert.deepEqual(
        messages.map((message) => message.seq),
        Array.from({ length: info.latestSeq as number }, (_, index) => index + 1),
        `${channel} history has no gaps`,
      );
      assert.equal(info.storedCount, info.latestSeq);
      // Only the senders' tickets name who sent: never a guest, never a `from` in the body.
      const senders = new Set(messages.map((message) => message.from));
      for (const sender of senders) assert.ok(["owner", "alice", "fresh"].includes(sender), sender);
      // Every stored message came with a signature and a certificate of its sender.
      for (const message of messages) {
        assert.match(message.sig ?? "", SIGNATURE_PATTERN, `${channel} #${message.seq} sig`);
        assert.notEqual(message.sentAt, null, `${channel} #${message.seq} sentAt`);
        assert.equal(ticketSubject(message.cert ?? "")?.toLowerCase(), message.from.toLowerCase());
      }
    }
    // Every connection but the owner's is gone: none is left behind in the server or in a channel.
    await member.client.close();
    const info = () => testHost.host.debugInfo() as unknown as HostDebugInfo;
    const deadline = Date.now() + 30_000;
    while (info().server.connections > 1 && Date.now() < deadline) await owner.client.request("PING");
    assert.equal(info().server.connections, 1);
    for (const channel of info().channels) assert.equal(channel.connections, 1, channel.name);
  } finally {
    await Promise.all([member.client.close(), owner.client.close(), fresh.client.close()]);
  }
  assert.deepEqual(errorsLogged, []);
});
