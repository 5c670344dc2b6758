import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateTlsIdentity, type TlsIdentity } from "../../src/transport/tls-identity.js";
import type { ServerTrust } from "../../src/transport/trust.js";

/** Accepts any certificate: for tests of something other than who the server is. */
export const TRUST_ANY: ServerTrust = { check() {} };

let shared: Promise<TlsIdentity> | undefined;

/** One key and self-signed certificate per test process, for fake servers that must speak TLS. */
export function testTlsIdentity(): Promise<TlsIdentity> {
  shared ??= loadOrCreateTlsIdentity(mkdtempSync(join(tmpdir(), "hychat-tls-")), "hychat test");
  return shared;
}
