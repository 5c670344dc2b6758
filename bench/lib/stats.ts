/** Percentiles and medians for bench figures. */

/** The `p`-th percentile (0..100) of values, nearest-rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Linear sub-buckets per power of two: relative error under 1/SUB_BUCKETS (1.6 %). */
const SUB_BUCKETS = 64;
const LINEAR_LIMIT = 2 * SUB_BUCKETS;
/** Enough buckets for any value below 2^53. */
const BUCKETS = 54 * SUB_BUCKETS;

/**
 * A log-linear histogram of non-negative integers (microseconds here), so millions of latency
 * samples cost a few kilobytes and histograms from several processes add up exactly.
 */
export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private largest = 0;

  get count(): number {
    return this.total;
  }

  record(value: number): void {
    const v = value < 0 ? 0 : Math.min(Math.floor(value), Number.MAX_SAFE_INTEGER);
    const index = bucketOf(v);
    this.counts[index] = (this.counts[index] as number) + 1;
    this.total += 1;
    if (v > this.largest) this.largest = v;
  }

  add(other: Histogram): void {
    other.counts.forEach((count, index) => {
      this.counts[index] = (this.counts[index] as number) + count;
    });
    this.total += other.total;
    this.largest = Math.max(this.largest, other.largest);
  }

  /** The value at or below which `p` percent of the samples fall (bucket midpoint); NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return Math.min(this.largest, bucketMidpoint(index));
    }
    return this.largest;
  }

  toJSON(): SerializedHistogram {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    return { buckets, max: this.largest };
  }

  static fromJSON(data: SerializedHistogram): Histogram {
    const histogram = new Histogram();
    for (const [index, count] of data.buckets) {
      histogram.counts[index] = count;
      histogram.total += count;
    }
    histogram.largest = data.max;
    return histogram;
  }
}

export interface SerializedHistogram {
  buckets: [number, number][];
  max: number;
}

function bucketOf(v: number): number {
  if (v < LINEAR_LIMIT) return v;
  // Shift so the mantissa keeps 7 significant bits: [64, 128).
  if (v < 2 ** 31) {
    const shift = 25 - Math.clz32(v);
    return shift * SUB_BUCKETS + (v >>> shift);
  }
  const shift = Math.floor(Math.log2(v)) - 6;
  return shift * SUB_BUCKETS + Math.floor(v / 2 ** shift);
}

function bucketMidpoint(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  const mantissa = index - shift * SUB_BUCKETS;
  return mantissa * 2 ** shift + (2 ** shift - 1) / 2;
}
