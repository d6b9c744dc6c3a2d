import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type EngineRejection, type MdMessage, type OrderFields } from '#libs/contracts';
import { InvalidEventError, InvalidSubjectError, TradewirePublisher } from '#libs/publisher';
import type { OrderFrame, OrdersSnapshot } from './support/account-log.js';
import { collect, connectClient, expectRefused, GatewayProcess, nextEvent, request, sleep } from './support/gateway.js';
import { ManagedProcess, NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/** An order event of the contract, typed as the library takes it. */
const order = (orderId: string, filled: number): OrderFields => ({
  orderId,
  clientOrderId: `c-${orderId}`,
  symbol: 'NASDAQ:AAPL',
  side: 'buy',
  type: 'limit',
  status: filled === 0 ? 'new' : 'partially_filled',
  execType: filled === 0 ? 'new' : 'trade',
  quantity: '1000',
  filledQuantity: String(filled),
  leavesQuantity: String(1000 - filled),
  price: '189.50',
});

const quote = (last: string) => ({ bid: '189.49', ask: '189.51', bidSize: 100, askSize: 200, last, lastSize: 10, volume: 1000 });

const mdClient = async (gateway: GatewayProcess, sub: string, extra: Record<string, unknown> = {}) =>
  connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub, lic: FULL_LICENCE, ...extra }) } });

const ordersClient = async (gateway: GatewayProcess, sub: string, accounts: string[]) =>
  connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub, accounts, lic: FULL_LICENCE }) } });

async function restart(gateway: GatewayProcess, env: Record<string, string>): Promise<GatewayProcess> {
  await gateway.stop();
  return GatewayProcess.start(env, { port: gateway.port });
}

// The restart tests start a gateway process three or four times; on a loaded two-core CI machine one start can take
// several seconds, so they get more than the suite's default 30 s.
const GATEWAY_RESTARTS_TIMEOUT_MS = 90_000;

/** A revoked user is refused at the handshake; cleared, it gets in on its token's licence again. */
async function expectRevocationOutlivesRestarts(publisher: TradewirePublisher, start: () => Promise<GatewayProcess>, env: Record<string, string>): Promise<void> {
  let gateway = await start();
  try {
    const token = await hsToken({ sub: 'revoked-by-engine', lic: FULL_LICENCE });
    (await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } })).socket.close();
    publisher.licenceChanged({ userId: 'revoked-by-engine', revoked: true });
    await publisher.flush();
    const live = gateway;
    await waitFor('revocation applied', async () => ((await expectRefused(live.url, NAMESPACES.marketData, { auth: { token } }).catch(() => undefined))?.data.code === 'NOT_ENTITLED' ? true : undefined));

    gateway = await restart(gateway, env);
    const refused = await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token } });
    expect(refused.data).toMatchObject({ code: 'NOT_ENTITLED', message: 'licence has been revoked' });

    publisher.licenceChanged({ userId: 'revoked-by-engine' }); // cleared: the token's licence applies again
    await publisher.flush();
    const cleared = gateway;
    await waitFor('cleared', async () => {
      const { socket } = await connectClient(cleared.url, NAMESPACES.marketData, { auth: { token } });
      socket.close();
      return true;
    });
    gateway = await restart(gateway, env);
    (await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token } })).socket.close();
  } finally {
    await gateway.stop();
  }
}

