import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import {
  DEFAULT_TICKET_TTL_S,
  nowSeconds,
  publicKeyFromBase64,
  publicKeyToBase64,
  signTicket,
  type TicketPayload,
  verifyTicket,
} from "../../src/auth/tickets.js";
import { HychatError, UnauthorizedError } from "../../src/protocol/errors.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const ISSUER = "hychat-tracker-test";
const NOW = 1_800_000_000;
const DEVICE_KEY = DeviceKey.generate().publicKey;

function payload(overrides: Partial<TicketPayload> = {}): TicketPayload {
  return {
    v: 2,
    sub: "alice",
    role: "user",
    key: DEVICE_KEY,
    dev: "laptop",
    gen: 1,
    iat: NOW,
    exp: NOW + DEFAULT_TICKET_TTL_S,
    iss: ISSUER,
    ...overrides,
  };
}

/** Asserts that verifying `ticket` fails with UNAUTHORIZED BAD_TICKET, and returns the reason. */
function badTicket(
  ticket: string,
  options: { now?: number; issuer?: string; key?: typeof publicKey } = {},
): string {
  try {
    verifyTicket(ticket, options.key ?? publicKey, options.issuer ?? ISSUER, options.now ?? NOW);
  } catch (error) {
    assert.ok(error instanceof UnauthorizedError, `expected UnauthorizedError, got ${String(error)}`);
    assert.ok(error instanceof HychatError);
    assert.equal(error.status, "UNAUTHORIZED");
    assert.equal(error.code, "BAD_TICKET");
    return error.message;
  }
  assert.fail(`ticket ${JSON.stringify(ticket)} was accepted`);
}

function reencode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Signs any encoded payload the way the tracker does, to test what the payload check refuses. */
function signRaw(encoded: string): string {
  return `${encoded}.${sign(null, Buffer.from(encoded, "ascii"), privateKey).toString("base64url")}`;
}

