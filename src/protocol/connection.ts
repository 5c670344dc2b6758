import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { Status } from "./codes.js";
import { ConnectionError, errorFromWire, type HychatError } from "./errors.js";
import { DEFAULT_MAX_FRAME_BYTES, LineFramer } from "./framer.js";
import {
  type EventFrame,
  encodeEvent,
  encodeRequest,
  encodeResponse,
  parseFrame,
  type RequestFrame,
} from "./frames.js";
import type { LineBudget } from "./line-budget.js";
import { PendingRequests } from "./pending.js";

export interface ConnectionOptions {
  /** Longest accepted line in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /** How long `request` waits for its response (default 10 s). */
  requestTimeoutMs?: number;
  /** Bytes that may wait in the socket's write buffer before the peer counts as not reading (default 8 MiB). */
  maxQueuedBytes?: number;
  /** How long the write buffer may stay over its high-water mark before the peer counts as stalled (default 30 s). */
  drainTimeoutMs?: number;
  /**
   * After this long with nothing received, this side sends `PING` (default 10 s; 0 turns heartbeats
   * off). Anything received, not just the answer, proves the other side alive.
   */
  heartbeatIntervalMs?: number;
  /**
   * Quiet intervals in a row, each answered by a `PING` that brought nothing back, after which the
   * link counts as dead and is destroyed (default 2: a dead link is found within 40 s by default).
   */
  heartbeatMisses?: number;
}

export const DEFAULT_CONNECTION_OPTIONS: Required<ConnectionOptions> = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  requestTimeoutMs: 10_000,
  maxQueuedBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  heartbeatIntervalMs: 10_000,
  heartbeatMisses: 2,
};

/** How long a closed connection waits for the other side to finish before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

export interface ConnectionHandlers {
  /** A request frame from the other side; answer it with `reply` or `replyError`. */
  onRequest?(frame: RequestFrame, connection: Connection): void;
  onEvent?(frame: EventFrame, connection: Connection): void;
  /** Called once, after every pending request has been rejected. */
  onClose?(connection: Connection, error: Error | undefined): void;
}

export interface RequestOptions {
  timeoutMs?: number;
}

/**
 * One NDJSON connection over any duplex byte stream: requests with matching responses, events,
 * and protection against peers that send too much or read too little.
 */
export class Connection {
  readonly options: Required<ConnectionOptions>;
  private readonly stream: Duplex;
  private readonly handlers: ConnectionHandlers;
  private readonly pending = new PendingRequests();
  private readonly framer: LineFramer;
  private drainTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private closeError: Error | undefined;
  private isClosed = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Set by every chunk received; the heartbeat clears it once per interval. */
  private heardSinceTick = true;
  private quietTicks = 0;
  /** Inside `framer.push`: a `detach` there leaves the rest of the chunk to `onData`. */
  private pushing = false;
  /** The request whose `OK` detaches the connection (`requestThenDetach`). */
  private detachOn: string | undefined;
  private detachedStream: Duplex | undefined;
  /** What this connection's unfinished line counts against, while the server does not trust it yet. */
  private lineBudget: LineBudget | undefined;

