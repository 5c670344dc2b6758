import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DeviceKey } from "../../src/auth/device-key.js";
import { loadOrCreateIdentity } from "../../src/auth/keys.js";
import { signTicket, verifyTicket } from "../../src/auth/tickets.js";

const root = mkdtempSync(join(tmpdir(), "hychat-keys-"));
after(() => rmSync(root, { recursive: true, force: true }));

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test("auth - loadOrCreateIdentity creates an Ed25519 key file readable only by its owner", () => {
  const dir = mkdtempSync(join(root, "create-"));
  const identity = loadOrCreateIdentity(dir);
  assert.deepEqual(readdirSync(dir).sort(), ["tracker-id", "tracker-key.pem"]);
  assert.equal(mode(join(dir, "tracker-key.pem")), 0o600);
  assert.equal(mode(join(dir, "tracker-id")), 0o600);
  assert.match(readFileSync(join(dir, "tracker-key.pem"), "utf8"), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(identity.privateKey.asymmetricKeyType, "ed25519");
  assert.equal(identity.publicKey.asymmetricKeyType, "ed25519");
  assert.match(identity.issuer, /^hychat-tracker-[0-9a-f-]{36}$/);
});

test("auth - loadOrCreateIdentity reloads the same key and issuer", () => {
  const dir = mkdtempSync(join(root, "reload-"));
  const first = loadOrCreateIdentity(dir);
  const key = readFileSync(join(dir, "tracker-key.pem"), "utf8");
  const second = loadOrCreateIdentity(dir);
  assert.equal(readFileSync(join(dir, "tracker-key.pem"), "utf8"), key);
  assert.equal(second.issuer, first.issuer);
  assert.ok(second.publicKey.equals(first.publicKey));
  const ticket = signTicket(
    {
      v: 2,
      sub: "alice",
      role: "user",
      key: DeviceKey.generate().publicKey,
      dev: "laptop",
      gen: 1,
      iat: 1,
      exp: 2 ** 40,
      iss: first.issuer,
    },
    first.privateKey,
  );
  assert.equal(verifyTicket(ticket, second.publicKey, second.issuer).sub, "alice");
});

test("auth - loadOrCreateIdentity narrows a loosened key file back to 0600", () => {
  const dir = mkdtempSync(join(root, "chmod-"));
  loadOrCreateIdentity(dir);
  chmodSync(join(dir, "tracker-key.pem"), 0o644);
  loadOrCreateIdentity(dir);
  assert.equal(mode(join(dir, "tracker-key.pem")), 0o600);
});

test("auth - two data dirs get different identities", () => {
  const a = loadOrCreateIdentity(mkdtempSync(join(root, "a-")));
  const b = loadOrCreateIdentity(mkdtempSync(join(root, "b-")));
  assert.notEqual(a.issuer, b.issuer);
  assert.ok(!a.publicKey.equals(b.publicKey));
});
