import { connect, type Socket } from "node:net";
import { LineFramer } from "../../src/protocol/framer.js";
import type { NetAddress } from "./client.js";

/**
 * A bare TCP socket for sending bytes that no well-behaved client would send, and reading back
 * every line the server writes, parsed as JSON.
 */
export class RawSocket {
  readonly socket: Socket;
  readonly frames: Record<string, unknown>[] = [];
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    const framer = new LineFramer(
      {
        onLine: (line) => {
          this.frames.push(JSON.parse(line) as Record<string, unknown>);
          this.notify();
        },
        onOversize: () => socket.destroy(new Error("server sent an oversized line")),
      },
      64 * 1024 * 1024,
    );
    socket.on("data", (chunk: Buffer) => framer.push(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.isClosed = true;
        this.notify();
        resolve();
      });
    });
  }

  static connect(address: NetAddress): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(address.port, address.host);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawSocket(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Writes bytes and waits until the socket has taken them (honours backpressure). */
  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Resolves once at least `count` frames have arrived; rejects at the deadline or on close before that. */
  waitForFrames(count: number, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
    return this.waitUntil(() => this.frames.length >= count, `${count} frames`, timeoutMs).then(
      () => this.frames,
    );
  }

  /** Resolves once the server has closed the connection. */
  waitForClose(timeoutMs = 30_000): Promise<void> {
    return this.waitUntil(() => this.isClosed, "the connection to close", timeoutMs, true);
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  /** Resolves once `done()` holds, checked whenever a frame arrives; rejects at the deadline or on close. */
  waitFor(done: () => boolean, timeoutMs = 30_000): Promise<void> {
    return this.waitUntil(done, "a condition", timeoutMs);
  }

  private waitUntil(
    done: () => boolean,
    what: string,
    timeoutMs: number,
    closeIsDone = false,
  ): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) {
          finish();
          resolve();
        } else if (this.isClosed && !closeIsDone) {
          finish();
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
