import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES } from '#libs/contracts';
import { connectClient, expectRefused, GatewayProcess, request, sleep } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * Infrastructure faults with the real processes: Redis stopped for 10 s, NATS restarted, each while the engine
 * publishes quotes. Redis holds what every replica shares (seats, stream counts, rate limits, the fleet); NATS
 * carries the engine. One gateway lives through both, as a replica would.
 */

const TWO_SEATS = { ...FULL_LICENCE, maxConnections: 2 };
const SEAT_LEASE_MS = 3_000;
const QUOTE_EVERY_MS = 20;
const quote = (last: number) => ({ bid: '189.50', ask: '189.52', bidSize: '300', askSize: '200', last: last.toFixed(2), lastSize: '10', volume: '123456', ts: Date.now() });

interface Watcher {
  socket: Socket;
  /** When each `md` frame arrived. */
  arrivals: number[];
}

async function watchQuotes(url: string, sub: string, instrument = 'NASDAQ:AAPL'): Promise<Watcher> {
  const { socket } = await connectClient(url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub, lic: FULL_LICENCE }) } });
  const arrivals: number[] = [];
  socket.on('md', () => arrivals.push(Date.now()));
  const answer = await request(socket, 'subscribe', { instruments: [instrument], channels: ['quote'] });
  expect(answer.ok).toBe(true);
  await waitFor('first quote', () => (arrivals.length > 0 ? true : undefined));
  return { socket, arrivals };
}

