import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, FullJitterBackoff, jitterWithin } from './backoff.js';

/** A deterministic stand-in for Math.random: the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe('full-jitter exponential backoff', () => {
  it('defaults to a window growing from 500 ms to 20 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ minDelayMs: 500, maxDelayMs: 20_000 });
    const backoff = new FullJitterBackoff();
    expect([0, 1, 2, 3, 4, 5, 6, 7, 10, 40, 1000].map((n) => backoff.ceiling(n))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000, 20_000, 20_000]);
  });

  it('draws each delay uniformly from [0, ceiling]: the extremes of the random source give the bounds', () => {
    const low = new FullJitterBackoff({}, () => 0);
    const high = new FullJitterBackoff({}, () => 0.999_999);
    for (let attempt = 0; attempt < 12; attempt++) {
      expect(low.next()).toBe(0);
      const ceiling = high.ceiling(attempt);
      const delay = high.next();
      expect(delay).toBeLessThanOrEqual(ceiling);
      expect(delay).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it('spreads clients over the window (full jitter, not a fixed step)', () => {
    const delays = Array.from({ length: 2000 }, () => new FullJitterBackoff({ minDelayMs: 1000 }).next());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    // Ten buckets of 100 ms each hold about a tenth of the draws.
    const buckets = Array.from({ length: 10 }, (_, b) => delays.filter((d) => Math.floor(d / 100) === b).length);
    for (const count of buckets) expect(count).toBeGreaterThan(100);
  });

  it('counts attempts and starts again from the smallest window after a reset', () => {
    const backoff = new FullJitterBackoff({ minDelayMs: 100, maxDelayMs: 1000 }, sequence(0.5));
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([50, 100, 200, 400, 500]);
    expect(backoff.attempts).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });

  it('takes a maximum below the minimum as the minimum', () => {
    const backoff = new FullJitterBackoff({ minDelayMs: 800, maxDelayMs: 100 }, () => 0.5);
    expect(backoff.maxDelayMs).toBe(800);
    expect(backoff.next()).toBe(400);
  });

  it('jitters a shutdown window inside [0, window]', () => {
    expect(jitterWithin(2000, () => 0)).toBe(0);
    expect(jitterWithin(2000, () => 0.5)).toBe(1000);
    expect(jitterWithin(2000, () => 0.999_999)).toBeLessThanOrEqual(2000);
    expect(jitterWithin(-5, () => 0.5)).toBe(0);
  });
});
