/** A token bucket: `capacity` tokens, refilled at `perSecond`. A rate of 0 means unlimited. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.updatedAt = now();
  }

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** True once the bucket is full again, so its owner may forget it. */
  get idle(): boolean {
    return (
      this.perSecond <= 0 ||
      this.tokens + ((this.now() - this.updatedAt) * this.perSecond) / 1000 >= this.capacity
    );
  }
}

/** Counts events per key in a fixed window; `hit` says how long to wait once `limit` is reached. */
export class WindowCounter {
  private readonly counts = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again, or 0 if under the limit. Does not count. */
  retryAfter(key: string): number {
    if (this.limit <= 0) return 0;
    const entry = this.counts.get(key);
    const now = this.now();
    if (entry === undefined || entry.resetAt <= now) return 0;
    return entry.count >= this.limit ? entry.resetAt - now : 0;
  }

  hit(key: string): void {
    if (this.limit <= 0) return;
    const now = this.now();
    const entry = this.counts.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      this.prune(now);
      this.counts.set(key, { count: 1, resetAt: now + this.windowMs });
    } else {
      entry.count += 1;
    }
  }

  private prune(now: number): void {
    if (this.counts.size < 10_000) return;
    for (const [key, entry] of this.counts) if (entry.resetAt <= now) this.counts.delete(key);
  }
}