/** The longest silence between frames (or before the first / after the last) within [from, to]. */
function longestGap(arrivals: number[], from: number, to: number): number {
  const inside = arrivals.filter((at) => at >= from && at <= to);
  let previous = from;
  let longest = 0;
  for (const at of [...inside, to]) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

interface ReadyBody {
  status: string;
  info?: Record<string, { status: string; degradedStores?: Record<string, unknown>; reachable?: boolean }>;
  details: Record<string, { status: string; degradedStores?: Record<string, unknown>; reachable?: boolean }>;
}

async function readiness(gateway: GatewayProcess): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`${gateway.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

describe('infrastructure faults under market-data load', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let engine: NatsConnection;
  let feed: NodeJS.Timeout;
  let published = 0;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url, REDIS_URL: redis.url, SEAT_LEASE_MS: String(SEAT_LEASE_MS), LOG_LEVEL: 'info' });
    // The engine: it reconnects by itself after a NATS restart, as a real one would, and publishes all along.
    engine = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    feed = setInterval(() => {
      published++;
      for (const symbol of ['AAPL', 'MSFT']) engine.publish(`md.quote.NASDAQ.${symbol}`, JSON.stringify(quote(189 + (published % 100) / 100)));
    }, QUOTE_EVERY_MS);
  });

  afterAll(async () => {
    clearInterval(feed);
    await engine?.close();
    await gateway?.stop();
    await Promise.all([redis?.stop(), nats?.stop()]);
  });

  it('keeps serving through a 10 s Redis outage in degraded mode, logs it as JSON, and recovers fully', async () => {
    const store = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    store.on('error', () => undefined);
    const seatsOf = async (sub: string) => {
      await store.connect().catch(() => undefined);
      return store.zcard(`tradewire:seats:{acme-capital}:user:${sub}`);
    };
    const watcher = await watchQuotes(gateway.url, 'watcher');
    const before = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'trader', lic: TWO_SEATS }) } });
    expect(await seatsOf('trader')).toBe(1);
    expect(await gateway.metric('tradewire_store_degraded', { store: 'seats' })).toBe(0);
    store.disconnect();

    await redis.stop();
    const outageStarted = Date.now();

    // New dashboards are let in: the trader's second seat is counted on this replica (with the one it held before),
    // and the licence's limit still holds per replica.
    const during = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'trader', lic: TWO_SEATS }) } });
    const refused = await expectRefused(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'trader', lic: TWO_SEATS }) } });
    expect(refused.data).toMatchObject({ code: 'CONNECTION_LIMIT', details: { scope: 'user', limit: 2 } });
    const newcomer = await watchQuotes(gateway.url, 'newcomer', 'NASDAQ:MSFT');

    // Readiness stays up, saying what runs degraded; so do the metrics.
    const ready = await waitFor('degraded readiness', async () => {
      const answer = await readiness(gateway);
      return answer.body.details.redis?.degradedStores?.seats && answer.body.details.redis.degradedStores.stream_counts ? answer : undefined;
    });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.details.redis).toMatchObject({ status: 'degraded', reachable: false });
    expect(ready.body.details.engine?.status).toBe('up');
    expect(await gateway.metric('tradewire_store_degraded', { store: 'seats' })).toBe(1);
    expect(await gateway.metric('tradewire_store_degraded', { store: 'stream_counts' })).toBe(1);
    // The node registry's next heartbeat (every NODE_TTL_MS / 3) fails too; the fleet's view is this replica alone.
    await waitFor('the node registry degraded', async () => ((await gateway.metric('tradewire_store_degraded', { store: 'fleet' })) === 1 ? true : undefined), 6_000);
    const alone = (await (await fetch(`${gateway.url}/health/websocket`)).json()) as { cluster: { source: string; nodes: number } };
    expect(alone.cluster).toMatchObject({ source: 'local', nodes: 1 });

    await sleep(Math.max(0, outageStarted + 10_000 - Date.now()));
    const outageEnded = Date.now();
    // Quotes kept flowing to the clients connected before and during the outage.
    expect(longestGap(watcher.arrivals, outageStarted, outageEnded)).toBeLessThan(2_000);
    expect(longestGap(newcomer.arrivals, outageStarted + 1_000, outageEnded)).toBeLessThan(2_000);

    // Back, empty (no persistence): every seat this replica holds is written again, the outage's included.
    await redis.startAgain();
    await waitFor(
      'seats shared again',
      async () => ((await gateway.metric('tradewire_store_degraded', { store: 'seats' })) === 0 && (await gateway.metric('tradewire_store_degraded', { store: 'stream_counts' })) === 0 ? true : undefined),
      15_000,
    );
    expect(await seatsOf('trader')).toBe(2);
    expect(await seatsOf('watcher')).toBe(1);
    await waitFor('listed in the node registry again', async () => ((await gateway.metric('tradewire_store_degraded', { store: 'fleet' })) === 0 ? true : undefined), 6_000);
    const after = await waitFor('readiness ok', async () => {
      const answer = await readiness(gateway);
      return answer.body.status === 'ok' ? answer : undefined;
    });
    expect(after.status).toBe(200);
    expect(after.body.details.redis).toMatchObject({ status: 'up', reachable: true });
    // Counted in Redis again: a freed seat leaves it, a new one enters it.
    during.socket.close();
    await waitFor('freed seat removed from Redis', async () => ((await seatsOf('trader')) === 1 ? true : undefined));
    const again = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'trader', lic: TWO_SEATS }) } });
    expect(await seatsOf('trader')).toBe(2);
    expect(longestGap(watcher.arrivals, outageEnded, Date.now())).toBeLessThan(2_000);

    // Every line the gateway wrote is a JSON object; each Redis connection said it was lost once and back once.
    await gateway.printed('seat store (Redis) is back');
    const lines = gateway.process.output.split('\n').filter((line) => line.trim() !== '');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as { msg?: string; redis?: string };
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
    const lost = parsed.filter((entry) => entry.msg === 'Redis connection lost; reconnecting').map((entry) => entry.redis);
    expect(lost).toEqual(expect.arrayContaining(['seats', 'ratelimit', 'fleet', 'fleet-sub']));
    expect(new Set(lost).size).toBe(lost.length);
    await gateway.printed(/"redis":"seats".*Redis connection is back/);

    for (const socket of [watcher.socket, newcomer.socket, before.socket, again.socket]) socket.close();
    await store.quit();
  });

  it('resumes quotes within 2 s of NATS coming back from a restart', async () => {
    const watcher = await watchQuotes(gateway.url, 'nats-watcher');
    await nats.restart(1_000);
    const back = Date.now();
    await waitFor('a quote after the restart', () => (watcher.arrivals.some((at) => at > back) ? true : undefined), 2_000, 20);
    await waitFor('ready again', async () => ((await readiness(gateway)).status === 200 ? true : undefined));
    watcher.socket.close();
  });
});

describe('SEATS_ON_STORE_FAILURE', () => {
  it('closed: while Redis is away new connections are refused ENGINE_UNAVAILABLE, open ones stay; admitted again once it is back', async () => {
    const redis = await RedisServer.start();
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', REDIS_URL: redis.url, SEATS_ON_STORE_FAILURE: 'closed', SEAT_LEASE_MS: String(SEAT_LEASE_MS) });
    try {
      const auth = { token: await hsToken({ sub: 'closed-user', lic: TWO_SEATS }) };
      const open = await connectClient(gateway.url, NAMESPACES.marketData, { auth });
      await redis.stop();
      const refused = await expectRefused(gateway.url, NAMESPACES.marketData, { auth });
      expect(refused.data).toMatchObject({ code: 'ENGINE_UNAVAILABLE', status: 503 });
      expect(await gateway.metric('tradewire_store_degraded', { store: 'seats' })).toBe(1);
      // Still ready: the refusal is the operator's choice, and every replica shares the outage.
      expect((await readiness(gateway)).status).toBe(200);
      expect(open.socket.connected).toBe(true);
      await redis.startAgain();
      const again = await waitFor('admitted again', () => connectClient(gateway.url, NAMESPACES.marketData, { auth }).catch(() => undefined), 15_000, 200);
      expect(await gateway.metric('tradewire_store_degraded', { store: 'seats' })).toBe(0);
      for (const client of [open, again]) client.socket.close();
    } finally {
      await gateway.stop();
      await redis.stop();
    }
  });

  it('is validated at start: another value stops the gateway with a message naming the setting', async () => {
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SEATS_ON_STORE_FAILURE: 'sometimes' }, { waitReady: false });
    expect((await gateway.process.exited).code).toBe(1);
    expect(gateway.process.output).toMatch(/SEATS_ON_STORE_FAILURE/);
  });
});
