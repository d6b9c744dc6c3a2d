export interface BackoffOptions {
  /** The first retry's ceiling, ms (default 500). */
  minDelayMs?: number;
  /** The largest ceiling, ms (default 20 000). */
  maxDelayMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { minDelayMs: 500, maxDelayMs: 20_000 };

/**
 * Full-jitter exponential backoff (as in centrifuge-js and AWS's "Exponential Backoff And Jitter"): the n-th retry
 * (from 0) waits a uniformly random time in [0, min(maxDelayMs, minDelayMs · 2ⁿ)]. The randomness spreads a thousand
 * clients that lost the same replica over the whole window instead of sending them back at once.
 */
export class FullJitterBackoff {
  private attempt = 0;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.minDelayMs = options.minDelayMs ?? DEFAULT_BACKOFF.minDelayMs;
    this.maxDelayMs = Math.max(options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs, this.minDelayMs);
  }

  /** The ceiling of the given attempt's delay. */
  ceiling(attempt: number): number {
    // 2^31 is far past any maxDelayMs; capping the exponent keeps the arithmetic finite.
    return Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(attempt, 31));
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling(this.attempt));
    this.attempt++;
    return delay;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** After a success: the next failure starts from the smallest window again. */
  reset(): void {
    this.attempt = 0;
  }
}

/** A uniformly random delay in [0, windowMs]: how the SDK spreads reconnects inside a shutdown notice's window. */
export function jitterWithin(windowMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.max(0, windowMs));
}