describe('@tradewire/publisher over NATS', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let publisher: TradewirePublisher;
  let raw: NatsConnection;
  const env = (): Record<string, string> => ({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url, ENGINE_FEEDBACK_PER_SECOND: '5' });

  beforeAll(async () => {
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start(env());
    publisher = await TradewirePublisher.connect({ nats: { servers: nats.url } }, { sequenceAccountEvents: true });
    raw = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await publisher?.close();
    await raw?.close();
    await gateway?.stop();
    await nats?.stop();
  });

  it('delivers market data and numbered account events to subscribers, and refuses what the gateway would drop with typed errors', async () => {
    const md = await mdClient(gateway, 'pub-md');
    const frames = collect<MdMessage[]>(md.socket, 'md');
    const subscribed = await request(md.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    expect(subscribed.ok).toBe(true);
    publisher.quote('NASDAQ:AAPL', quote('189.50'));
    await publisher.flush();
    await waitFor('the quote', () => (frames.flat().some((m) => m.stream === 'quote:NASDAQ:AAPL' && (m.data as { last?: string }).last === '189.50') ? true : undefined));

    const orders = await ordersClient(gateway, 'pub-orders', ['ACC-PUB-1']);
    const events = collect<OrderFrame>(orders.socket, 'order');
    expect(await request(orders.socket, 'subscribe', {})).toMatchObject({ ok: true });
    publisher.order('ACC-PUB-1', order('O-1', 0));
    publisher.order('ACC-PUB-1', order('O-1', 300));
    await publisher.flush();
    await waitFor('two order events', () => (events.length >= 2 ? true : undefined));
    // The publisher numbered them: the engine's seq, the same on every replica.
    expect(events.map((e) => [e.seq, e.filledQuantity])).toEqual([
      [1, '0'],
      [2, '300'],
    ]);

    // What the gateway's validators refuse is refused here, in their words, and nothing is sent.
    const bad = { ...order('O-2', 0), side: 'BUYING' } as unknown as OrderFields;
    expect(() => publisher.order('ACC-PUB-1', bad)).toThrow(InvalidEventError);
    expect(() => publisher.order('ACC-PUB-1', bad)).toThrow('invalid order event: side is not one of buy|sell');
    expect(() => publisher.quote('NASDAQ:AAPL', { ...quote('1'), bid: '-1' })).toThrow('bid is negative');
    expect(() => publisher.quote('NASDAQ.X:AAPL', quote('1'))).toThrow(InvalidSubjectError);
    expect(() => publisher.licenceChanged({ userId: 'u', tenant: 't', revoked: true })).toThrow('exactly one of userId and tenant is required');
    expect(() => publisher.complianceScreen({ instrument: 'NASDAQ:AAPL', board: 'AAOIFI', status: 'compliant', reasons: ['debt'] })).toThrow(InvalidEventError);
    // The refused event did not use up a number.
    expect(publisher.nextSeq('ACC-PUB-1', 'order')).toBe(3);
    await sleep(200);
    expect(events).toHaveLength(2);
    for (const client of [md, orders]) client.socket.close();
  });

  it('reports a malformed raw event on gateway.rejected.<kind> with its reason and an excerpt, rate limited per kind', async () => {
    const reports: EngineRejection[] = [];
    const subscription = await publisher.onRejected((rejection) => reports.push(rejection));
    // What operators see of it: tradewire_engine_feedback_total, from before anything of this test was dropped.
    const feedbackMetric = (kind: string, outcome: 'sent' | 'suppressed') => gateway.metric('tradewire_engine_feedback_total', { kind, outcome });
    const sessionSentBefore = await feedbackMetric('session', 'sent');
    const sessionSuppressedBefore = await feedbackMetric('session', 'suppressed');
    const orderSentBefore = await feedbackMetric('order', 'sent');
    try {
      // The new user's mistake: an order event with a side the contract does not have.
      raw.publish('acct.ACC-PUB-2.order', JSON.stringify({ ...order('O-9', 0), side: 'BUYING', ts: Date.now() }));
      raw.publish('md.session.NASDAQ', '{"status": "OPEN", ');
      await raw.flush();
      await waitFor('two reports', () => (reports.length >= 2 ? true : undefined));
      expect(reports.find((r) => r.kind === 'order')).toMatchObject({
        kind: 'order',
        subject: 'acct.ACC-PUB-2.order',
        reason: 'invalid_fields',
        detail: 'side is not one of buy|sell',
        excerpt: expect.stringContaining('"side":"BUYING"') as string,
        node: `test-${gateway.port}`,
      });
      expect(reports.find((r) => r.kind === 'session')).toMatchObject({ subject: 'md.session.NASDAQ', reason: 'invalid_json', excerpt: '{"status": "OPEN", ' });
      expect(await feedbackMetric('order', 'sent')).toBe(orderSentBefore + 1);

      // A flood on one kind: at most 5 reports a second (ENGINE_FEEDBACK_PER_SECOND), the rest counted in the next one.
      const sessionReportsBeforeFlood = reports.filter((r) => r.kind === 'session').length;
      reports.length = 0;
      for (let i = 0; i < 200; i++) raw.publish('md.session.NASDAQ', `junk ${i}`);
      await raw.flush();
      await sleep(500);
      const burst = reports.filter((r) => r.kind === 'session').length;
      expect(burst).toBeGreaterThanOrEqual(1);
      expect(burst).toBeLessThanOrEqual(10);
      await sleep(1_100);
      raw.publish('md.session.NASDAQ', 'one more');
      await raw.flush();
      await waitFor('the report after the flood', () => (reports.some((r) => (r.suppressed ?? 0) > 0) ? true : undefined));
      const suppressed = reports.reduce((sum, r) => sum + (r.suppressed ?? 0), 0);
      expect(suppressed + reports.length).toBe(201);
      expect(await gateway.metric('tradewire_engine_events_malformed_total', { kind: 'session', reason: 'invalid_json' })).toBeGreaterThanOrEqual(202);
      // The metric agrees with what the publisher saw: every report it got counted `sent` (few: the flood spanned two
      // or three one-second windows), every held-back drop `suppressed`, and the two add up to the 202 drops.
      const sessionSent = (await feedbackMetric('session', 'sent')) - sessionSentBefore;
      const sessionSuppressed = (await feedbackMetric('session', 'suppressed')) - sessionSuppressedBefore;
      expect(sessionSent).toBe(sessionReportsBeforeFlood + reports.filter((r) => r.kind === 'session').length);
      expect(sessionSent).toBeLessThanOrEqual(1 + 3 * 5);
      expect(sessionSuppressed).toBe(suppressed);
      expect(sessionSent + sessionSuppressed).toBe(202);
    } finally {
      await subscription.close();
    }
  });

  it('keeps a revoked user revoked across restarts of the replica, until the revocation is cleared', async () => {
    await gateway.stop();
    await expectRevocationOutlivesRestarts(publisher, () => GatewayProcess.start(env(), { port: gateway.port }), env());
    gateway = await GatewayProcess.start(env(), { port: gateway.port });
  }, GATEWAY_RESTARTS_TIMEOUT_MS);

  it('keeps a compliance change across a restart', async () => {
    const islamic = { compliance: { islamic: true } };
    const subscribeAapl = async (gw: GatewayProcess) => {
      const client = await mdClient(gw, 'pub-islamic', islamic);
      const answer = await request(client.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
      client.socket.close();
      return answer;
    };
    expect(await subscribeAapl(gateway)).toMatchObject({ ok: true, data: { rejected: [] } });
    publisher.complianceScreen({ instrument: 'NASDAQ:AAPL', board: 'AAOIFI', status: 'non_compliant', reasons: ['debt'], version: 'engine-1' });
    await publisher.flush();
    gateway = await restart(gateway, env());
    expect(await subscribeAapl(gateway)).toMatchObject({ ok: true, data: { subscribed: [], rejected: [{ instrument: 'NASDAQ:AAPL', code: 'NOT_COMPLIANT' }] } });
    publisher.complianceScreen({ instrument: 'NASDAQ:AAPL', board: 'AAOIFI', status: 'compliant', version: 'engine-2' });
    await publisher.flush();
    const live = gateway;
    await waitFor('compliant again', async () => (((await subscribeAapl(live)) as { data?: { rejected: unknown[] } }).data?.rejected.length === 0 ? true : undefined));
  });

  it('runs the simulator CLI on the library: its events reach a client', async () => {
    const [first] = JSON.parse(readFileSync('data/instruments.json', 'utf8')) as { exchange: string; symbol: string }[];
    const instrument = `${first?.exchange}:${first?.symbol}`;
    const md = await mdClient(gateway, 'pub-sim');
    const frames = collect<MdMessage[]>(md.socket, 'md');
    expect(await request(md.socket, 'subscribe', { instruments: [instrument], channels: ['quote', 'book'] })).toMatchObject({ ok: true });
    const simulator = new ManagedProcess(
      spawn(process.execPath, ['dist/src/simulator/simulate.cli.js', '--transport', 'nats', '--url', nats.url, '--rate', '500', '--instruments', '3', '--duration', '20'], { stdio: 'pipe' }),
    );
    try {
      await waitFor('simulated quotes and books', () => {
        const streams = new Set(frames.flat().map((m) => m.stream));
        return streams.has(`quote:${instrument}`) && streams.has(`book:${instrument}`) ? true : undefined;
      });
    } finally {
      await simulator.stop('SIGTERM');
      md.socket.close();
    }
    expect(simulator.output).toMatch(/simulator: published \d+ events/);
  });
});

describe('@tradewire/publisher over Redis', () => {
  let redis: RedisServer;
  let publisher: TradewirePublisher;
  const env = (): Record<string, string> => ({ ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url });

  beforeAll(async () => {
    redis = await RedisServer.start();
    publisher = await TradewirePublisher.connect({ redis: { url: redis.url } }, { sequenceAccountEvents: true });
  });
  afterAll(async () => {
    await publisher?.close();
    await redis?.stop();
  });

  it('loses no account event published while no replica runs: they replay once one starts', async () => {
    const account = 'ACC-PUB-R1';
    publisher.order(account, order('O-1', 0));
    publisher.order(account, order('O-2', 0));
    publisher.order(account, order('O-1', 400));
    await publisher.flush();
    const gateway = await GatewayProcess.start(env());
    try {
      const client = await ordersClient(gateway, 'pub-redis-orders', [account]);
      const replayed = collect<OrderFrame>(client.socket, 'order');
      expect(await request(client.socket, 'subscribe', { since: { [account]: 1 } })).toEqual({
        ok: true,
        data: { accounts: [{ account, seq: 3, replayed: 2, resetRequired: false }] },
      });
      await waitFor('replay', () => (replayed.length >= 2 ? true : undefined));
      expect(replayed.map((e) => [e.seq, e.orderId, e.filledQuantity])).toEqual([
        [2, 'O-2', '0'],
        [3, 'O-1', '400'],
      ]);
      const fresh = await ordersClient(gateway, 'pub-redis-fresh', [account]);
      const freshSnapshot = nextEvent<OrdersSnapshot>(fresh.socket, 'orders:snapshot');
      await request(fresh.socket, 'subscribe', {});
      expect((await freshSnapshot).items.map((i) => [i.orderId, i.filledQuantity]).sort()).toEqual([
        ['O-1', '400'],
        ['O-2', '0'],
      ]);

      // Live now: the replica's own append of the same event is a duplicate in the log, not a second entry.
      const live = collect<OrderFrame>(fresh.socket, 'order');
      publisher.order(account, order('O-2', 100));
      await publisher.flush();
      await waitFor('live event', () => (live.length >= 1 ? true : undefined));
      expect(live[0]).toMatchObject({ seq: 4, orderId: 'O-2', filledQuantity: '100' });
      const inspect = new Redis(redis.url);
      expect(await inspect.xlen(`TRADEWIRE_ACCOUNTS:${account}:order`)).toBe(4);
      await inspect.quit();
      for (const c of [client, fresh]) c.socket.close();
    } finally {
      await gateway.stop();
    }
  });

  it('reports a malformed raw event on gateway.rejected.<kind> over Redis', async () => {
    const gateway = await GatewayProcess.start(env());
    const rawClient = new Redis(redis.url);
    const reports: EngineRejection[] = [];
    const subscription = await publisher.onRejected((r) => reports.push(r), ['position']);
    try {
      await rawClient.publish('acct.ACC-PUB-R2.position', JSON.stringify({ symbol: 'NASDAQ:AAPL', quantity: '10', ts: Date.now() }));
      await waitFor('report', () => (reports.length >= 1 ? true : undefined));
      expect(reports[0]).toMatchObject({ kind: 'position', subject: 'acct.ACC-PUB-R2.position', reason: 'invalid_fields', detail: 'avgPrice is not a decimal' });
    } finally {
      await subscription.close();
      await rawClient.quit();
      await gateway.stop();
    }
  });

  it('keeps a revoked user revoked across restarts, published with no replica running', async () => {
    // Nothing runs: the revocation goes straight into the control log.
    publisher.licenceChanged({ userId: 'revoked-offline', revoked: true });
    await publisher.flush();
    const gateway = await GatewayProcess.start(env());
    try {
      const token = await hsToken({ sub: 'revoked-offline', lic: FULL_LICENCE });
      expect((await expectRefused(gateway.url, NAMESPACES.marketData, { auth: { token } })).data).toMatchObject({ code: 'NOT_ENTITLED' });
    } finally {
      await gateway.stop();
    }
    await expectRevocationOutlivesRestarts(publisher, () => GatewayProcess.start(env()), env());
  }, GATEWAY_RESTARTS_TIMEOUT_MS);
});
