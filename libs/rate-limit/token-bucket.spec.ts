import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import type { LimitCheck } from './rate-limit.store.js';
import { RateLimiter, DEFAULT_RATE_LIMITS, type RateLimitSettings } from './rate-limiter.js';
import { describeRule, parseEventRules, parseRateRule, parseRefusalThreshold, RateRuleSyntaxError } from './rate-rule.js';
import { timeToFull, tokensAt, waitForToken } from './token-bucket.js';

const perMinute = { limit: 10, windowMs: 60_000, burst: 10 };

describe('rate rules', () => {
  it('reads limit/window[:burst] and off', () => {
    expect(parseRateRule('100/1m')).toEqual({ limit: 100, windowMs: 60_000, burst: 100 });
    expect(parseRateRule('10/1s')).toEqual({ limit: 10, windowMs: 1_000, burst: 10 });
    expect(parseRateRule('10/m:25')).toEqual({ limit: 10, windowMs: 60_000, burst: 25 });
    expect(parseRateRule(' 5 / 250ms ')).toEqual({ limit: 5, windowMs: 250, burst: 5 });
    expect(parseRateRule('600/1h')).toEqual({ limit: 600, windowMs: 3_600_000, burst: 600 });
    expect(parseRateRule('off')).toBeNull();
    expect(parseRateRule('0')).toBeNull();
    for (const bad of ['100', '100/', '100/1d', 'ten/1m', '0/1m', '10/0s', '10/1m:0', '-1/1m', '10/48h']) {
      expect(() => parseRateRule(bad), bad).toThrow(RateRuleSyntaxError);
    }
  });

  it('reads per-event rules, event names with colons included', () => {
    const rules = parseEventRules('subscribe=10/1m, order:submit=20/1s:5,resync=off');
    expect([...rules.keys()]).toEqual(['subscribe', 'order:submit']);
    expect(rules.get('order:submit')).toEqual({ limit: 20, windowMs: 1_000, burst: 5 });
    expect(parseEventRules('').size).toBe(0);
    expect(() => parseEventRules('subscribe')).toThrow(RateRuleSyntaxError);
    expect(() => parseEventRules('=10/1m')).toThrow(RateRuleSyntaxError);
    expect(parseRefusalThreshold('20/1m')).toEqual({ refusals: 20, windowMs: 60_000 });
    expect(parseRefusalThreshold('off')).toBeNull();
    expect(describeRule({ limit: 10, windowMs: 60_000, burst: 25 })).toBe('10/1m:25');
    expect(describeRule({ limit: 5, windowMs: 1_500, burst: 5 })).toBe('5/1500ms');
  });
});

describe('token bucket math', () => {
  it('starts full, refills evenly, never above the burst', () => {
    expect(tokensAt(perMinute, undefined, 1_000)).toBe(10);
    expect(tokensAt(perMinute, { tokens: 0, at: 0 }, 6_000)).toBeCloseTo(1);
    expect(tokensAt(perMinute, { tokens: 0, at: 0 }, 30_000)).toBeCloseTo(5);
    expect(tokensAt(perMinute, { tokens: 4, at: 0 }, 3_600_000)).toBe(10);
    // A clock that went backwards refills nothing rather than draining.
    expect(tokensAt(perMinute, { tokens: 3, at: 10_000 }, 5_000)).toBe(3);
  });

  it('says how long until the next token and until full', () => {
    expect(waitForToken(perMinute, 1)).toBe(0);
    expect(waitForToken(perMinute, 0)).toBe(6_000);
    expect(waitForToken(perMinute, 0.5)).toBe(3_000);
    expect(timeToFull(perMinute, 9)).toBe(6_000);
    expect(timeToFull(perMinute, 0)).toBe(60_000);
  });
});

