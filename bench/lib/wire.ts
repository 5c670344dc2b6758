import { type Socket, connect as tcpConnect } from "node:net";
import { connect, TLSSocket } from "node:tls";
import { type ProofPurpose, proofBytes } from "../../src/auth/canonical.js";
import type { DeviceKey } from "../../src/auth/device-key.js";
import { Connection } from "../../src/protocol/connection.js";
import { encodeRequest, PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { CHALLENGE_PATTERN } from "../../src/protocol/names.js";
import { fingerprintOf } from "../../src/transport/tls-identity.js";
import { withDeadline } from "./deadline.js";

export interface Address {
  host: string;
  port: number;
  /** The plain-TCP baseline server: no TLS on this address. Every hychat server speaks TLS. */
  plain?: boolean;
}

/** How long opening a TLS connection may take on a loaded loopback. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Responses of up to this size are accepted: far more than any answer (a LIST page is under 300 KB). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * A fingerprint for `HOST` requests of load generators that run no host: the tracker only
 * stores and lists it.
 */
export const BENCH_FINGERPRINT = `sha256:${"be".repeat(32)}`;

/** What proofs name on a plain-TCP baseline link, which presents no certificate (nothing checks them). */
export const PLAIN_FINGERPRINT = `sha256:${"00".repeat(32)}`;

/**
 * The fingerprint of the certificate the server presented on `socket`, as a hychat client computes
 * it (src/transport/dial.ts); `PLAIN_FINGERPRINT` for a plain-TCP socket.
 */
export function socketFingerprint(socket: Socket): string {
  if (!(socket instanceof TLSSocket)) return PLAIN_FINGERPRINT;
  const raw = socket.getPeerCertificate().raw;
  if (raw === undefined) throw new Error("the server presented no certificate");
  return fingerprintOf(raw);
}

/** What every proof of possession on one link names: the server's certificate and the link's `HELLO` challenge. */
export interface LinkProof {
  fingerprint: string;
  challenge: string;
}

/** `key`'s proof of possession for a request on `link` (`channel` for `CONNECT`). */
export function prove(key: DeviceKey, link: LinkProof, purpose: ProofPurpose, channel?: string): string {
  return key.sign(proofBytes({ purpose, fingerprint: link.fingerprint, challenge: link.challenge, channel }));
}

/** The `HELLO` request line every link starts with (version 3: its answer carries the challenge). */
export function helloLine(id: string): string {
  return encodeRequest(id, "HELLO", { version: PROTOCOL_VERSION });
}

/** The challenge in a `HELLO` answer body; throws when there is none (an older server). */
export function challengeOf(body: unknown): string {
  const challenge = (body as { challenge?: unknown } | null)?.challenge;
  if (typeof challenge !== "string" || !CHALLENGE_PATTERN.test(challenge)) {
    throw new Error(`HELLO answered without a challenge: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  return challenge;
}

/** The challenge of a `HELLO` answer line (a raw response frame); throws on a refusal or none. */
export function challengeOfLine(line: string): string {
  let frame: { status?: string; body?: unknown };
  try {
    frame = JSON.parse(line) as typeof frame;
  } catch {
    throw new Error(`HELLO was not answered: ${line.slice(0, 300)}`);
  }
  if (frame.status !== "OK") throw new Error(`HELLO was refused: ${line.slice(0, 300)}`);
  return challengeOf(frame.body);
}

/**
 * Opens a TLS 1.3 connection on loopback with no Nagle delay, as hychat's links are. The load
 * generators accept any certificate: a member's fingerprint check is one hash per connection.
 */
export async function openSocket(address: Address): Promise<Socket> {
  const socket: Socket | TLSSocket = address.plain
    ? tcpConnect({ host: address.host, port: address.port })
    : connect({ host: address.host, port: address.port, rejectUnauthorized: false, minVersion: "TLSv1.3" });
  socket.setNoDelay(true);
  await connected(
    socket,
    address.plain ? "connect" : "secureConnect",
    `connect to ${address.host}:${address.port}`,
  );
  return socket;
}

/** Waits for `socket`'s `event` (its connection or TLS handshake); destroys it on failure. */
async function connected(socket: Socket, event: "connect" | "secureConnect", what: string): Promise<void> {
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once(event, () => resolve());
        socket.once("error", reject);
      }),
      CONNECT_TIMEOUT_MS,
      what,
    );
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/** What a member needs to reach a channel's host through its tracker's relay. */
export interface RelayDial {
  tracker: Address;
  /** The tracker's certificate, as the member's own tracker link saw it: the relay must present it. */
  trackerFingerprint: string;
  channel: string;
  /** The host's certificate, as the channel is listed: the TLS inside the relayed stream must present it. */
  hostFingerprint: string;
  ticket: string;
  key: DeviceKey;
}

/**
 * A member's socket to a channel's host through the tracker's relay (docs/protocol.md, "The
 * relay"): TLS to the tracker, `HELLO`, then `RELAY_DIAL` with the ticket and its key's proof over
 * the relay's fingerprint, this connection's challenge and the channel. After its `OK` the stream
 * is spliced to the host, and TLS to the host runs inside it, end to end. Resolves with that inner
 * TLS socket once the host presented the listed certificate.
 */
export async function openRelayedSocket(dial: RelayDial): Promise<TLSSocket> {
  const outer = await openSocket(dial.tracker);
  try {
    const fingerprint = socketFingerprint(outer);
    if (fingerprint !== dial.trackerFingerprint)
      throw new Error(`the relay presented ${fingerprint}, not the tracker's ${dial.trackerFingerprint}`);
    // One request after another, then raw bytes: no heartbeats on this connection.
    const connection = new Connection(
      outer,
      {},
      { heartbeatIntervalMs: 0, requestTimeoutMs: CONNECT_TIMEOUT_MS },
    );
    const challenge = challengeOf(await connection.request("HELLO", { version: PROTOCOL_VERSION }));
    const proof = prove(dial.key, { challenge, fingerprint }, "RELAY_DIAL", dial.channel);
    const stream = await connection.requestThenDetach("RELAY_DIAL", {
      channel: dial.channel,
      ticket: dial.ticket,
      proof,
    });
    const inner = connect({ socket: stream, rejectUnauthorized: false, minVersion: "TLSv1.3" });
    await connected(inner, "secureConnect", `TLS to the host of ${dial.channel} through the relay`);
    const hostFingerprint = socketFingerprint(inner);
    if (hostFingerprint !== dial.hostFingerprint) {
      inner.destroy();
      throw new Error(`the relayed host presented ${hostFingerprint}, not ${dial.hostFingerprint}`);
    }
    return inner;
  } catch (error) {
    outer.destroy();
    throw error;
  }
}

/**
 * A request/response client over the project's own `Connection` (tracker and host alike). `open`
 * sends `HELLO` first, as every hychat link does, and keeps the connection's challenge for proofs.
 */
export class WireClient implements LinkProof {
  private readonly connection: Connection;
  private readonly closed: Promise<void>;
  /** The server's certificate, as presented on this socket. */
  readonly fingerprint: string;
  /** This connection's `HELLO` challenge. */
  challenge = "";

  private constructor(socket: Socket, requestTimeoutMs: number) {
    this.fingerprint = socketFingerprint(socket);
    let markClosed: () => void = () => {};
    this.closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    this.connection = new Connection(
      socket,
      { onClose: () => markClosed() },
      { requestTimeoutMs, maxFrameBytes: MAX_RESPONSE_BYTES },
    );
  }

  static async open(address: Address, requestTimeoutMs = 60_000): Promise<WireClient> {
    const client = new WireClient(await openSocket(address), requestTimeoutMs);
    try {
      client.challenge = challengeOf(await client.request("HELLO", { version: PROTOCOL_VERSION }));
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** `key`'s proof of possession for `purpose` on this connection (`channel` for `CONNECT`). */
  prove(key: DeviceKey, purpose: ProofPurpose, channel?: string): string {
    return prove(key, this, purpose, channel);
  }

  request<T = Record<string, unknown>>(command: string, body: object, timeoutMs?: number): Promise<T> {
    return this.connection.request(command, body, timeoutMs === undefined ? {} : { timeoutMs }) as Promise<T>;
  }

  async close(): Promise<void> {
    this.connection.close();
    await withDeadline(this.closed, 10_000, "client close");
  }
}

/** Runs `count` requests with at most `window` in flight; rejects on the first failure. */
export async function pipelined(
  count: number,
  window: number,
  send: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await send(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}
