import { connect, type TLSSocket } from "node:tls";
import { type ProofPurpose, proofBytes } from "../../src/auth/canonical.js";
import type { DeviceKey } from "../../src/auth/device-key.js";
import { LineFramer } from "../../src/protocol/framer.js";
import { PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { fingerprintOf } from "../../src/transport/tls-identity.js";
import type { NetAddress } from "./client.js";

type Frame = Record<string, unknown>;

/** The id of the `HELLO` that `proof` sends. */
export const RAW_HELLO_ID = "raw-hello";

/**
 * A bare TLS socket for sending bytes that no well-behaved client would send, reading back every
 * line the server writes (parsed as JSON) in the exact order it arrived, and playing a peer that
 * stops reading (pause `socket`).
 */
export class RawSocket {
  readonly socket: TLSSocket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  /** Indexes of frames already handed out by `next`, so each frame is taken once. */
  private readonly taken = new Set<number>();
  private isClosed = false;
  private hello: Promise<string> | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    const framer = new LineFramer(
      {
        onLine: (line) => {
          this.frames.push(JSON.parse(line) as Frame);
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
      const socket = connect({ port: address.port, host: address.host, rejectUnauthorized: false });
      socket.once("secureConnect", () => {
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

  /** Sends one request frame as a line. */
  request(id: string, command: string, body: object): Promise<void> {
    return this.send(`${JSON.stringify({ type: "request", id, command, body })}\n`);
  }

  /**
   * `key`'s proof of possession for `purpose` (and `channel`) on this connection: sends `HELLO`
   * (id `raw-hello`, once) for the challenge, and signs it with the server's certificate fingerprint.
   */
  async proof(key: DeviceKey, purpose: ProofPurpose, channel?: string): Promise<string> {
    this.hello ??= this.request(RAW_HELLO_ID, "HELLO", { version: PROTOCOL_VERSION })
      .then(() => this.response(RAW_HELLO_ID))
      .then((frame) => {
        const challenge = (frame.body as { challenge?: unknown } | undefined)?.challenge;
        if (typeof challenge !== "string")
          throw new Error(`HELLO answered no challenge: ${JSON.stringify(frame)}`);
        return challenge;
      });
    const challenge = await this.hello;
    const fingerprint = fingerprintOf(this.socket.getPeerCertificate().raw);
    return key.sign(
      proofBytes({ purpose, fingerprint, challenge, ...(channel === undefined ? {} : { channel }) }),
    );
  }

  /** Resolves once at least `count` frames have arrived; rejects at the deadline or on close before that. */
  waitForFrames(count: number, timeoutMs = 30_000): Promise<Frame[]> {
    return this.waitUntil(() => this.frames.length >= count, `${count} frames`, timeoutMs).then(
      () => this.frames,
    );
  }

  /** Takes the oldest frame not taken yet that matches, waiting for it if needed. */
  async next(matches: (frame: Frame) => boolean = () => true, timeoutMs = 30_000): Promise<Frame> {
    let found: Frame | undefined;
    const take = () => {
      const index = this.frames.findIndex((frame, at) => !this.taken.has(at) && matches(frame));
      if (index === -1) return false;
      // Marked at once so that a second waiter checked for the same frame does not take it too.
      this.taken.add(index);
      found = this.frames[index];
      return true;
    };
    await this.waitUntil(take, "a matching frame", timeoutMs);
    return found as Frame;
  }

  /** Takes the response to request `id` (`null` for errors about lines that had no readable id). */
  response(id: string | null, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === "response" && frame.id === id, timeoutMs);
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
