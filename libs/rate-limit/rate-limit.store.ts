import type { RateRule } from './rate-rule.js';

/** One bucket a decision takes a token from. `name` is what a refusal reports (the rule, e.g. `subscribe`). */
export interface BucketCheck {
  key: string;
  name: string;
  rule: RateRule;
}

/** Repeat offenders: `refusals` refusals within `windowMs` block the holder of `blockKey` for `blockMs`. */
export interface OffenderPolicy {
  blockKey: string;
  offenceKey: string;
  refusals: number;
  windowMs: number;
  blockMs: number;
}

export interface LimitCheck {
  buckets: BucketCheck[];
  offenders?: OffenderPolicy;
}

/**
 * A decision takes one token from every bucket of the check, or from none: a refused request costs nothing but its
 * place in the offence count. `rule` names the refusing bucket, or `blocked` for a blocked repeat offender.
 */
export type LimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number; rule: string; blockedNow: boolean };

export const ALLOWED: LimitDecision = Object.freeze({ allowed: true });
export const BLOCKED_RULE = 'blocked';

/** Where buckets live: this process's memory, or Redis so that every replica takes from the same buckets. */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  decide(check: LimitCheck): Promise<LimitDecision>;
  /** Removes these keys (a bucket removed is full again; a block or offence count removed is gone). */
  forget(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
