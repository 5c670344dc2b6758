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

  /**
   * Takes `count` tokens (default 1; at most `capacity`, or it never succeeds), all or none; returns 0
   * when allowed, else the milliseconds until that many are available.
   */
  take(count = 1): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= count) {
      this.tokens -= count;
      return 0;
    }
    return Math.ceil(((count - this.tokens) * 1000) / this.perSecond);
  }

  /** True once the bucket is full again, so its owner may forget it. */
  get idle(): boolean {
    return (
      this.perSecond <= 0 ||
      this.tokens + ((this.now() - this.updatedAt) * this.perSecond) / 1000 >= this.capacity
    );
  }
}

/** Keys kept before buckets that are full again (limiting nothing) are forgotten. */
const SWEEP_ABOVE = 10_000;

/** One token bucket per key (a user, an address), created on first use and forgotten once full again. */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `count` tokens (default 1) for `key`: 0 when allowed, else the milliseconds until they are available. */
  take(key: string, count = 1): number {
    if (this.perSecond <= 0) return 0;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.sweep();
      bucket = new TokenBucket(this.perSecond, this.capacity, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(count);
  }

  /** Keys with a bucket right now. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    if (this.buckets.size < SWEEP_ABOVE) return;
    for (const [key, bucket] of this.buckets) if (bucket.idle) this.buckets.delete(key);
  }
}
