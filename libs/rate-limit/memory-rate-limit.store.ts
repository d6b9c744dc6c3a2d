import { ALLOWED, BLOCKED_RULE, type LimitCheck, type LimitDecision, type RateLimitStore } from './rate-limit.store.js';
import { timeToFull, tokensAt, waitForToken, type BucketState } from './token-bucket.js';

interface Entry {
  state: BucketState;
  /** When this entry means nothing any more (a full bucket, an ended block or offence window): it may be evicted. */
  expiresAt: number;
}

export interface MemoryStoreOptions {
  /** Entries kept at most; past it the least recently used go first. */
  maxEntries?: number;
  sweepIntervalMs?: number;
  now?: () => number;
}

/**
 * Buckets in this process's memory: one replica's view only. Bounded: idle buckets (full again) and ended blocks are
 * swept, and past `maxEntries` the least recently used entries are dropped, which can only make a limit more lenient.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 200_000;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  decide(check: LimitCheck): Promise<LimitDecision> {
    return Promise.resolve(this.decideNow(check));
  }

  /** The decision itself, synchronous: nothing else can run between the check and the take. */
  decideNow(check: LimitCheck): LimitDecision {
    if (check.buckets.length === 0) return ALLOWED; // every rule switched off, as the Redis store decides it
    const now = this.now();
    const offenders = check.offenders;
    if (offenders) {
      const block = this.live(offenders.blockKey, now);
      if (block) return { allowed: false, retryAfterMs: block.expiresAt - now, rule: BLOCKED_RULE, blockedNow: false };
    }
    const levels: number[] = [];
    let retryAfterMs = 0;
    let refusedBy: string | undefined;
    for (const bucket of check.buckets) {
      const tokens = tokensAt(bucket.rule, this.live(bucket.key, now)?.state, now);
      levels.push(tokens);
      const wait = waitForToken(bucket.rule, tokens);
      if (wait > retryAfterMs) {
        retryAfterMs = wait;
        refusedBy = bucket.name;
      }
    }
    if (refusedBy === undefined) {
      check.buckets.forEach((bucket, index) => {
        const tokens = (levels[index] ?? bucket.rule.burst) - 1;
        this.put(bucket.key, { tokens, at: now }, now + timeToFull(bucket.rule, tokens));
      });
      return ALLOWED;
    }
    if (offenders && offenders.refusals > 0) {
      const offence = this.live(offenders.offenceKey, now);
      const count = (offence?.state.tokens ?? 0) + 1;
      if (count >= offenders.refusals) {
        this.entries.delete(offenders.offenceKey);
        this.put(offenders.blockKey, { tokens: 0, at: now }, now + offenders.blockMs);
        return { allowed: false, retryAfterMs: Math.max(retryAfterMs, offenders.blockMs), rule: refusedBy, blockedNow: true };
      }
      // The offence window is fixed from the first refusal in it.
      this.put(offenders.offenceKey, { tokens: count, at: offence?.state.at ?? now }, offence?.expiresAt ?? now + offenders.windowMs);
    }
    return { allowed: false, retryAfterMs, rule: refusedBy, blockedNow: false };
  }

  forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    return Promise.resolve();
  }

  /** Drops every entry that has run out. */
  sweep(now = this.now()): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, state: BucketState, expiresAt: number): void {
    // Re-inserting moves the key to the end: the Map's order is least recently used first.
    this.entries.delete(key);
    this.entries.set(key, { state, expiresAt });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
