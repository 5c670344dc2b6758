/**
 * Lets a test wait on what a component under test reports: the recorder (which extends or holds one)
 * calls `wake()` after each change, and `until(check)` resolves once `check` holds.
 */
export class WakeOnChange {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly defaultTimeoutMs: number) {}

  until(check: () => boolean, timeoutMs = this.defaultTimeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error("condition not reached in time"));
      }, timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
