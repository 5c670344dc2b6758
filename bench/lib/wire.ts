import { type Socket, connect as tcpConnect } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { Connection } from "../../src/protocol/connection.js";
import { withDeadline } from "./deadline.js";

export interface Address {
  host: string;
  port: number;
  /** The plain-TCP baseline server: no TLS on this address. Every hychat server speaks TLS. */
  plain?: boolean;
}

/** How long opening a TLS connection may take on a loaded loopback. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Responses of up to this size are accepted (a LIST of 10,000 channels is a few MB). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * A fingerprint for `HOST` requests of load generators that run no host: the tracker only
 * stores and lists it.
 */
export const BENCH_FINGERPRINT = `sha256:${"be".repeat(32)}`;

/**
 * Opens a TLS 1.3 connection on loopback with no Nagle delay, as hychat's links are. The load
 * generators accept any certificate: a member's fingerprint check is one hash per connection.
 */
export async function openSocket(address: Address): Promise<Socket> {
  const socket: Socket | TLSSocket = address.plain
    ? tcpConnect({ host: address.host, port: address.port })
    : connect({ host: address.host, port: address.port, rejectUnauthorized: false, minVersion: "TLSv1.3" });
  socket.setNoDelay(true);
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once(address.plain ? "connect" : "secureConnect", () => resolve());
        socket.once("error", reject);
      }),
      CONNECT_TIMEOUT_MS,
      `connect to ${address.host}:${address.port}`,
    );
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return socket;
}

/** A request/response client over the project's own `Connection` (tracker and host alike). */
export class WireClient {
  private readonly connection: Connection;
  private readonly closed: Promise<void>;

  private constructor(socket: Socket, requestTimeoutMs: number) {
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
    return new WireClient(await openSocket(address), requestTimeoutMs);
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
