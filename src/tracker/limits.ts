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

  /** True when `key` has no failure in its current window and no attempt being checked. */
  isClean(key: string): boolean {
    const window = this.windows.get(key);
    return (
      window === undefined ||
      (window.pending === 0 && (window.failures === 0 || window.resetAt <= this.now()))
    );
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

/** (name, address) pairs kept in all by a `NameFailureLimiter` before its oldest windows are dropped. */
const MAX_TRACKED_PAIRS = 100_000;

interface NameWindow {
  failures: number;
  pending: number;
  resetAt: number;
  /** The addresses that failed for the name in this window. */
  failedFrom: Set<string>;
}

/**
 * Failed sign-ins of one name from all addresses together, in a long fixed window (`limit` 0 =
 * off). Past the limit it refuses only the addresses that already failed for that name in the
 * window: an address that has not, such as the owner's, is let through, and counts once it fails.
 * So guessing from many addresses costs each of them its turn, and never locks the owner out.
 * Attempts still being checked count from failed addresses, as in `FailureLimiter`. Memory is
 * bounded: past `MAX_TRACKED_PAIRS` the windows that started first are forgotten.
 */
export class NameFailureLimiter {
  private readonly windows = new Map<string, NameWindow>();
  private trackedPairs = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves an attempt on `name` from `address`: 0 when allowed, else the milliseconds to wait. */
  reserve(name: string, address: string): number {
    if (this.limit <= 0) return 0;
    const now = this.now();
    let window = this.windows.get(name);
    if (window !== undefined && window.resetAt <= now) {
      this.forget(name, window);
      window = undefined;
    }
    if (window === undefined) {
      window = { failures: 0, pending: 0, resetAt: now + this.windowMs, failedFrom: new Set() };
      this.windows.set(name, window);
    }
    if (window.failedFrom.has(address)) {
      if (window.failures >= this.limit) return window.resetAt - now;
      if (window.failures + window.pending >= this.limit) return PENDING_RETRY_MS;
    }
    window.pending += 1;
    return 0;
  }

  /** The reserved attempt failed: it counts against the name, and marks the address. */
  fail(name: string, address: string): void {
    const window = this.windows.get(name);
    if (window === undefined) return;
    window.pending = Math.max(0, window.pending - 1);
    window.failures += 1;
    if (window.failedFrom.has(address)) return;
    window.failedFrom.add(address);
    this.trackedPairs += 1;
    if (this.trackedPairs > MAX_TRACKED_PAIRS) this.shrink();
  }

  /** The reserved attempt succeeded or was abandoned: it does not count. */
  release(name: string): void {
    const window = this.windows.get(name);
    if (window === undefined) return;
    window.pending = Math.max(0, window.pending - 1);
    if (window.pending === 0 && window.failures === 0) this.forget(name, window);
  }

  private forget(name: string, window: NameWindow): void {
    this.trackedPairs -= window.failedFrom.size;
    this.windows.delete(name);
  }

  /** Drops ended windows, then the oldest ones (a Map iterates in insertion order) until under the cap. */
  private shrink(): void {
    const now = this.now();
    for (const [name, window] of this.windows) {
      if (window.resetAt <= now && window.pending === 0) this.forget(name, window);
    }
    for (const [name, window] of this.windows) {
      if (this.trackedPairs <= MAX_TRACKED_PAIRS) break;
      this.forget(name, window);
    }
  }
}