  constructor(stream: Duplex, handlers: ConnectionHandlers, options: ConnectionOptions = {}) {
    this.stream = stream;
    this.handlers = handlers;
    this.options = { ...DEFAULT_CONNECTION_OPTIONS, ...options };
    this.framer = new LineFramer(
      {
        onLine: (line) => this.handleLine(line),
        onOversize: (bytes) => {
          this.reply(null, "REQUEST_ERROR", {
            code: "FRAME_TOO_LARGE",
            message: `frame exceeds ${this.framer.maxFrameBytes} bytes (${bytes} seen)`,
          });
          this.close();
        },
      },
      this.options.maxFrameBytes,
    );
    stream.on("data", this.onData);
    stream.on("drain", () => this.clearDrainTimer());
    stream.on("error", (error) => {
      this.closeError ??= error;
    });
    stream.on("close", () => this.finish());
    stream.on("end", this.onEnd);
    if (this.options.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sets the cap on one line, and the budget its unfinished line counts against (`undefined`:
   * none), both from the next byte received on. A server keeps both small until the other side
   * signs in. Lazily, so that a sign-in again (out, then in, at once) changes nothing.
   */
  limitLines(maxFrameBytes: number, budget: LineBudget | undefined): void {
    if (budget !== this.lineBudget) {
      this.lineBudget?.release(this);
      this.lineBudget = budget;
    }
    this.framer.setMaxFrameBytes(maxFrameBytes);
  }

  /**
   * Stops reading frames and hands the stream over as raw bytes (a relay's splice), with what was
   * received past the current frame put back at its front. The connection then counts as closed
   * (`onClose` runs, pending requests fail, nothing more is written through it), but the stream
   * stays open for its new owner. Call it from a request handler, or between chunks.
   */
  detach(): Duplex {
    if (this.detachedStream !== undefined || this.isClosed) return this.detachedStream ?? this.stream;
    this.framer.stop();
    this.stream.off("data", this.onData);
    this.stream.off("end", this.onEnd);
    this.stream.pause();
    this.detachedStream = this.stream;
    // Mid-chunk, the rest of the chunk is only known once the framer returns (see `onData`).
    if (!this.pushing) this.restoreRest();
    this.finish();
    return this.stream;
  }

  /**
   * Sends a request whose `OK` turns the connection into a raw stream: the connection detaches as
   * the answer is read, before any byte after it, and the stream is returned. An error answer
   * rejects as usual and leaves the connection as it was.
   */
  async requestThenDetach(command: string, body: object, options: RequestOptions = {}): Promise<Duplex> {
    if (this.isClosed) throw new ConnectionError("CONNECTION_CLOSED", `connection closed before ${command}`);
    const id = randomUUID();
    const frame = encodeRequest(id, command, body);
    const response = this.pending.add(id, options.timeoutMs ?? this.options.requestTimeoutMs, command);
    this.detachOn = id;
    this.write(frame);
    try {
      await response;
    } finally {
      if (this.detachOn === id) this.detachOn = undefined;
    }
    if (this.detachedStream === undefined)
      throw new ConnectionError("CONNECTION_CLOSED", `connection closed during ${command}`);
    return this.detachedStream;
  }

  /** Bytes written but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.stream.writableLength;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  request(command: string, body: object, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    if (this.isClosed) {
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", `connection closed before ${command}`));
    }
    const id = randomUUID();
    // Encoded before it is pending: a body JSON cannot encode must not leave a timer that rejects unheard.
    const frame = encodeRequest(id, command, body);
    const response = this.pending.add(id, options.timeoutMs ?? this.options.requestTimeoutMs, command);
    this.write(frame);
    return response;
  }

  reply(id: string | null, status: Status, body: object): void {
    this.write(encodeResponse(id, status, body));
  }

  replyError(id: string | null, error: HychatError): void {
    this.write(encodeResponse(id, error.status, error.toBody()));
  }

  event(name: string, body: object): void {
    this.write(encodeEvent(name, body));
  }

  /**
   * Writes already-encoded frames (a broadcast encoded once for every member). Returns false when
   * the connection was dropped because its reader is too slow.
   */
  write(data: string | Buffer): boolean {
    if (this.isClosed || this.stream.writableEnded) return false;
    const flushed = this.stream.write(data);
    if (!flushed) {
      if (this.stream.writableLength > this.options.maxQueuedBytes) {
        this.destroy(new Error(`peer is not reading: ${this.stream.writableLength} bytes queued`));
        return false;
      }
      this.drainTimer ??= setTimeout(() => {
        this.destroy(new Error(`peer did not drain within ${this.options.drainTimeoutMs} ms`));
      }, this.options.drainTimeoutMs);
    }
    return true;
  }

  cork(): void {
    this.stream.cork();
  }

  uncork(): void {
    this.stream.uncork();
  }

  /** Ends the connection after what is already written has been sent; destroys it if the other side lingers. */
  close(): void {
    if (this.isClosed || this.closeTimer !== undefined) return;
    this.stream.end();
    this.closeTimer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  destroy(error?: Error): void {
    if (error !== undefined) this.closeError ??= error;
    this.stream.destroy();
    this.finish();
  }

  /**
   * Once per interval: a link that brought nothing is asked for a `PING`; one that stayed quiet for
   * `heartbeatMisses` intervals after that is dead (a peer asleep, a NAT mapping gone), so it is
   * destroyed and the usual closed-link path follows, instead of waiting for the kernel's timeout.
   */
  private heartbeat(): void {
    if (this.heardSinceTick) {
      this.heardSinceTick = false;
      this.quietTicks = 0;
      return;
    }
    if (this.quietTicks >= this.options.heartbeatMisses) {
      this.destroy(
        new ConnectionError(
          "TIMEOUT",
          `no answer to ${this.quietTicks} heartbeats (${this.options.heartbeatIntervalMs} ms apart)`,
        ),
      );
      return;
    }
    this.quietTicks += 1;
    this.request("PING", {}, { timeoutMs: this.options.heartbeatIntervalMs }).catch(() => undefined);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.heardSinceTick = true;
    // A handler that throws is a bug on this side: drop this connection, never the process.
    this.pushing = true;
    try {
      this.framer.push(chunk);
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.pushing = false;
    }
    if (this.detachedStream !== undefined) this.restoreRest();
    else this.holdLine();
  };

  /** Tells the line budget, if any, how much of an unfinished line this connection holds now. */
  private holdLine(): void {
    if (this.lineBudget !== undefined && !this.isClosed) {
      this.lineBudget.set(this, this.framer.bufferedBytes, this.evictLine);
    }
  }

  /** The budget chose this connection's line to drop: it is answered as a line too large, and closed. */
  private readonly evictLine = (): void => {
    this.framer.discard();
    this.reply(null, "REQUEST_ERROR", {
      code: "FRAME_TOO_LARGE",
      message: `unfinished lines exceed this server's budget of ${this.lineBudget?.limitBytes} bytes for connections not signed in; this one held the most`,
    });
    this.close();
  };

  private readonly onEnd = (): void => {
    // The other side finished sending; finish our side too so the socket closes.
    if (!this.stream.writableEnded) this.stream.end();
  };

  private restoreRest(): void {
    const rest = this.framer.takeRest();
    if (rest.length > 0) this.stream.unshift(rest);
  }

  private handleLine(line: string): void {
    const parsed = parseFrame(line);
    if (!parsed.ok) {
      this.reply(parsed.id, "REQUEST_ERROR", { code: "BAD_FRAME", message: parsed.reason });
      return;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case "response":
        // A response without id matches no request; answering it would start a BAD_FRAME ping-pong.
        if (frame.id === null) return;
        if (frame.id === this.detachOn && frame.status === "OK") {
          this.detachOn = undefined;
          // Settled first, so `detach` (which fails what is pending) leaves this answer alone; its
          // waiter runs later, once the stream is raw.
          if (this.pending.settle(frame.id, frame.body)) this.detach();
          return;
        }
        this.pending.settle(
          frame.id,
          frame.status === "OK" ? frame.body : errorFromWire(frame.status, frame.body),
        );
        return;
      case "event":
        this.handlers.onEvent?.(frame, this);
        return;
      case "request":
        if (this.handlers.onRequest === undefined) {
          // The other side's heartbeat: a side that takes no requests still shows it is alive.
          if (frame.command === "PING") {
            this.reply(frame.id, "OK", { time: new Date().toISOString() });
            return;
          }
          this.reply(frame.id, "REQUEST_ERROR", {
            code: "UNKNOWN_COMMAND",
            message: `this side accepts no requests (${frame.command})`,
          });
          return;
        }
        this.handlers.onRequest(frame, this);
    }
  }

  private clearDrainTimer(): void {
    if (this.drainTimer !== undefined) {
      clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
    }
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.clearDrainTimer();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.closeTimer);
    this.lineBudget?.release(this);
    this.pending.rejectAll(
      new ConnectionError("CONNECTION_CLOSED", "connection closed", { cause: this.closeError }),
    );
    this.handlers.onClose?.(this, this.closeError);
  }
}