test("auth - a signed ticket verifies and returns its payload", () => {
  const ticket = signTicket(payload({ sub: "guest-bob", role: "guest" }), privateKey);
  assert.match(ticket, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(
    verifyTicket(ticket, publicKey, ISSUER, NOW),
    payload({ sub: "guest-bob", role: "guest" }),
  );
});

test("auth - a ticket is base64url(JSON payload) dot base64url(signature)", () => {
  const ticket = signTicket(payload(), privateKey);
  const [encoded, signature] = ticket.split(".");
  assert.deepEqual(JSON.parse(Buffer.from(encoded ?? "", "base64url").toString("utf8")), payload());
  assert.equal(Buffer.from(signature ?? "", "base64url").length, 64);
  assert.ok(!ticket.includes("="));
});

test("auth - a tampered payload is refused", () => {
  const ticket = signTicket(payload(), privateKey);
  const signature = ticket.split(".")[1];
  for (const changed of [
    payload({ sub: "mallory" }),
    payload({ role: "guest" }),
    payload({ exp: NOW + 10 * DEFAULT_TICKET_TTL_S }),
    payload({ key: DeviceKey.generate().publicKey }),
    payload({ gen: 2 }),
    payload({ dev: "phone" }),
  ]) {
    assert.match(badTicket(`${reencode(changed)}.${signature}`), /signature/);
  }
  const encoded = ticket.split(".")[0] ?? "";
  const flipped = `${encoded.slice(0, 10)}${encoded[10] === "A" ? "B" : "A"}${encoded.slice(11)}`;
  assert.match(badTicket(`${flipped}.${signature}`), /signature/);
});

test("auth - a tampered or foreign signature is refused", () => {
  const ticket = signTicket(payload(), privateKey);
  const [encoded, signature = ""] = ticket.split(".");
  const flipped = `${signature.slice(0, 5)}${signature[5] === "A" ? "B" : "A"}${signature.slice(6)}`;
  badTicket(`${encoded}.${flipped}`);
  badTicket(`${encoded}.${signature.slice(0, -4)}`);
  badTicket(`${encoded}.AAAA`);
  const other = generateKeyPairSync("ed25519");
  badTicket(signTicket(payload(), other.privateKey));
  badTicket(ticket, { key: other.publicKey });
});

test("auth - a ticket from another issuer is refused", () => {
  const ticket = signTicket(payload({ iss: "some-other-tracker" }), privateKey);
  assert.match(badTicket(ticket), /another tracker/);
  assert.match(
    badTicket(signTicket(payload(), privateKey), { issuer: "some-other-tracker" }),
    /another tracker/,
  );
});

test("auth - an expired ticket is refused from its exp on", () => {
  const ticket = signTicket(payload({ exp: NOW + 60 }), privateKey);
  assert.equal(verifyTicket(ticket, publicKey, ISSUER, NOW + 59).sub, "alice");
  assert.match(badTicket(ticket, { now: NOW + 60 }), /expired/);
  assert.match(badTicket(ticket, { now: NOW + 3600 }), /expired/);
});

test("auth - verifyTicket defaults to the current time", () => {
  const now = nowSeconds();
  const fresh = signTicket(payload({ iat: now, exp: now + 600 }), privateKey);
  assert.equal(verifyTicket(fresh, publicKey, ISSUER).sub, "alice");
  const stale = signTicket(payload({ iat: now - 600, exp: now - 1 }), privateKey);
  assert.throws(() => verifyTicket(stale, publicKey, ISSUER), { code: "BAD_TICKET" });
});

test("auth - garbage is refused as BAD_TICKET", () => {
  const valid = signTicket(payload(), privateKey);
  for (const garbage of [
    "",
    ".",
    "abc",
    "a.",
    ".b",
    "a.b.c",
    "a..b",
    `${valid}.x`,
    `${valid} `,
    ` ${valid}`,
    "!!!.???",
    "😀.😀",
  ]) {
    badTicket(garbage);
  }
});

test("auth - a ticket is refused when any character is outside base64url, even one that decodes alike", () => {
  const ticket = signTicket(payload(), privateKey);
  // U+0141 has the low byte of "A": Node's latin1 and base64 decoders would read both alike.
  for (let index = 0; index < ticket.length; index += 1) {
    const code = ticket.charCodeAt(index);
    if (ticket[index] === ".") continue;
    const lookalike = `${ticket.slice(0, index)}${String.fromCharCode(code + 0x100)}${ticket.slice(index + 1)}`;
    badTicket(lookalike);
  }
  badTicket(`${ticket}=`);
  badTicket(ticket.replace(".", "=."));
});

test("auth - a properly signed payload of the wrong shape is refused", () => {
  for (const shape of [
    { ...payload(), v: 1 },
    { ...payload(), v: 3 },
    { ...payload(), key: "not-a-key" },
    { ...payload(), key: undefined },
    { ...payload(), dev: "has space" },
    { ...payload(), dev: "" },
    { ...payload(), gen: 0 },
    { ...payload(), gen: 1.5 },
    { ...payload(), role: "admin" },
    { ...payload(), sub: "" },
    { ...payload(), exp: "tomorrow" },
    { sub: "alice" },
    ["not", "an", "object"],
  ]) {
    assert.match(badTicket(signRaw(reencode(shape))), /malformed/);
  }
  assert.match(badTicket(signRaw(Buffer.from("{not json").toString("base64url"))), /malformed/);
});

test("auth - a public key survives its base64 SPKI form", () => {
  const text = publicKeyToBase64(publicKey);
  assert.match(text, /^[A-Za-z0-9+/]+=*$/);
  const restored = publicKeyFromBase64(text);
  assert.ok(restored.equals(publicKey));
  const ticket = signTicket(payload(), privateKey);
  assert.equal(verifyTicket(ticket, restored, ISSUER, NOW).sub, "alice");
});
