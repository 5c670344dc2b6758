/** A server-wide cap on the bytes its connections hold in lines that have not ended yet. */

interface Held {
  bytes: number;
  evict: () => void;
}

/**
 * Bytes held in unfinished lines by the connections a server has not trusted yet (not signed in,
 * or guests), summed. Each connection's own cap bounds one line; this bounds all of them, so many
 * connections each dripping a line they never finish cannot add up to much memory. Past the
 * budget, the connection holding the most is evicted (it answers `FRAME_TOO_LARGE` and closes):
 * a client that sends a request in a few segments holds little, for a moment, and is not the one
 * that goes.
 */
export class LineBudget {
  private readonly held = new Map<object, Held>();
  private total = 0;

  /** `limitBytes` 0: no budget, only the per-line caps. */
  constructor(readonly limitBytes: number) {}

  /** Bytes held now, over every connection counted. */
  get heldBytes(): number {
    return this.total;
  }

  /** Connections holding part of a line now. */
  get holders(): number {
    return this.held.size;
  }

  /**
   * `holder` now holds `bytes` of a line not ended yet (0: none). When that takes the total past
   * the budget, holders are evicted, largest first, until it fits; `evict` is called once, after
   * the holder has been forgotten.
   */
  set(holder: object, bytes: number, evict: () => void): void {
    const previous = this.held.get(holder);
    this.total -= previous?.bytes ?? 0;
    if (bytes === 0) {
      this.held.delete(holder);
      return;
    }
    this.held.set(holder, { bytes, evict });
    this.total += bytes;
    if (this.limitBytes > 0) this.evictPastLimit();
  }

  /** `holder` no longer counts (it closed, or it is trusted now). */
  release(holder: object): void {
    const previous = this.held.get(holder);
    if (previous === undefined) return;
    this.total -= previous.bytes;
    this.held.delete(holder);
  }

  private evictPastLimit(): void {
    while (this.total > this.limitBytes) {
      let largest: [object, Held] | undefined;
      for (const entry of this.held)
        if (largest === undefined || entry[1].bytes > largest[1].bytes) largest = entry;
      if (largest === undefined) return;
      this.release(largest[0]);
      largest[1].evict();
    }
  }
}
