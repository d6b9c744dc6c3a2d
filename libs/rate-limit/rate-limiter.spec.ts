import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import { DEFAULT_RATE_LIMITS, RateLimiter } from './rate-limiter.js';
import { parseRateRule } from './rate-rule.js';

const user = { tenant: 'acme', userId: 'u-1' };

describe('RateLimiter at runtime: replaced rules and lifted blocks', () => {
  it('applies replaced rules from the next decision on; bucket levels carry over', async () => {
    const limiter = new RateLimiter({ ...DEFAULT_RATE_LIMITS, requestBurst: parseRateRule('5/1m'), requests: null, blockAfter: null }, new MemoryRateLimitStore());
    expect((await limiter.checkRequest(user, '/market-data', 'unsubscribe')).allowed).toBe(true);
    // Four tokens left under 5/1m; a bucket of at most one now: one more request, then none.
    limiter.applySettings({ ...limiter.settings, requestBurst: parseRateRule('1/1m') });
    expect(limiter.settings.requestBurst).toEqual({ limit: 1, windowMs: 60_000, burst: 1 });
    expect((await limiter.checkRequest(user, '/market-data', 'unsubscribe')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/market-data', 'unsubscribe')).toMatchObject({ allowed: false, rule: 'request-burst' });
    // Per-event rules too: a subscribe rule added at runtime refuses the second subscribe.
    limiter.applySettings({ ...limiter.settings, requestBurst: null, events: new Map([['subscribe', { limit: 1, windowMs: 60_000, burst: 1 }]]) });
    expect((await limiter.checkRequest(user, '/market-data', 'subscribe')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/market-data', 'subscribe')).toMatchObject({ allowed: false, rule: 'subscribe' });
    // Trusted proxies are not a runtime setting: they stay as started.
    expect(limiter.settings.trustedProxies).toEqual(DEFAULT_RATE_LIMITS.trustedProxies);
    await limiter.close();
  });

  it('lifts a block: the block, its offences and the overall buckets go, in the store and in memory', async () => {
    const store = new MemoryRateLimitStore();
    const limiter = new RateLimiter({ ...DEFAULT_RATE_LIMITS, requestBurst: parseRateRule('2/1m'), requests: null, blockAfter: { refusals: 2, windowMs: 60_000 }, blockMs: 600_000 }, store);
    const other = { tenant: 'acme', userId: 'u-2' };
    await limiter.checkRequest(other, '/market-data', 'unsubscribe');
    await limiter.checkRequest(other, '/market-data', 'unsubscribe');
    for (let i = 0; i < 3; i++) await limiter.checkRequest(user, '/market-data', 'unsubscribe');
    const blocking = await limiter.checkRequest(user, '/market-data', 'unsubscribe');
    expect(blocking).toMatchObject({ allowed: false, blockedNow: true });
    // A ping is answered from the limiter's memory of the block.
    expect(await limiter.checkRequest(user, '/market-data', 'ping')).toMatchObject({ allowed: false, rule: 'blocked' });
    await limiter.unblock(user);
    expect((await limiter.checkRequest(user, '/market-data', 'ping')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/market-data', 'unsubscribe')).allowed).toBe(true);
    // Another user's buckets are not touched.
    expect(await limiter.checkRequest(other, '/market-data', 'unsubscribe')).toMatchObject({ allowed: false, rule: 'request-burst' });
    await limiter.close();
  });
});
