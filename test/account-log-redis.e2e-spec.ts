import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountSubscribeResponse } from '#libs/contracts';
import { collect, GatewayProcess, request, type ConnectedClient } from './support/gateway.js';
import { RedisServer, waitFor } from './support/processes.js';
import { expectHistoryServed, expectLimitHonoured, HISTORY, orderEvent, ordersClient, type OrderEvent, type OrderFrame } from './support/account-log.js';

const PREFIX = 'TRADEWIRE_ACCOUNTS';
const APPENDS = 'tradewire_account_log_appends_total';

const redisEnv = (redis: RedisServer, extra: Record<string, string> = {}) => ({ REDIS_URL: redis.url, ENGINE_TRANSPORT: 'redis', ...extra });
const streamKey = (account: string) => `${PREFIX}:${account}:order`;

/** Appends every running replica attempted (stored or found stored), summed over the replicas. */
async function appendAttempts(gateways: readonly GatewayProcess[]): Promise<number> {
  let total = 0;
  for (const gateway of gateways) total += (await gateway.metric(APPENDS, { outcome: 'stored' })) + (await gateway.metric(APPENDS, { outcome: 'duplicate' }));
  return total;
}

/**
 * Publishes like an engine (plain PUBLISH), each event received by every running replica, and waits until each replica
 * has made its append of each: from then on the stream does not change.
 */
async function publishOrders(publisher: Redis, running: readonly GatewayProcess[], account: string, events: OrderEvent[]): Promise<void> {
  const before = await appendAttempts(running);
  for (const event of events) expect(await publisher.publish(`acct.${account}.order`, JSON.stringify(event))).toBe(running.length);
  await waitFor(`${events.length} events appended by ${running.length} replicas`, async () => ((await appendAttempts(running)) >= before + events.length * running.length ? true : undefined));
}