describe('memory store', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };
  const check = (buckets: LimitCheck['buckets'], offenders?: LimitCheck['offenders']): LimitCheck => ({ buckets, offenders });

  it('spends the burst, refuses with the wait for the next token, refills', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ now: time.now });
    const bucket = check([{ key: 'u:subscribe', name: 'subscribe', rule: { limit: 3, windowMs: 3_000, burst: 3 } }]);
    for (let i = 0; i < 3; i += 1) expect(store.decideNow(bucket).allowed).toBe(true);
    expect(store.decideNow(bucket)).toEqual({ allowed: false, retryAfterMs: 1_000, rule: 'subscribe', blockedNow: false });
    time.advance(400);
    expect(store.decideNow(bucket)).toMatchObject({ allowed: false, retryAfterMs: 600 });
    time.advance(600);
    expect(store.decideNow(bucket).allowed).toBe(true);
    expect(store.decideNow(bucket).allowed).toBe(false);
    void store.close();
  });

  it('takes from every bucket or none, and names the one that refused', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ now: time.now });
    const overall = { key: 'u:overall', name: 'requests', rule: { limit: 5, windowMs: 60_000, burst: 5 } };
    const subscribe = { key: 'u:subscribe', name: 'subscribe', rule: { limit: 2, windowMs: 60_000, burst: 2 } };
    expect(store.decideNow(check([overall, subscribe])).allowed).toBe(true);
    expect(store.decideNow(check([overall, subscribe])).allowed).toBe(true);
    // Refused by `subscribe`: the overall bucket keeps its 3 tokens.
    expect(store.decideNow(check([overall, subscribe]))).toMatchObject({ allowed: false, rule: 'subscribe' });
    for (let i = 0; i < 3; i += 1) expect(store.decideNow(check([overall])).allowed).toBe(true);
    expect(store.decideNow(check([overall]))).toMatchObject({ allowed: false, rule: 'requests', retryAfterMs: 12_000 });
    void store.close();
  });

  it('blocks a repeat offender for the block time, then lets it in again', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ now: time.now });
    const offenders = { blockKey: 'u:blocked', offenceKey: 'u:offences', refusals: 3, windowMs: 60_000, blockMs: 30_000 };
    const bucket = check([{ key: 'u:x', name: 'x', rule: { limit: 1, windowMs: 1_000, burst: 1 } }], offenders);
    expect(store.decideNow(bucket).allowed).toBe(true);
    expect(store.decideNow(bucket)).toMatchObject({ allowed: false, rule: 'x', blockedNow: false });
    expect(store.decideNow(bucket)).toMatchObject({ allowed: false, rule: 'x', blockedNow: false });
    expect(store.decideNow(bucket)).toEqual({ allowed: false, rule: 'x', blockedNow: true, retryAfterMs: 30_000 });
    time.advance(5_000); // the bucket has refilled, but the block holds
    expect(store.decideNow(bucket)).toEqual({ allowed: false, rule: 'blocked', blockedNow: false, retryAfterMs: 25_000 });
    time.advance(25_000);
    expect(store.decideNow(bucket).allowed).toBe(true);
    void store.close();
  });

  it('forgets offences outside the window', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ now: time.now });
    const offenders = { blockKey: 'u:blocked', offenceKey: 'u:offences', refusals: 2, windowMs: 10_000, blockMs: 30_000 };
    const bucket = check([{ key: 'u:x', name: 'x', rule: { limit: 1, windowMs: 60_000, burst: 1 } }], offenders);
    store.decideNow(bucket);
    expect(store.decideNow(bucket)).toMatchObject({ allowed: false, blockedNow: false });
    time.advance(10_001);
    expect(store.decideNow(bucket)).toMatchObject({ allowed: false, blockedNow: false });
    void store.close();
  });

  it('is bounded: full buckets are swept, and the least recently used go past the cap', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ now: time.now, maxEntries: 100 });
    const rule = { limit: 10, windowMs: 1_000, burst: 10 };
    for (let i = 0; i < 250; i += 1) store.decideNow(check([{ key: `k${i}`, name: 'x', rule }]));
    expect(store.size).toBe(100);
    time.advance(100); // one token used, refilled in 100 ms: every bucket is full again
    store.sweep();
    expect(store.size).toBe(0);
    void store.close();
  });
});

