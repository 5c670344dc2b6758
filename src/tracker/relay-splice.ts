import type { Duplex } from "node:stream";

/**
 * A byte budget refilled at `perSecond` with one second's worth of burst (0 = no limit). Spending
 * may overdraw it; the answer is how long the spender should then wait.
 */
export class ByteBudget {
  private available: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.available = perSecond;
    this.updatedAt = now();
  }

  /** Spends `bytes`; returns 0 while within budget, else the milliseconds until it is paid back. */
  spend(bytes: number): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    this.available = Math.min(
      this.perSecond,
      this.available + ((now - this.updatedAt) * this.perSecond) / 1000,
    );
    this.updatedAt = now;
    this.available -= bytes;
    return this.available >= 0 ? 0 : Math.ceil((-this.available * 1000) / this.perSecond);
  }
}

export interface SpliceOptions {
  /** Budgets every byte in either direction is charged to (the host's and the member's). */
  budgets: ByteBudget[];
  /** Closed after this long with no byte either way. */
  idleTimeoutMs: number;
  onBytes(bytes: number): void;
  onClose(): void;
}

/**
 * Joins two streams byte for byte: what one sends the other receives, nothing read or changed. Each
 * direction waits while its reader is behind (so at most a socket buffer is held per direction)
 * and while a byte budget is overdrawn; either side closing closes both.
 */
export class Splice {
  private closed = false;
  private lastActivity = Date.now();
  private readonly idleTimer: NodeJS.Timeout;
  private readonly waits = new Set<NodeJS.Timeout>();

  constructor(
    private readonly a: Duplex,
    private readonly b: Duplex,
    private readonly options: SpliceOptions,
  ) {
    this.idleTimer = setInterval(
      () => {
        if (Date.now() - this.lastActivity >= options.idleTimeoutMs) this.close();
      },
      Math.max(1, Math.floor(options.idleTimeoutMs / 2)),
    );
    this.idleTimer.unref();
    for (const stream of [a, b]) {
      stream.on("error", () => this.close());
      stream.on("close", () => this.close());
    }
  }

  /** Starts the flow; bytes either side sent before (still buffered in its stream) go first. */
  start(): void {
    // A side that closed before the splice began sends no `close` any more.
    if (this.a.destroyed || this.b.destroyed) {
      this.close();
      return;
    }
    this.pump(this.a, this.b);
    this.pump(this.b, this.a);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleTimer);
    for (const wait of this.waits) clearTimeout(wait);
    this.waits.clear();
    this.a.destroy();
    this.b.destroy();
    this.options.onClose();
  }

  private pump(from: Duplex, to: Duplex): void {
    let draining = false;
    let throttled = false;
    const resume = () => {
      if (!draining && !throttled && !this.closed) from.resume();
    };
    const forward = (chunk: Buffer) => {
      if (this.closed) return;
      this.lastActivity = Date.now();
      this.options.onBytes(chunk.length);
      let wait = 0;
      for (const budget of this.options.budgets) wait = Math.max(wait, budget.spend(chunk.length));
      if (!to.write(chunk)) {
        draining = true;
        from.pause();
        to.once("drain", () => {
          draining = false;
          resume();
        });
      }
      if (wait > 0) {
        throttled = true;
        from.pause();
        const timer = setTimeout(() => {
          this.waits.delete(timer);
          throttled = false;
          resume();
        }, wait);
        this.waits.add(timer);
      }
    };
    from.on("data", forward);
    from.on("end", () => to.end());
    resume();
  }
}
