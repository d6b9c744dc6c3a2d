import type { RateRule } from './rate-rule.js';

/** A bucket as stored: its tokens at `at` (epoch ms). A bucket never seen, or idle long enough, is full. */
export interface BucketState {
  tokens: number;
  at: number;
}

/** Tokens in the bucket at `now`: what it held plus the refill since, capped at the burst. */
export function tokensAt(rule: RateRule, state: BucketState | undefined, now: number): number {
  if (!state) return rule.burst;
  const refilled = state.tokens + (Math.max(0, now - state.at) * rule.limit) / rule.windowMs;
  return Math.min(rule.burst, refilled);
}

/** How long until a bucket holding `tokens` has one to give (0 when it has one now). */
export function waitForToken(rule: RateRule, tokens: number): number {
  if (tokens >= 1) return 0;
  return Math.ceil(((1 - tokens) * rule.windowMs) / rule.limit);
}

/** How long a bucket left with `tokens` takes to be full again: after that its stored state can be forgotten. */
export function timeToFull(rule: RateRule, tokens: number): number {
  return Math.ceil(((rule.burst - tokens) * rule.windowMs) / rule.limit);
}