describe('rate limiter', () => {
  const settings = (overrides: Partial<RateLimitSettings>): RateLimitSettings => ({ ...DEFAULT_RATE_LIMITS, blockAfter: null, ...overrides });
  const user = { tenant: 'acme', userId: 'u-1' };

  it('applies the overall buckets to every event and an event bucket to its event only', async () => {
    const limiter = new RateLimiter(settings({ requestBurst: { limit: 5, windowMs: 60_000, burst: 5 }, events: parseEventRules('subscribe=2/1m') }), new MemoryRateLimitStore());
    expect((await limiter.checkRequest(user, '/market-data', 'subscribe')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/market-data', 'subscribe')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/market-data', 'subscribe')).toMatchObject({ allowed: false, rule: 'subscribe' });
    expect((await limiter.checkRequest(user, '/market-data', 'unsubscribe')).allowed).toBe(true);
    // The same event on another namespace is another request, with a bucket of its own.
    expect((await limiter.checkRequest(user, '/orders', 'subscribe')).allowed).toBe(true);
    expect((await limiter.checkRequest({ tenant: 'acme', userId: 'u-2' }, '/market-data', 'subscribe')).allowed).toBe(true);
    expect((await limiter.checkRequest({ tenant: 'other', userId: 'u-1' }, '/market-data', 'subscribe')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/market-data', 'resync')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/market-data', 'resync')).toMatchObject({ allowed: false, rule: 'request-burst' });
    await limiter.close();
  });

  it('answers ping at once and refuses it once the overall buckets refuse the user', async () => {
    const limiter = new RateLimiter(settings({ requestBurst: { limit: 2, windowMs: 60_000, burst: 2 } }), new MemoryRateLimitStore());
    expect((await limiter.checkRequest(user, '/market-data', 'ping')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/market-data', 'ping')).allowed).toBe(true);
    // The bucket is empty now; the ping that finds it so is still answered, and the store's answer is remembered.
    expect((await limiter.checkRequest(user, '/market-data', 'ping')).allowed).toBe(true);
    const refused = await limiter.checkRequest(user, '/market-data', 'ping');
    expect(refused).toMatchObject({ allowed: false, rule: 'requests' });
    expect(refused.allowed === false && refused.retryAfterMs > 25_000).toBe(true);
    await limiter.close();
  });

  it('takes cancels from their own bucket only: never from the overall ones, never blocked, never an offence', async () => {
    const limiter = new RateLimiter(
      settings({ requestBurst: { limit: 2, windowMs: 60_000, burst: 2 }, cancels: { limit: 3, windowMs: 60_000, burst: 3 }, blockAfter: { refusals: 2, windowMs: 60_000 }, blockMs: 60_000 }),
      new MemoryRateLimitStore(),
    );
    expect((await limiter.checkRequest(user, '/orders', 'unsubscribe')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/orders', 'unsubscribe')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/orders', 'unsubscribe')).toMatchObject({ allowed: false, rule: 'request-burst', blockedNow: false });
    expect(await limiter.checkRequest(user, '/orders', 'unsubscribe')).toMatchObject({ allowed: false, blockedNow: true });
    expect(await limiter.checkRequest(user, '/orders', 'order:submit')).toMatchObject({ allowed: false, rule: 'blocked' });
    // Blocked, yet cancels go through, from one bucket for both cancel events; their refusals do not extend the block.
    expect((await limiter.checkRequest(user, '/orders', 'order:cancel')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/orders', 'order:cancel-all')).allowed).toBe(true);
    expect((await limiter.checkRequest(user, '/orders', 'order:cancel')).allowed).toBe(true);
    expect(await limiter.checkRequest(user, '/orders', 'order:cancel')).toMatchObject({ allowed: false, rule: 'cancels', blockedNow: false });
    expect(await limiter.checkRequest(user, '/orders', 'order:cancel-all')).toMatchObject({ allowed: false, rule: 'cancels', blockedNow: false });
    await limiter.close();
    const unlimited = new RateLimiter(settings({ requestBurst: { limit: 1, windowMs: 60_000, burst: 1 }, cancels: null }), new MemoryRateLimitStore());
    for (let i = 0; i < 20; i += 1) expect((await unlimited.checkRequest(user, '/orders', 'order:cancel')).allowed).toBe(true);
    expect((await unlimited.checkRequest(user, '/orders', 'order:submit')).allowed).toBe(true);
    await unlimited.close();
  });

  it('lets everything through when every rule is off', async () => {
    const limiter = new RateLimiter(settings({ requests: null, requestBurst: null, events: new Map(), handshakes: null, blockAfter: { refusals: 1, windowMs: 60_000 } }), new MemoryRateLimitStore());
    for (let i = 0; i < 50; i += 1) expect((await limiter.checkRequest(user, '/market-data', 'subscribe')).allowed).toBe(true);
    for (let i = 0; i < 50; i += 1) expect((await limiter.checkHandshake({}, '10.0.0.1', undefined)).allowed).toBe(true);
    await limiter.close();
  });

  it('counts one engine.io connection once at the handshake, whatever the number of namespaces', async () => {
    const limiter = new RateLimiter(settings({ handshakes: { limit: 2, windowMs: 60_000, burst: 2 } }), new MemoryRateLimitStore());
    const first = {};
    expect((await limiter.checkHandshake(first, '10.0.0.1', undefined)).allowed).toBe(true);
    expect((await limiter.checkHandshake(first, '10.0.0.1', undefined)).allowed).toBe(true);
    expect((await limiter.checkHandshake({}, '::ffff:10.0.0.1', undefined)).allowed).toBe(true);
    expect(await limiter.checkHandshake({}, '10.0.0.1', undefined)).toMatchObject({ allowed: false, rule: 'handshake', address: '10.0.0.1' });
    expect((await limiter.checkHandshake(first, '10.0.0.1', undefined)).allowed).toBe(true);
    expect((await limiter.checkHandshake({}, '10.0.0.2', undefined)).allowed).toBe(true);
    await limiter.close();
  });
});
