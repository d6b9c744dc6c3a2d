/**
 * A log-linear latency histogram in the style of HdrHistogram: values are integers (microseconds here), kept exactly
 * below 128 and, above that, in 64 sub-buckets per power of two, so any recorded value is reproduced within 1.6%.
 * It is a fixed array, so recording costs nothing on the hot path, and histograms from several load-generator
 * processes merge by adding counts — which sorted-array percentiles cannot do without shipping every sample.
 */
const EXACT_LIMIT = 128;
const SUB_BUCKETS = 64;
const SUB_BUCKET_BITS = 6;
/** Values up to 2^36 µs (about 19 hours) fit; anything larger is clamped into the last bucket. */
const MAX_EXPONENT = 30;
const BUCKET_COUNT = EXACT_LIMIT + MAX_EXPONENT * SUB_BUCKETS;

/** Sparse, serialisable form (for IPC): `[bucketIndex, count]` pairs plus the exact extremes. */
export interface HistogramSnapshot {
  buckets: [number, number][];
  count: number;
  sum: number;
  min: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  get count(): number {
    return this.total;
  }

  record(value: number): void {
    const v = value <= 0 ? 0 : Math.round(value);
    this.counts[bucketIndex(v)] += 1;
    this.total += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }

  merge(snapshot: HistogramSnapshot): void {
    for (const [index, count] of snapshot.buckets) this.counts[index] += count;
    this.total += snapshot.count;
    this.sum += snapshot.sum;
    if (snapshot.count > 0) {
      this.min = Math.min(this.min, snapshot.min);
      this.max = Math.max(this.max, snapshot.max);
    }
  }

  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    return { buckets, count: this.total, sum: this.sum, min: this.total ? this.min : 0, max: this.max };
  }

  mean(): number {
    return this.total ? this.sum / this.total : Number.NaN;
  }

  /**
   * The value at a percentile (0–100), reported as the highest value its bucket can hold (as HdrHistogram does), so
   * percentiles err on the pessimistic side; clamped to the exact maximum seen.
   */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < BUCKET_COUNT; index++) {
      seen += this.counts[index];
      if (seen >= rank) return Math.min(bucketHighestValue(index), this.max);
    }
    return this.max;
  }

  static from(snapshots: readonly HistogramSnapshot[]): Histogram {
    const histogram = new Histogram();
    for (const snapshot of snapshots) histogram.merge(snapshot);
    return histogram;
  }
}

function bucketIndex(v: number): number {
  if (v < EXACT_LIMIT) return v;
  // Integers above 2^31 do not survive Math.clz32, so compute the exponent with log2 there.
  const magnitude = v < 2 ** 31 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  const exponent = magnitude - SUB_BUCKET_BITS;
  if (exponent > MAX_EXPONENT) return BUCKET_COUNT - 1;
  const subBucket = Math.floor(v / 2 ** exponent) - SUB_BUCKETS;
  return EXACT_LIMIT + (exponent - 1) * SUB_BUCKETS + subBucket;
}

function bucketHighestValue(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const offset = index - EXACT_LIMIT;
  const exponent = Math.floor(offset / SUB_BUCKETS) + 1;
  const lowest = ((offset % SUB_BUCKETS) + SUB_BUCKETS) * 2 ** exponent;
  return lowest + 2 ** exponent - 1;
}
