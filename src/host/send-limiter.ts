import { nameKey } from "../protocol/names.js";
import { TokenBucket } from "../util/rate-limit.js";

/** Buckets kept before idle (full) ones are forgotten. */
const PRUNE_ABOVE = 1_000;

/** One token bucket per user for sending; a rate of 0 turns it off. */
export class SendLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one send for `username`: 0 when allowed, else milliseconds until the next one is. */
  take(username: string): number {
    if (this.perSecond <= 0) return 0;
    const key = nameKey(username);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune();
      bucket = new TokenBucket(this.perSecond, Math.max(1, this.burst));
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(): void {
    for (const [key, bucket] of this.buckets) if (bucket.idle) this.buckets.delete(key);
  }
}
