import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore, RedisRateLimitStore, UserStreamCounter, type LimitCheck, type LimitDecision } from '#libs/rate-limit';
import { RedisServer, waitFor } from './support/processes.js';

/** The Redis store against a real redis-server: the same decisions as the memory store, atomic across clients. */
describe('Redis rate-limit store', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  const events: string[] = [];

  const store = () => {
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    clients.push(client);
    return { client, store: new RedisRateLimitStore(client, { failedOpen: (_e, first) => events.push(first ? 'down' : 'still-down'), recovered: () => events.push('up') }) };
  };
  const ready = (client: Redis) => waitFor('redis client ready', () => (client.status === 'ready' ? true : undefined));
  let run = 0;
  const fresh = (name: string) => `test:${++run}:{u:${name}}`;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redis.stop();
  });

  it('decides exactly as the memory store does', async () => {
    const { client, store: shared } = store();
    await ready(client);
    const memory = new MemoryRateLimitStore();
    const base = fresh('same');
    const check: LimitCheck = {
      buckets: [
        { key: `${base}:overall`, name: 'requests', rule: { limit: 5, windowMs: 60_000, burst: 5 } },
        { key: `${base}:subscribe`, name: 'subscribe', rule: { limit: 2, windowMs: 60_000, burst: 2 } },
      ],
      offenders: { blockKey: `${base}:blocked`, offenceKey: `${base}:offences`, refusals: 3, windowMs: 60_000, blockMs: 20_000 },
    };
    const fromRedis: LimitDecision[] = [];
    const fromMemory: LimitDecision[] = [];
    for (let i = 0; i < 6; i += 1) {
      fromRedis.push(await shared.decide(check));
      fromMemory.push(await memory.decide(check));
    }
    const shape = (d: LimitDecision) => (d.allowed ? 'ok' : `${d.rule}${d.blockedNow ? '+blocked' : ''}`);
    expect(fromRedis.map(shape)).toEqual(['ok', 'ok', 'subscribe', 'subscribe', 'subscribe+blocked', 'blocked']);
    expect(fromRedis.map(shape)).toEqual(fromMemory.map(shape));
    const waits = fromRedis.map((d) => (d.allowed ? 0 : d.retryAfterMs));
    expect(waits[2]).toBeGreaterThan(29_000);
    expect(waits[2]).toBeLessThanOrEqual(30_000);
    expect(waits[4]).toBeGreaterThanOrEqual(20_000);
    expect(waits[5]).toBeGreaterThan(19_000);
    expect(waits[5]).toBeLessThanOrEqual(20_000);
    // Idle keys expire: a bucket's key lives until it would be full again, the block for its time.
    expect(await client.pttl(`${base}:subscribe`)).toBeGreaterThan(50_000);
    expect(await client.pttl(`${base}:subscribe`)).toBeLessThanOrEqual(60_000);
    expect(await client.pttl(`${base}:overall`)).toBeLessThanOrEqual(24_000);
    expect(await client.pttl(`${base}:blocked`)).toBeLessThanOrEqual(20_000);
    expect(await client.exists(`${base}:offences`)).toBe(0);
    await memory.close();
  });

  it('is atomic: two replicas taking at once never hand out more than the burst', async () => {
    const a = store();
    const b = store();
    await Promise.all([ready(a.client), ready(b.client)]);
    const key = fresh('race');
    const check: LimitCheck = { buckets: [{ key: `${key}:subscribe`, name: 'subscribe', rule: { limit: 10, windowMs: 3_600_000, burst: 10 } }] };
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a.store : b.store).decide(check)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.filter((d) => !d.allowed && d.rule === 'subscribe')).toHaveLength(50);
  });

  it('shares per-user stream counts between replicas; a replica that stops refreshing lapses, one that closes is gone at once', async () => {
    const a = store();
    const b = store();
    await Promise.all([ready(a.client), ready(b.client)]);
    const onA = new UserStreamCounter({ redis: a.client, nodeId: 'node-a', ttlMs: 600 });
    const onB = new UserStreamCounter({ redis: b.client, nodeId: 'node-b', ttlMs: 60_000 });
    for (let i = 0; i < 3; i += 1) onA.added('acme/u-1');
    onB.added('acme/u-1');
    onB.added('acme/u-2');
    await waitFor('counts published', async () => ((await onB.heldElsewhere('acme/u-1')) === 3 ? true : undefined));
    expect(await onA.heldElsewhere('acme/u-1')).toBe(1);
    expect(await onA.heldElsewhere('acme/u-2')).toBe(1);
    onA.removed('acme/u-1');
    await waitFor('a removal published', async () => ((await onB.heldElsewhere('acme/u-1')) === 2 ? true : undefined));
    // B closes (a graceful shutdown): its counts leave Redis at once.
    await onB.close();
    expect(await onA.heldElsewhere('acme/u-1')).toBe(0);
    // A keeps refreshing while it runs; once it stops (as a crashed replica does), its count lapses after the TTL.
    await sleep(1_000);
    const reader = new UserStreamCounter({ redis: b.client, nodeId: 'node-c' });
    expect(await reader.heldElsewhere('acme/u-1')).toBe(2);
    a.client.disconnect(); // A can no longer refresh: what a crashed replica looks like from Redis
    await sleep(800);
    expect(await reader.heldElsewhere('acme/u-1')).toBe(0);
    await reader.close();
    await onA.close();
  });

  it('fails open while Redis is down, says so once, and limits again when it is back', async () => {
    const { client, store: shared } = store();
    await ready(client);
    const key = fresh('outage');
    const check: LimitCheck = { buckets: [{ key: `${key}:x`, name: 'x', rule: { limit: 1, windowMs: 3_600_000, burst: 1 } }] };
    expect((await shared.decide(check)).allowed).toBe(true);
    expect((await shared.decide(check)).allowed).toBe(false);
    events.length = 0;
    await redis.stop();
    await waitFor('client notices', () => (client.status !== 'ready' ? true : undefined));
    expect((await shared.decide(check)).allowed).toBe(true);
    expect((await shared.decide(check)).allowed).toBe(true);
    expect(events).toEqual(['down', 'still-down']);
    await redis.restart();
    await ready(client);
    // A fresh Redis has no buckets: the first take is allowed, and the limit holds from there.
    expect((await shared.decide(check)).allowed).toBe(true);
    expect(events).toEqual(['down', 'still-down', 'up']);
    expect((await shared.decide(check)).allowed).toBe(false);
  });
});
