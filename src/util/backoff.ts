export interface BackoffOptions {
  /** First delay in ms (default 250). */
  initialMs?: number;
  /** Largest delay in ms (default 10 s). */
  maxMs?: number;
  /** Each failure multiplies the delay by this (default 2). */
  factor?: number;
  /** Fraction of the delay drawn at random, so many clients do not retry in step (default 0.3). */
  jitter?: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: Required<Omit<BackoffOptions, "random">> = {
  initialMs: 250,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.3,
};

/** The delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const random = options.random ?? Math.random;
  const base = Math.min(maxMs, initialMs * factor ** Math.min(attempt, 30));
  return Math.round(base * (1 - jitter + jitter * random()));
}

/**
 * Runs `attempt` until it succeeds or `stop()` is called: one loop in flight, backoff with jitter
 * between tries. Every timer is cleared on stop.
 */
export class RetryLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly attempt: () => Promise<void>,
    private readonly options: BackoffOptions & { onError?: (error: unknown, delayMs: number) => void } = {},
  ) {}

  get active(): boolean {
    return this.running || this.timer !== undefined;
  }

  /** Starts the loop now unless it is already running or waiting. */
  start(): void {
    if (this.stopped || this.active) return;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    this.timer = undefined;
    try {
      await this.attempt();
      this.failures = 0;
      this.running = false;
    } catch (error) {
      this.running = false;
      if (this.stopped) return;
      const delay = backoffDelay(this.failures, this.options);
      this.failures += 1;
      this.options.onError?.(error, delay);
      this.timer = setTimeout(() => void this.run(), delay);
    }
  }
}
