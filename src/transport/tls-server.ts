import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Server, type TlsOptions } from "node:tls";
import type { TlsIdentity } from "./tls-identity.js";

export const TICKET_KEYS_FILE = "tls-ticket-keys";
/** A client that connects and never finishes the handshake is dropped after this long. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** The same for every hychat server and release, so sessions survive restarts with other flags. */
const SESSION_ID_CONTEXT = "hychat";

/**
 * The session-ticket keys of a server, kept in its data dir (mode 0600) so that members resume
 * their TLS sessions across a restart instead of all doing full handshakes at once.
 */
function loadOrCreateTicketKeys(dir: string): Buffer {
  const path = join(dir, TICKET_KEYS_FILE);
  if (!existsSync(path)) writeFileSync(path, randomBytes(48), { mode: 0o600 });
  chmodSync(path, 0o600);
  const keys = readFileSync(path);
  if (keys.length !== 48) {
    const fresh = randomBytes(48);
    writeFileSync(path, fresh, { mode: 0o600 });
    return fresh;
  }
  return keys;
}

export interface TlsServerOptions {
  identity: TlsIdentity;
  /** Where the session-ticket keys are kept. */
  dataDir: string;
  /** Sockets beyond this, handshaking or not, are closed at once by the kernel's accept. */
  maxSockets: number;
}

/** A TLS 1.3-only server presenting `identity`; its `secureConnection` sockets are hychat links. */
export function createTlsServer(options: TlsServerOptions): Server {
  const tlsOptions: TlsOptions = {
    key: options.identity.key,
    cert: options.identity.cert,
    minVersion: "TLSv1.3",
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    ticketKeys: loadOrCreateTicketKeys(options.dataDir),
    // Node derives the default from process.argv: a restart with other arguments would refuse every session.
    sessionIdContext: SESSION_ID_CONTEXT,
  };
  const server = createServer(tlsOptions);
  server.maxConnections = options.maxSockets;
  return server;
}