describe('durable account log (Redis Streams)', () => {
  let redis: RedisServer;
  let publisher: Redis;
  const gateways: GatewayProcess[] = [];
  const clients: ConnectedClient<'/orders'>[] = [];
  const running = () => gateways.filter((gateway) => gateway.process.running);

  const startGateway = async (env: Record<string, string> = {}) => {
    const gateway = await GatewayProcess.start(redisEnv(redis, env));
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    publisher = new Redis(redis.url);
  });

  afterAll(async () => {
    for (const client of clients) client.socket.close();
    for (const gateway of gateways) await gateway.stop();
    publisher.disconnect();
    await redis.stop();
  });

  it('answers a replica started after the events with the full snapshot and an exact `since` replay, one hydration for concurrent subscribers', async () => {
    const account = 'ACC-RLOG-1';
    const capturing = await startGateway({ LOG_LEVEL: 'info' });
    await capturing.printed('account log: redis streams');
    await publishOrders(publisher, running(), account, HISTORY());
    expect(await publisher.xlen(streamKey(account))).toBe(5);
    // Idle accounts' streams go away on their own.
    const ttl = await publisher.pttl(streamKey(account));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(604_800_000);
    const gateway = await startGateway();

    const fresh = await expectHistoryServed(gateway, account, clients);

    // Live events go on from there, once each, and are kept once.
    const live = collect<OrderFrame>(fresh.socket, 'order');
    await publishOrders(publisher, running(), account, [orderEvent('O-3', 30, 6)]);
    await waitFor('live event', () => (live.length >= 1 ? true : undefined));
    expect(live.map((event) => [event.seq, event.orderId, event.filledQuantity])).toEqual([[6, 'O-3', '30']]);
    expect(await publisher.xlen(streamKey(account))).toBe(6);
  });

  it('keeps each event once with several replicas up, with and without engine seq, and serves the same seqs and replay from each', async () => {
    const numbered = 'ACC-RLOG-2';
    const unnumbered = 'ACC-RLOG-3';
    while (running().length < 3) await startGateway();
    const replicas = running();
    await publishOrders(publisher, replicas, numbered, [1, 2, 3, 4].map((seq) => orderEvent(`O-${seq % 2}`, seq * 10, seq)));
    await publishOrders(publisher, replicas, unnumbered, [1, 2, 3, 4].map((n) => orderEvent(`O-${n % 2}`, n * 10)));
    // Every replica received and tried to append every event; one of them stored each.
    expect(await publisher.xlen(streamKey(numbered))).toBe(4);
    expect(await publisher.xlen(streamKey(unnumbered))).toBe(4);
    const stored = (await publisher.xrange(streamKey(unnumbered), '-', '+')).map(([, fields]) => (JSON.parse(fields[1] ?? '') as { filledQuantity: string }).filledQuantity);
    expect(stored).toEqual(['10', '20', '30', '40']);

    for (const account of [numbered, unnumbered]) {
      const sessions: { ack: AccountSubscribeResponse | undefined; replay: OrderFrame[] }[] = [];
      for (const gateway of replicas) {
        const client = await ordersClient(gateway, [account]);
        clients.push(client);
        const replay = collect<OrderFrame>(client.socket, 'order');
        const ack = await request(client.socket, 'subscribe', { since: { [account]: 1 } });
        await waitFor('replay', () => (replay.length >= 3 ? true : undefined));
        sessions.push({ ack: ack.ok ? ack.data : undefined, replay });
      }
      expect(sessions[0]?.ack).toEqual({ accounts: [{ account, seq: 4, replayed: 3, resetRequired: false }] });
      expect(sessions[0]?.replay.map((event) => [event.seq, event.filledQuantity])).toEqual([
        [2, '20'],
        [3, '30'],
        [4, '40'],
      ]);
      for (const session of sessions.slice(1)) {
        expect(session.ack).toEqual(sessions[0]?.ack);
        expect(session.replay).toEqual(sessions[0]?.replay);
      }
    }
  });

  it('replays `since` to a client that reconnects to a gateway restarted mid-stream', async () => {
    const account = 'ACC-RLOG-4';
    // Another replica runs throughout: with Redis pub/sub, only events some replica receives are kept.
    if (running().length === 0) await startGateway();
    let gateway = await startGateway();
    const before = await ordersClient(gateway, [account]);
    clients.push(before);
    const seen = collect<OrderFrame>(before.socket, 'order');
    expect(await request(before.socket, 'subscribe', {})).toMatchObject({ ok: true, data: { accounts: [{ account, seq: 0 }] } });
    await publishOrders(publisher, running(), account, [1, 2, 3].map((seq) => orderEvent('O-1', seq, seq)));
    await waitFor('first events', () => (seen.length >= 3 ? true : undefined));
    const lastSeen = seen[seen.length - 1]?.seq ?? 0;
    expect(lastSeen).toBe(3);

    await gateway.stop();
    // The engine goes on while this gateway is away.
    await publishOrders(publisher, running(), account, [4, 5, 6].map((seq) => orderEvent('O-1', seq, seq)));
    gateway = await startGateway();

    const after = await ordersClient(gateway, [account]);
    clients.push(after);
    const replayed = collect<OrderFrame>(after.socket, 'order');
    const resumed = await request(after.socket, 'subscribe', { since: { [account]: lastSeen } });
    expect(resumed).toEqual({ ok: true, data: { accounts: [{ account, seq: 6, replayed: 3, resetRequired: false }] } });
    await publishOrders(publisher, running(), account, [orderEvent('O-1', 7, 7)]);
    await waitFor('replay then live', () => (replayed.length >= 4 ? true : undefined));
    expect(replayed.map((event) => [event.seq, event.filledQuantity])).toEqual([
      [4, '4'],
      [5, '5'],
      [6, '6'],
      [7, '7'],
    ]);
    expect(await publisher.xlen(streamKey(account))).toBe(7);
  });

  it('keeps malformed payloads as received and skips them on hydration', async () => {
    const account = 'ACC-RLOG-5';
    const replicas = running();
    const before = await appendAttempts(replicas);
    expect(await publisher.publish(`acct.${account}.order`, JSON.stringify(orderEvent('O-1', 1, 1)))).toBe(replicas.length);
    expect(await publisher.publish(`acct.${account}.order`, '{not json')).toBe(replicas.length);
    expect(await publisher.publish(`acct.${account}.order`, JSON.stringify(orderEvent('O-1', 2, 2)))).toBe(replicas.length);
    await waitFor('appends', async () => ((await appendAttempts(replicas)) >= before + 3 * replicas.length ? true : undefined));
    expect((await publisher.xrange(streamKey(account), '-', '+')).map(([, fields]) => fields[1])).toContain('{not json');

    const gateway = await startGateway();
    const client = await ordersClient(gateway, [account]);
    clients.push(client);
    const replayed = collect<OrderFrame>(client.socket, 'order');
    expect(await request(client.socket, 'subscribe', { since: { [account]: 0 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 2, replayed: 2, resetRequired: false }] } });
    await waitFor('replay', () => (replayed.length >= 2 ? true : undefined));
    expect(replayed.map((event) => event.filledQuantity)).toEqual(['1', '2']);
  });
});

