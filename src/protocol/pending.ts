import { ConnectionError } from "./errors.js";

interface Pending {
  resolve(body: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Requests awaiting their response, by id. Reply, timeout and close all settle through `settle`. */
export class PendingRequests {
  private readonly pending = new Map<string, Pending>();

  get size(): number {
    return this.pending.size;
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  add(id: string, timeoutMs: number, command: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id, new ConnectionError("TIMEOUT", `${command} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /** Settles one request with its response body, or with an error. Returns false if it was not pending. */
  settle(id: string, outcome: Record<string, unknown> | Error): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) return false;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
    return true;
  }

  rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }
}
