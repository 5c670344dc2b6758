import type { Duplex } from "node:stream";
import { connect, rootCertificates, type TLSSocket } from "node:tls";
import { ConnectionError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { fingerprintOf } from "./tls-identity.js";
import { namesHost, type ServerTrust } from "./trust.js";

/** How long a TCP connect and TLS handshake may take before the attempt counts as failed (default 5 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Idle time before the kernel starts probing a link, on every socket hychat opens or accepts. */
export const TCP_KEEPALIVE_MS = 30_000;

/** A TLS session to resume, with the fingerprint of the certificate verified when it began. */
export interface ResumableSession {
  ticket: Buffer;
  fingerprint: string;
}

export interface DialOptions {
  trust: ServerTrust;
  timeoutMs?: number;
  /** A TLS session from an earlier link to the same server, to resume it without a full handshake. */
  session?: ResumableSession;
  /** The server sent a session ticket: keep it for the next dial. */
  onSession?(session: ResumableSession): void;
  /**
   * A stream that already leads to the server (a relay's splice): TLS runs inside it, end to end,
   * instead of over a fresh TCP connection; `address` then only names the server in messages.
   */
  over?: Duplex;
}

/** A dialed link and the fingerprint of the certificate behind it (proofs of possession name it). */
export interface DialedSocket {
  socket: TLSSocket;
  fingerprint: string;
}

/**
 * Opens a TLS 1.3 link to `address` and checks the server's certificate with `trust`; rejects on
 * error, on a refused certificate or after the timeout, leaving no socket behind. The one place a
 * hychat link is dialed (through `ReconnectingClient`).
 */
export function dial(address: Address, options: DialOptions): Promise<DialedSocket> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = connect({
      ...(options.over === undefined ? { host: address.host, port: address.port } : { socket: options.over }),
      // Names are checked below, against the trust in use: self-signed certificates are pinned instead.
      rejectUnauthorized: false,
      minVersion: "TLSv1.3",
      ...(isIpLiteral(address.host) ? {} : { servername: address.host }),
      // Node replaces its bundled roots with `ca`: extra CAs are added to them, not instead.
      ...(options.trust.ca === undefined ? {} : { ca: [...rootCertificates, ...options.trust.ca] }),
      ...(options.session === undefined ? {} : { session: options.session.ticket }),
    });
    if (options.over === undefined) {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    }
    const timer = setTimeout(() => {
      fail(new ConnectionError("TIMEOUT", `connect to ${addressKey(address)} timed out`));
    }, timeoutMs);
    const onError = (error: Error) => fail(tlsError(address, error));
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.off("secureConnect", onConnect);
      socket.off("error", onError);
      socket.destroy();
      options.over?.destroy();
      reject(error);
    };
    let fingerprint: string | undefined;
    let pendingSession: Buffer | undefined;
    const onConnect = () => {
      // A resumed session proves the server holds the secret of the earlier session, whose
      // certificate passed this check; TLS 1.3 sends no certificate again.
      if (socket.isSessionReused() && options.session !== undefined) {
        fingerprint = options.session.fingerprint;
      } else {
        const certificate = socket.getPeerCertificate();
        if (certificate.raw === undefined) {
          fail(new ConnectionError("TLS_FAILED", `${addressKey(address)} presented no certificate`));
          return;
        }
        const presented = fingerprintOf(certificate.raw);
        try {
          options.trust.check({
            address,
            fingerprint: presented,
            caVerified: namesHost(address.host, socket.authorized, certificate),
          });
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        fingerprint = presented;
      }
      const verified = fingerprint;
      if (pendingSession !== undefined)
        options.onSession?.({ ticket: pendingSession, fingerprint: verified });
      clearTimeout(timer);
      socket.off("error", onError);
      // Until the caller's `Connection` listens, an error must not go unhandled; the close still comes.
      socket.once("error", () => undefined);
      resolve({ socket, fingerprint: verified });
    };
    // Only sessions of a server that passed the check are kept for resuming.
    socket.on("session", (session: Buffer) => {
      if (fingerprint !== undefined) options.onSession?.({ ticket: session, fingerprint });
      else pendingSession = session;
    });
    socket.once("secureConnect", onConnect);
    socket.once("error", onError);
  });
}

export function addressKey(address: Address): string {
  return `${address.host}:${address.port}`;
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

/** A handshake that fails (a plaintext server, an old TLS version) says so, with the cause kept. */
function tlsError(address: Address, error: Error): Error {
  const code = (error as { code?: string }).code ?? "";
  if (
    code.startsWith("ERR_SSL") ||
    code.startsWith("ERR_TLS") ||
    /SSL|TLS|socket disconnected/i.test(error.message)
  ) {
    return new ConnectionError(
      "TLS_FAILED",
      `TLS handshake with ${addressKey(address)} failed (${error.message}); is it a hychat tracker or host of this release?`,
      { cause: error },
    );
  }
  return error;
}
