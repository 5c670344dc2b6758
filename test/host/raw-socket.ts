import { connect, type Socket } from "node:net";
import type { NetAddress } from "../helpers/client.js";

type Frame = Record<string, unknown> & { type?: string; id?: unknown; event?: unknown; body?: unknown };

interface FrameWaiter {
  matches(frame: Frame): boolean;
  resolve(frame: Frame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A bare TCP socket speaking NDJSON by hand: for sending malformed bytes, reading frames in the exact
 * order they arrived, and playing a member that stops reading.
 */
export class RawSocket {
  readonly socket: Socket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private buffered = "";
  private readonly waiters = new Set<FrameWaiter>();
  /** Indexes of frames already handed out by `next`. */
  private readonly taken = new Set<number>();

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.receive(chunk));
    socket.on("error", () => {});
    socket.once("close", () => {
      for (const waiter of this.waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error("socket closed"));
      }
      this.waiters.clear();
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

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  request(id: string, command: string, body: object): void {
    this.send(`${JSON.stringify({ type: "request", id, command, body })}\n`);
  }

  /** The oldest frame not handed out yet that matches, waiting for it if needed. */
  next(matches: (frame: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    for (const [index, frame] of this.frames.entries()) {
      if (!this.taken.has(index) && matches(frame)) {
        this.taken.add(index);
        return Promise.resolve(frame);
      }
    }
    if (this.socket.destroyed) return Promise.reject(new Error("socket closed"));
    return new Promise((resolve, reject) => {
      const waiter: FrameWaiter = {
        matches,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** The response to request `id`. */
  response(id: string | null, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === "response" && frame.id === id, timeoutMs);
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let newline = this.buffered.indexOf("\n");
    while (newline !== -1) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      newline = this.buffered.indexOf("\n");
      if (line.length === 0) continue;
      const frame = JSON.parse(line) as Frame;
      this.frames.push(frame);
      for (const waiter of this.waiters) {
        if (waiter.matches(frame)) {
          this.waiters.delete(waiter);
          clearTimeout(waiter.timer);
          this.taken.add(this.frames.length - 1);
          waiter.resolve(frame);
          break;
        }
      }
    }
  }
}
