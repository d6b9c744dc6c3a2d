import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, type Licence } from '#libs/contracts';
import { FailoverSeatStore, RedisSeatStore, SeatLedger, SeatStoreUnavailableError, type Seat, type SeatsOnStoreFailure } from '#libs/licensing';
import { UserStreamCounter } from '#libs/rate-limit';
import { redisConnection } from '#libs/redis';
import { RedisServer, waitFor } from './support/processes.js';

/** A pino logger whose lines are kept, parsed, for assertions on what was logged. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines };
}

/** Keeps Redis busy for ARGV[1] milliseconds of its own clock. */
const SPIN_FOR_MS = `
local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 end
local deadline = now() + tonumber(ARGV[1])
while now() < deadline do end
return 0
`;

const seat = (node: string, n: number, userId = 'u-1', tenant = 't-1'): Seat => ({ id: `${node}:c${n}:${userId}`, userId, tenant });

/** The shared stores against a real redis-server that stops and comes back (empty, as without persistence). */
describe('shared stores through a Redis outage', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  let inspector: Redis;
  const { logger, lines } = capturedLogger();

  const connection = (purpose: string) => {
    const client = redisConnection(redis.url, 'spec', purpose, logger, { maxRetriesPerRequest: 1, commandTimeout: 1_000, retryStrategy: () => 50 });
    clients.push(client);
    return client;
  };
  const ready = (client: Redis) => waitFor('redis client ready', () => (client.status === 'ready' ? true : undefined));
  const userSeats = (userId = 'u-1') => inspector.zcard(`tradewire:seats:{t-1}:user:${userId}`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    inspector = new Redis(redis.url, { retryStrategy: () => 50 });
    inspector.on('error', () => undefined);
  });
  afterAll(async () => {
    for (const client of [...clients, inspector]) client.disconnect();
    await redis.stop();
  });

  function failover(client: Redis, policy: SeatsOnStoreFailure) {
    const events: string[] = [];
    const store = new FailoverSeatStore(new RedisSeatStore(client, 60_000), {
      onStoreFailure: policy,
      degraded: () => events.push('degraded'),
      recovered: (seats) => events.push(`recovered:${seats}`),
    });
    return { store, events };
  }

  it('open: counts per replica while Redis is away, writes every held seat back when it returns, logs one line per connection and outage', async () => {
    const seatsClient = connection('seats');
    const otherClient = connection('seats-other');
    await Promise.all([ready(seatsClient), ready(otherClient)]);
    const { store, events } = failover(seatsClient, 'open');
    const other = failover(otherClient, 'open');
    expect(await store.claim(seat('a', 1), 2, 0)).toBe('ok');
    expect(await userSeats()).toBe(1);

    await redis.stop();
    await waitFor('connection down', () => (seatsClient.status !== 'ready' ? true : undefined));
    // Long enough for several reconnect attempts (one every 50 ms) to fail.
    await sleep(500);
    // Per replica: the seat held before the outage counts, so one more fits and the third is refused.
    expect(await store.claim(seat('a', 2), 2, 0)).toBe('ok');
    expect(await store.claim(seat('a', 3), 2, 0)).toBe('user_limit');
    // Another replica counts its own: the same user gets up to the limit there too.
    expect(await other.store.claim(seat('b', 1), 2, 0)).toBe('ok');
    expect(store.isDegraded).toBe(true);
    expect(events).toEqual(['degraded']);
    // A freed seat leaves the local count at once.
    await store.free([seat('a', 2)]);
    expect(await store.claim(seat('a', 4), 2, 0)).toBe('ok');

    await redis.startAgain();
    await waitFor('seats written back', () => (events.includes('recovered:2') && other.events.includes('recovered:1') ? true : undefined));
    expect(store.isDegraded).toBe(false);
    // Reconciled: the sum over the replicas, over the licence's 2 until one is freed; a new claim is refused.
    expect(await userSeats()).toBe(3);
    expect(await store.claim(seat('a', 5), 2, 0)).toBe('user_limit');
    await store.free([seat('a', 1), seat('a', 4)]);
    expect(await userSeats()).toBe(1);
    expect(await store.claim(seat('a', 6), 2, 0)).toBe('ok');

    // However many reconnect attempts failed (one every 50 ms), one line when lost and one when back, per connection.
    for (const purpose of ['seats', 'seats-other']) {
      const own = lines.filter((line) => line.redis === purpose);
      expect(own.map((line) => line.msg)).toEqual(['Redis connection lost; reconnecting', 'Redis connection is back']);
      expect(own[0]).toMatchObject({ level: 40, code: 'ECONNREFUSED' });
      expect(own[1]?.errors).toBeGreaterThan(1);
    }
    await Promise.all([store.free([seat('a', 6)]), other.store.free([seat('b', 1)])]);
  });

  it('closed: refuses while Redis is away (the ledger answers ENGINE_UNAVAILABLE), shares again once it is back', async () => {
    const client = connection('seats-closed');
    await ready(client);
    const { store, events } = failover(client, 'closed');
    const ledger = new SeatLedger(store, { nodeId: 'c', renewEveryMs: 60_000 }, logger);
    const licence: Licence = { tier: 'pro', exchanges: { '*': 'realtime' }, channels: ['quote'], maxSubscriptions: 10, maxConnections: 2, minThrottleMs: 0, features: [] };
    await ledger.acquire('conn-1', 'sock-1', { userId: 'u-2', tenant: 't-1' }, licence);
    await redis.stop();
    await waitFor('connection down', () => (client.status !== 'ready' ? true : undefined));
    await expect(store.claim(seat('c', 9, 'u-2'), 2, 0)).rejects.toBeInstanceOf(SeatStoreUnavailableError);
    const refusal = await ledger.acquire('conn-2', 'sock-2', { userId: 'u-2', tenant: 't-1' }, licence).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(GatewayError);
    expect((refusal as GatewayError).code).toBe('ENGINE_UNAVAILABLE');
    expect(ledger.inUse).toBe(1);
    await redis.startAgain();
    await waitFor('shared again', () => (events.includes('recovered:1') ? true : undefined));
    expect(await userSeats('u-2')).toBe(1);
    await ledger.acquire('conn-2', 'sock-2', { userId: 'u-2', tenant: 't-1' }, licence);
    expect(await userSeats('u-2')).toBe(2);
    await ledger.onApplicationShutdown();
  });

  it('open: a command timing out with the connection up backs off before writing the seats back, longer each time it recurs', async () => {
    const client = connection('seats-busy');
    await ready(client);
    const events: string[] = [];
    const store = new FailoverSeatStore(new RedisSeatStore(client, 60_000), {
      onStoreFailure: 'open',
      degraded: () => events.push('degraded'),
      recovered: (seats) => events.push(`recovered:${seats}`),
      recoveryBackoffMs: { min: 1_500, max: 10_000 },
    });
    const busyRedis = async () => {
      // Redis busy past the client's 1 s command timeout; the connection itself stays up.
      const blocker = new Redis(redis.url);
      // A script that spins for 1.3 s: Redis runs nothing else meanwhile (DEBUG SLEEP is disabled by default).
      const blocked = blocker.eval(SPIN_FOR_MS, 0, 1_300);
      await sleep(50);
      return async () => {
        await blocked;
        blocker.disconnect();
      };
    };
    expect(await store.claim(seat('d', 1, 'u-3'), 5, 0)).toBe('ok');

    let unblock = await busyRedis();
    // The shared claim times out: counted locally, degraded.
    expect(await store.claim(seat('d', 2, 'u-3'), 5, 0)).toBe('ok');
    const degradedAt = Date.now();
    await unblock();
    expect(client.status).toBe('ready');
    expect(events).toEqual(['degraded']);
    // Redis answers again, but within the backoff no handshake writes the seats back.
    expect(await store.claim(seat('d', 3, 'u-3'), 5, 0)).toBe('ok');
    expect(store.isDegraded).toBe(true);
    expect(events).toEqual(['degraded']);
    // After it, the next handshake does.
    await sleep(Math.max(0, degradedAt + 1_600 - Date.now()));
    expect(await store.claim(seat('d', 4, 'u-3'), 5, 0)).toBe('ok');
    await waitFor('seats written back', () => (events.includes('recovered:4') ? true : undefined));
    expect(await userSeats('u-3')).toBe(4);

    // Failing again soon after: twice the wait (3 s) before the next write-back.
    unblock = await busyRedis();
    expect(await store.claim(seat('d', 5, 'u-3'), 5, 0)).toBe('ok');
    const againAt = Date.now();
    await unblock();
    await sleep(Math.max(0, againAt + 2_000 - Date.now()));
    await store.renew([]);
    expect(store.isDegraded).toBe(true);
    await sleep(Math.max(0, againAt + 3_100 - Date.now()));
    await store.renew([]);
    await waitFor('seats written back again', () => (events.filter((event) => event.startsWith('recovered')).length === 2 ? true : undefined));
    expect(events).toEqual(['degraded', 'recovered:4', 'degraded', 'recovered:5']);
    expect(await userSeats('u-3')).toBe(5);
    await store.free([1, 2, 3, 4, 5].map((n) => seat('d', n, 'u-3')));
  });

  it('renews every held seat within its lease, a slice of them at a time', async () => {
    const client = connection('seats-renew');
    await ready(client);
    // A 900 ms lease renewed every 300 ms: 30 ms slices, a tenth of the seats each.
    const ledger = new SeatLedger(new RedisSeatStore(client, 900), { nodeId: 'r', renewEveryMs: 300 }, logger);
    const licence: Licence = { tier: 'pro', exchanges: { '*': 'realtime' }, channels: ['quote'], maxSubscriptions: 10, maxConnections: 5, minThrottleMs: 0, features: [] };
    ledger.onModuleInit();
    for (let n = 0; n < 25; n++) await ledger.acquire(`conn-${n}`, `sock-${n}`, { userId: `u-${n % 5}`, tenant: 't-renew' }, licence);
    // Freed seats shift the others between slices: the rest must still be renewed in time.
    await sleep(400);
    for (let n = 0; n < 5; n++) ledger.release(`conn-${n}`, `sock-${n}`);
    // Four leases later every seat still held has a lease that has not run out (a claim prunes the others).
    await sleep(3_600);
    expect(await inspector.zcount('tradewire:seats:{t-renew}:tenant', Date.now(), '+inf')).toBe(20);
    expect(await inspector.zcard('tradewire:seats:{t-renew}:tenant')).toBe(20);
    await ledger.onApplicationShutdown();
    expect(await inspector.zcard('tradewire:seats:{t-renew}:tenant')).toBe(0);
  });

  it('renewals wait while deferRenewal says so, half a renewal period at most, then catch up: no seat lapses meanwhile', async () => {
    const client = connection('seats-defer');
    await ready(client);
    /** The real store, counting its renewals. */
    class CountingSeatStore extends RedisSeatStore {
      renewals = 0;
      override renew(seats: Seat[]): Promise<void> {
        this.renewals++;
        return super.renew(seats);
      }
    }
    const store = new CountingSeatStore(client, 900);
    let deferring = false;
    // A 900 ms lease renewed every 300 ms in 30 ms slices; renewals wait for deferRenewal 150 ms at most.
    const ledger = new SeatLedger(store, { nodeId: 'd', renewEveryMs: 300, deferRenewal: () => deferring }, logger);
    const licence: Licence = { tier: 'pro', exchanges: { '*': 'realtime' }, channels: ['quote'], maxSubscriptions: 10, maxConnections: 5, minThrottleMs: 0, features: [] };
    for (let n = 0; n < 20; n++) await ledger.acquire(`conn-${n}`, `sock-${n}`, { userId: `u-${n % 5}`, tenant: 't-defer' }, licence);
    ledger.onModuleInit();
    await sleep(200);
    expect(store.renewals).toBeGreaterThan(0);

    // Shorter than the most a renewal waits: nothing is renewed meanwhile.
    deferring = true;
    const before = store.renewals;
    await sleep(100);
    expect(store.renewals).toBe(before);

    // Twice the lease of renewals waiting: they still go out, the slices that waited together, and no lease runs out.
    await sleep(1_700);
    expect(store.renewals - before).toBeGreaterThanOrEqual(3);
    expect(await inspector.zcount('tradewire:seats:{t-defer}:tenant', Date.now(), '+inf')).toBe(20);
    deferring = false;
    await sleep(300);
    expect(await inspector.zcount('tradewire:seats:{t-defer}:tenant', Date.now(), '+inf')).toBe(20);
    await ledger.onApplicationShutdown();
  });

  it('stream counts: settle() writes a count before it resolves, so the next read on another replica sees it', async () => {
    const mine = connection('settle-a');
    const theirs = connection('settle-b');
    await Promise.all([ready(mine), ready(theirs)]);
    const counter = new UserStreamCounter({ redis: mine, nodeId: 'settle-a', ttlMs: 60_000 });
    const elsewhere = new UserStreamCounter({ redis: theirs, nodeId: 'settle-b', ttlMs: 60_000 });
    counter.added('holder-settle');
    counter.added('holder-settle');
    // Same turn as the adds: without settle() the count would still be waiting for the end of the turn.
    await counter.settle('holder-settle');
    expect(await elsewhere.heldElsewhere('holder-settle')).toBe(2);
    // Nothing left to write: a second settle() sends nothing and resolves at once.
    await counter.settle('holder-settle');
    await Promise.all([counter.close(), elsewhere.close()]);
  });

  it('stream counts: the local count alone while Redis is away, every count written back when it returns', async () => {
    const mine = connection('streams-a');
    const theirs = connection('streams-b');
    await Promise.all([ready(mine), ready(theirs)]);
    const events: string[] = [];
    const counter = new UserStreamCounter({ redis: mine, nodeId: 'a', ttlMs: 60_000, onDegraded: () => events.push('degraded'), onRecovered: () => events.push('recovered') });
    const elsewhere = new UserStreamCounter({ redis: theirs, nodeId: 'b', ttlMs: 60_000 });
    counter.added('holder-1');
    counter.added('holder-2');
    await waitFor('published', async () => ((await elsewhere.heldElsewhere('holder-1')) === 1 ? true : undefined));

    await redis.stop();
    await waitFor('connection down', () => (mine.status !== 'ready' ? true : undefined));
    expect(await counter.heldElsewhere('holder-1')).toBe(0);
    counter.added('holder-1');
    counter.removed('holder-2');
    await waitFor('degraded', () => (counter.isDegraded ? true : undefined));

    await redis.startAgain();
    await waitFor('recovered', () => (events.includes('recovered') ? true : undefined), 10_000);
    expect(events).toEqual(['degraded', 'recovered']);
    // The restarted Redis was empty: both counts are back, the one changed during the outage with its new value.
    await waitFor('counts written back', async () => ((await elsewhere.heldElsewhere('holder-1')) === 2 ? true : undefined));
    expect(await elsewhere.heldElsewhere('holder-2')).toBe(0);
    await Promise.all([counter.close(), elsewhere.close()]);
  });
});