describe('durable account log (Redis Streams) at its limits', () => {
  it('answers with resetRequired and a snapshot beyond the per-stream limit, and replays within it', async () => {
    const redis = await RedisServer.start();
    const publisher = new Redis(redis.url);
    const env = redisEnv(redis, { ACCOUNT_LOG_MAX_PER_SUBJECT: '3' });
    const capturing = await GatewayProcess.start(env);
    let gateway: GatewayProcess | undefined;
    try {
      const account = 'ACC-RLOG-6';
      await publishOrders(publisher, [capturing], account, [1, 2, 3, 4, 5, 6].map((seq) => orderEvent(`O-${seq}`, seq, seq)));
      expect(await publisher.xlen(streamKey(account))).toBe(3);
      gateway = await GatewayProcess.start(env);

      await expectLimitHonoured(gateway, account);
    } finally {
      await gateway?.stop();
      await capturing.stop();
      publisher.disconnect();
      await redis.stop();
    }
  });

  it('counts failed appends and answers from the replica’s own state when the log cannot be written or read', async () => {
    const redis = await RedisServer.start();
    const publisher = new Redis(redis.url);
    const gateway = await GatewayProcess.start(redisEnv(redis));
    try {
      const account = 'ACC-RLOG-7';
      // A key of another type where the account's stream should be: every append and every read of it fails.
      await publisher.set(streamKey(account), 'not a stream');
      const client = await ordersClient(gateway, [account]);
      const live = collect<OrderFrame>(client.socket, 'order');
      for (let seq = 1; seq <= 2; seq++) await publisher.publish(`acct.${account}.order`, JSON.stringify(orderEvent('O-1', seq, seq)));
      await waitFor('failed appends', async () => ((await gateway.metric(APPENDS, { outcome: 'failed' })) >= 2 ? true : undefined));
      await gateway.printed('could not be appended to the account log');
      // Nothing was marked as stored: once the stream can be written again, the next delivery of an event is kept.
      expect(await publisher.keys(`${PREFIX}:seen:${account}:*`)).toEqual([]);

      expect(await request(client.socket, 'subscribe', { since: { [account]: 1 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 2, replayed: 1, resetRequired: false }] } });
      expect(await gateway.metric('tradewire_account_log_hydrations_total', { namespace: '/orders', outcome: 'failed' })).toBe(1);
      await waitFor('replay from memory', () => (live.length >= 1 ? true : undefined));
      expect(live.map((event) => event.seq)).toEqual([2]);
      client.socket.close();
    } finally {
      await gateway.stop();
      publisher.disconnect();
      await redis.stop();
    }
  });

  it('answers without hanging when Redis is gone', async () => {
    const redis = await RedisServer.start();
    const gateway = await GatewayProcess.start(redisEnv(redis, { ACCOUNT_LOG_HYDRATE_TIMEOUT_MS: '2000' }));
    try {
      const account = 'ACC-RLOG-8';
      const client = await ordersClient(gateway, [account]);
      await redis.stop();
      const started = Date.now();
      expect(await request(client.socket, 'subscribe', { since: { [account]: 4 } })).toEqual({ ok: true, data: { accounts: [{ account, seq: 0, replayed: 0, resetRequired: true }] } });
      expect(Date.now() - started).toBeLessThan(3_000);
      const outcomes = await Promise.all(['failed', 'timeout'].map((outcome) => gateway.metric('tradewire_account_log_hydrations_total', { namespace: '/orders', outcome })));
      expect(outcomes[0] + outcomes[1]).toBe(1);
      await gateway.printed('account log hydration');
      client.socket.close();
      // Back, so that the gateway's shutdown does not wait out its deadline for Redis.
      await redis.restart();
    } finally {
      await gateway.stop();
      await redis.stop();
    }
  });
});
