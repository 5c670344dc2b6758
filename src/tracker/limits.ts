/** Keys kept before entries that no longer limit anything are swept. */
const SWEEP_THRESHOLD = 10_000;
/** Retry hint when a key is only blocked by attempts still being checked. */
const PENDING_RETRY_MS = 1_000;

interface FailureWindow {
  failures: number;
  pending: number;
  resetAt: number;
}

/**
 * Limits failed attempts per key in a fixed window (`limit` 0 = off). Each attempt holds a
 * reservation while it is being checked, so a burst of attempts sent at once cannot get past the
 * limit before the first failure is counted.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, FailureWindow>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves an attempt for `key`: 0 when allowed, else the milliseconds until it may try again. */
  reserve(key: string): number {
    if (this.limit <= 0) return 0;
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined) {
      this.sweep(now);
      window = { failures: 0, pending: 0, resetAt: now + this.windowMs };
      this.windows.set(key, window);
    } else if (window.resetAt <= now) {
      window.failures = 0;
      window.resetAt = now + this.windowMs;
    }
    if (window.failures >= this.limit) return window.resetAt - now;
    if (window.failures + window.pending >= this.limit) return PENDING_RETRY_MS;
    window.pending += 1;
    return 0;
  }

  /** The reserved attempt failed: it counts against the key. */
  fail(key: string): void {
    const window = this.windows.get(key);
    if (window === undefined) return;
    window.pending = Math.max(0, window.pending - 1);
    window.failures += 1;
  }

  /** The reserved attempt succeeded or was abandoned: it does not count. */
  release(key: string): void {
    const window = this.windows.get(key);
    if (window === undefined) return;
    window.pending = Math.max(0, window.pending - 1);
    if (window.pending === 0 && window.failures === 0) this.windows.delete(key);
  }

  private sweep(now: number): void {
    if (this.windows.size < SWEEP_THRESHOLD) return;
    for (const [key, window] of this.windows) {
      if (window.pending === 0 && window.resetAt <= now) this.windows.delete(key);
    }
  }
}
