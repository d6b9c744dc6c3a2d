import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NAMESPACES,
  type AccountEvent,
  type EngineOrderSubmitRequest,
  type EngineOrderAmendRequest,
  type EngineOrderCancelAllRequest,
} from '#libs/contracts';
import { TestEngine } from './support/engine.js';
import { connectClient, GatewayProcess, request, requestRaw, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken, type TestClaims } from './support/tokens.js';
import { limitOrder, uniqueId } from './support/orders.js';

async function ordersClient(url: string, claims: TestClaims = {}): Promise<NamespaceSocket<'/orders'>> {
  const { socket } = await connectClient(url, NAMESPACES.orders, { auth: { token: await hsToken({ lic: FULL_LICENCE, ...claims }) } });
  return socket;
}

describe('order commands over NATS', () => {
  let nats: NatsServer;
  let engine: TestEngine;
  let gateway: GatewayProcess;
  let trader: NamespaceSocket<'/orders'>;

  beforeAll(async () => {
    nats = await NatsServer.start();
    engine = await TestEngine.start(nats.url);
    // Room for every request these tests send as one user; the limits themselves are the simulator suite's business.
    gateway = await GatewayProcess.start({ NATS_URL: nats.url, ORDER_TIMEOUT_MS: '800', RATE_LIMIT_REQUESTS: '1000/1m', RATE_LIMIT_REQUEST_BURST: '100/1s', RATE_LIMIT_EVENTS: 'subscribe=10/1m,order:submit=600/1m:100' });
    trader = await ordersClient(gateway.url, { sub: 'trader-1' });
  });
  afterAll(async () => {
    trader?.close();
    await gateway?.stop();
    await engine?.close();
    await nats?.stop();
  });

  it('submits an order to the engine once and answers { orderId, status }; a repeat gets the first answer', async () => {
    const id = uniqueId();
    const first = await request(trader, 'order:submit', limitOrder(id));
    expect(first).toEqual({ ok: true, data: { orderId: expect.stringMatching(/^O-\d+$/) as string, status: 'new' } });
    expect(engine.submitsOf(id)).toEqual([
      expect.objectContaining({ ...limitOrder(id), userId: 'trader-1', tenant: 'acme-capital', ts: expect.any(Number) as number }),
    ]);

    // A retry (say, after a reconnect), with the same decimals written differently: the same order.
    const again = await request(trader, 'order:submit', limitOrder(id, { quantity: '100.00', price: '0189.4' }));
    expect(again).toEqual(first);
    expect(engine.submitsOf(id)).toHaveLength(1);
    expect(await gateway.metric('tradewire_orders_total', { command: 'submit', outcome: 'replayed' })).toBeGreaterThanOrEqual(1);
  });

  it('answers repeats that arrive while the first is in flight with the first answer, and the engine sees it once', async () => {
    const id = uniqueId();
    const otherTab = await ordersClient(gateway.url, { sub: 'trader-1' });
    const answers = await Promise.all([
      request(trader, 'order:submit', limitOrder(id)),
      request(trader, 'order:submit', limitOrder(id)),
      request(otherTab, 'order:submit', limitOrder(id)),
      request(otherTab, 'order:submit', limitOrder(id)),
    ]);
    expect(answers[0]).toMatchObject({ ok: true, data: { status: 'new' } });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(engine.submitsOf(id)).toHaveLength(1);
    otherTab.close();
  });

  it('refuses a different order under a used clientOrderId with DUPLICATE_ORDER, in flight or answered', async () => {
    const id = uniqueId();
    const [first, meanwhile] = await Promise.all([
      request(trader, 'order:submit', limitOrder(id)),
      request(trader, 'order:submit', limitOrder(id, { side: 'sell' })),
    ]);
    expect(first.ok).toBe(true);
    expect(meanwhile).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER', status: 409, details: { clientOrderId: id } } });
    const later = await request(trader, 'order:submit', limitOrder(id, { price: '189.45' }));
    expect(later).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER', status: 409 } });
    expect(engine.submitsOf(id)).toHaveLength(1);
  });

  it('refuses order commands without the trading feature: NOT_ENTITLED, and the engine sees nothing', async () => {
    const socket = await ordersClient(gateway.url, { sub: 'no-trading', lic: { ...FULL_LICENCE, features: [] } });
    const id = uniqueId();
    const submit = await request(socket, 'order:submit', limitOrder(id));
    expect(submit).toMatchObject({ ok: false, error: { code: 'NOT_ENTITLED', status: 403, details: { features: ['trading'] } } });
    const cancel = await request(socket, 'order:cancel', { account: 'ACC-1001', orderId: 'O-1' });
    expect(cancel).toMatchObject({ ok: false, error: { code: 'NOT_ENTITLED' } });
    // The licence still serves the account stream.
    expect(await request(socket, 'subscribe', {})).toMatchObject({ ok: true });
    expect(engine.submitsOf(id)).toEqual([]);
    socket.close();
  });

  it('refuses a viewer and an account the token may not see with FORBIDDEN', async () => {
    const viewer = await ordersClient(gateway.url, { sub: 'viewer-1', roles: ['viewer'] });
    const viewerId = uniqueId();
    expect(await request(viewer, 'order:submit', limitOrder(viewerId))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403, message: 'requires role trader' } });
    expect(await request(viewer, 'order:cancel', { account: 'ACC-1001', orderId: 'O-1' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const foreignId = uniqueId();
    const foreign = await request(trader, 'order:submit', limitOrder(foreignId, { account: 'ACC-2001' }));
    expect(foreign).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403, details: { account: 'ACC-2001' } } });
    expect(await request(trader, 'order:cancel', { account: 'ACC-2001', orderId: 'O-1' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(engine.submitsOf(viewerId)).toEqual([]);
    expect(engine.submitsOf(foreignId)).toEqual([]);
    viewer.close();
  });

  it('refuses invalid payloads with INVALID_REQUEST and keeps the connection', async () => {
    const socket = await ordersClient(gateway.url, { sub: 'trader-invalid' });
    // Malformed on purpose: outside the contract's types, so sent unchecked.
    const malformed = (overrides: Record<string, unknown>): Record<string, unknown> => ({ ...limitOrder(uniqueId()), ...overrides });
    const cases: [Record<string, unknown>, string][] = [
      [malformed({ price: undefined }), 'price'],
      [malformed({ side: 'short' }), 'side'],
      [malformed({ quantity: 100 }), 'quantity'],
      [malformed({ quantity: '0' }), 'quantity'],
      [malformed({ instrument: 'AAPL' }), 'instrument'],
      [malformed({ leverage: 10 }), 'leverage'],
      [malformed({ clientOrderId: 'has spaces in it' }), 'clientOrderId'],
    ];
    for (const [payload, field] of cases) {
      const answer = await requestRaw(socket, 'order:submit', payload);
      expect(answer, field).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', status: 400 } });
      if (!answer.ok) expect(answer.error.message, field).toContain(field);
    }
    const noId = await request(socket, 'order:cancel', { account: 'ACC-1001' });
    expect(noId).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: 'orderId or clientOrderId is required' } });
    expect(socket.connected).toBe(true);
    expect(await request(socket, 'ping', {})).toMatchObject({ ok: true });
    // A market order needs no price.
    expect(await request(socket, 'order:submit', limitOrder(uniqueId(), { type: 'market', price: undefined }))).toMatchObject({ ok: true, data: { status: 'new' } });
    socket.close();
  });

  it('relays an engine refusal with its contract code, as the answer of that clientOrderId', async () => {
    const id = uniqueId('refuse');
    const answer = await request(trader, 'order:submit', limitOrder(id, { instrument: 'NASDAQ:ZZZZ' }));
    expect(answer).toEqual({ ok: false, error: { code: 'UNKNOWN_SYMBOL', status: 404, message: 'NASDAQ:ZZZZ is not traded on this venue' } });
    expect(await request(trader, 'order:submit', limitOrder(id, { instrument: 'NASDAQ:ZZZZ' }))).toEqual(answer);
    expect(engine.submitsOf(id)).toHaveLength(1);
  });

  it('answers ENGINE_TIMEOUT when the engine does not answer, and never sends that clientOrderId again', async () => {
    const id = uniqueId('silent');
    const answer = await request(trader, 'order:submit', limitOrder(id));
    expect(answer).toMatchObject({ ok: false, error: { code: 'ENGINE_TIMEOUT', status: 504 } });
    expect(await request(trader, 'order:submit', limitOrder(id))).toEqual(answer);
    expect(engine.submitsOf(id)).toHaveLength(1);
    expect(await gateway.metric('tradewire_orders_total', { command: 'submit', outcome: 'ENGINE_TIMEOUT' })).toBeGreaterThanOrEqual(1);
  });

  it('cancels by orderId and by clientOrderId (the engine gets the orderId the submit was answered with)', async () => {
    const id = uniqueId();
    const submitted = await request(trader, 'order:submit', limitOrder(id));
    if (!submitted.ok) throw new Error(`submit failed: ${submitted.error.message}`);
    const { orderId } = submitted.data;

    const byOrderId = await request(trader, 'order:cancel', { account: 'ACC-1001', orderId });
    expect(byOrderId).toEqual({ ok: true, data: { status: 'pending_cancel' } });
    const byClientId = await request(trader, 'order:cancel', { account: 'ACC-1001', clientOrderId: id });
    expect(byClientId).toEqual({ ok: true, data: { status: 'pending_cancel' } });

    const cancels = engine.cancels.filter((c) => c.orderId === orderId);
    expect(cancels).toEqual([
      { account: 'ACC-1001', orderId, userId: 'trader-1', tenant: 'acme-capital', ts: expect.any(Number) as number },
      { account: 'ACC-1001', orderId, clientOrderId: id, userId: 'trader-1', tenant: 'acme-capital', ts: expect.any(Number) as number },
    ]);
  });

  it('amends a working order (FIX OrderCancelReplace) once per clientOrderId, by orderId or by origClientOrderId', async () => {
    const original = uniqueId();
    const submitted = await request(trader, 'order:submit', limitOrder(original));
    if (!submitted.ok) throw new Error(`submit failed: ${submitted.error.message}`);
    const { orderId } = submitted.data;

    const replacement = uniqueId('amend');
    const amend = { clientOrderId: replacement, account: 'ACC-1001', orderId, quantity: '150', price: '189.30' };
    const first = await request(trader, 'order:amend', amend);
    expect(first).toEqual({ ok: true, data: { orderId, status: 'new' } });
    // A repeat (the answer was lost, say) gets the first answer; the engine sees the replacement once.
    expect(await request(trader, 'order:amend', { ...amend, quantity: '150.00' })).toEqual(first);
    expect(await request(trader, 'order:amend', { ...amend, price: '189.20' })).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER', details: { clientOrderId: replacement } } });
    // A submit may not reuse the replacement's id either: one key space per account.
    expect(await request(trader, 'order:submit', limitOrder(replacement))).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER' } });
    expect(engine.amends.filter((a) => a.clientOrderId === replacement)).toEqual([
      { ...amend, userId: 'trader-1', tenant: 'acme-capital', ts: expect.any(Number) as number } satisfies EngineOrderAmendRequest,
    ]);

    // By origClientOrderId: the engine gets the orderId this gateway answered the submit with.
    const second = uniqueId('amend');
    expect(await request(trader, 'order:amend', { clientOrderId: second, account: 'ACC-1001', origClientOrderId: original, price: '189.10' })).toEqual({ ok: true, data: { orderId, status: 'new' } });
    expect(engine.amends.find((a) => a.clientOrderId === second)).toMatchObject({ orderId, origClientOrderId: original, price: '189.10' });
    expect(await gateway.metric('tradewire_orders_total', { command: 'amend', outcome: 'replayed' })).toBe(1);
  });

  it('refuses an amend that names no order, changes nothing, reuses the original id or comes from someone who may not trade', async () => {
    const base = { clientOrderId: uniqueId('amend'), account: 'ACC-1001', orderId: 'O-NONE', quantity: '10' };
    const { orderId: _orderId, ...noOrder } = base;
    expect(await request(trader, 'order:amend', noOrder)).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: 'orderId or origClientOrderId is required' } });
    const { quantity: _quantity, ...noChange } = base;
    expect(await request(trader, 'order:amend', noChange)).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: 'quantity or price is required' } });
    expect(await request(trader, 'order:amend', { ...noOrder, origClientOrderId: base.clientOrderId })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: expect.stringContaining('clientOrderId must be new') as string } });
    expect(await request(trader, 'order:amend', { ...base, quantity: '0' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await request(trader, 'order:amend', { ...base, price: '-1' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await requestRaw(trader, 'order:amend', { ...base, side: 'sell' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await request(trader, 'order:amend', { ...base, account: 'ACC-2001' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { account: 'ACC-2001' } } });
    const viewer = await ordersClient(gateway.url, { sub: 'viewer-2', roles: ['viewer'] });
    expect(await request(viewer, 'order:amend', base)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: 'requires role trader' } });
    expect(await request(viewer, 'order:cancel-all', { requestId: uniqueId('all'), account: 'ACC-1001' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: 'requires role trader' } });
    viewer.close();
    // A refused check is not remembered: the same clientOrderId goes through once the amend is whole.
    expect(engine.amends.filter((a) => a.clientOrderId === base.clientOrderId)).toEqual([]);
    expect(await request(trader, 'order:amend', base)).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: 'no working order of this account has that id' } });
  });

  it('cancels every working order of an account, or of one instrument and side, once per requestId', async () => {
    const ids = [uniqueId(), uniqueId(), uniqueId()];
    const orders = [limitOrder(ids[0] ?? '', { instrument: 'NASDAQ:TSLA' }), limitOrder(ids[1] ?? '', { instrument: 'NASDAQ:TSLA', side: 'sell' }), limitOrder(ids[2] ?? '', { instrument: 'NASDAQ:NFLX' })];
    const orderIds: string[] = [];
    for (const order of orders) {
      const answer = await request(trader, 'order:submit', order);
      if (!answer.ok) throw new Error(`submit failed: ${answer.error.message}`);
      orderIds.push(answer.data.orderId);
    }
    const requestId = uniqueId('all');
    const tslaBuys = await request(trader, 'order:cancel-all', { requestId, account: 'ACC-1001', instrument: 'NASDAQ:TSLA', side: 'buy' });
    expect(tslaBuys).toEqual({ ok: true, data: { orderIds: [orderIds[0]] } });
    expect(await request(trader, 'order:cancel-all', { requestId, account: 'ACC-1001', instrument: 'NASDAQ:TSLA', side: 'buy' })).toEqual(tslaBuys);
    expect(await request(trader, 'order:cancel-all', { requestId, account: 'ACC-1001' })).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER', details: { requestId } } });
    expect(engine.cancelAlls.filter((c) => c.requestId === requestId)).toEqual([
      { requestId, account: 'ACC-1001', instrument: 'NASDAQ:TSLA', side: 'buy', userId: 'trader-1', tenant: 'acme-capital', ts: expect.any(Number) as number } satisfies EngineOrderCancelAllRequest,
    ]);
    const everything = await request(trader, 'order:cancel-all', { requestId: uniqueId('all'), account: 'ACC-1001' });
    expect(everything.ok && everything.data.orderIds).toEqual(expect.arrayContaining([orderIds[1], orderIds[2]]));
    expect(everything.ok && everything.data.orderIds).not.toContain(orderIds[0]);
    expect(await request(trader, 'order:cancel-all', { requestId: uniqueId('all'), account: 'ACC-2001' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await requestRaw(trader, 'order:cancel-all', { requestId: uniqueId('all'), account: 'ACC-1001', side: 'BUY' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await requestRaw(trader, 'order:cancel-all', { account: 'ACC-1001' })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('answers ENGINE_UNAVAILABLE when no engine serves order commands; that clientOrderId may then be sent again', async () => {
    await engine.stopListening();
    const id = uniqueId();
    try {
      expect(await request(trader, 'order:submit', limitOrder(id))).toMatchObject({ ok: false, error: { code: 'ENGINE_UNAVAILABLE', status: 503 } });
      expect(await request(trader, 'order:cancel', { account: 'ACC-1001', orderId: 'O-1' })).toMatchObject({ ok: false, error: { code: 'ENGINE_UNAVAILABLE' } });
    } finally {
      await engine.listen();
    }
    // It never reached the engine, so the retry does.
    expect(await request(trader, 'order:submit', limitOrder(id))).toMatchObject({ ok: true, data: { status: 'new' } });
    expect(engine.submitsOf(id)).toHaveLength(1);
  });
});

describe('order idempotency across replicas (Redis)', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let engine: TestEngine;
  let gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
    engine = await TestEngine.start(nats.url);
    gateways = await Promise.all([1, 2].map(() => GatewayProcess.start({ NATS_URL: nats.url, REDIS_URL: redis.url })));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await engine?.close();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('sends a clientOrderId that arrives through two gateways to the engine once; both get the first answer', async () => {
    const [a, b] = await Promise.all(gateways.map((g) => ordersClient(g.url, { sub: 'trader-2' })));
    if (!a || !b) throw new Error('no clients');
    const id = uniqueId();
    const [viaA, viaB] = await Promise.all([request(a, 'order:submit', limitOrder(id)), request(b, 'order:submit', limitOrder(id))]);
    expect(viaA).toMatchObject({ ok: true, data: { status: 'new' } });
    expect(viaB).toEqual(viaA);
    expect(await request(b, 'order:submit', limitOrder(id))).toEqual(viaA);
    expect(engine.submitsOf(id)).toHaveLength(1);

    const sequential = uniqueId();
    const firstOnA = await request(a, 'order:submit', limitOrder(sequential));
    expect(await request(b, 'order:submit', limitOrder(sequential))).toEqual(firstOnA);
    expect(await request(b, 'order:submit', limitOrder(sequential, { quantity: '200' }))).toMatchObject({ ok: false, error: { code: 'DUPLICATE_ORDER' } });
    expect(engine.submitsOf(sequential)).toHaveLength(1);
    a.close();
    b.close();
  });
});

describe('order commands over Redis (a reply channel and a correlation id)', () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  const engineClients: Redis[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    gateway = await GatewayProcess.start({ REDIS_URL: redis.url, ENGINE_TRANSPORT: 'redis', ORDER_TIMEOUT_MS: '800' });
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(engineClients.map((client) => client.quit()));
    await redis?.stop();
  });

  it('answers ENGINE_UNAVAILABLE with no engine subscribed, then goes through the engine once it is', async () => {
    const socket = await ordersClient(gateway.url, { sub: 'redis-trader' });
    const early = uniqueId();
    expect(await request(socket, 'order:submit', limitOrder(early))).toMatchObject({ ok: false, error: { code: 'ENGINE_UNAVAILABLE', status: 503 } });

    // The engine: subscribes to the request channel and publishes each answer, with its correlation id, on replyTo.
    const [sub, pub] = [new Redis(redis.url), new Redis(redis.url)];
    engineClients.push(sub, pub);
    const seen: (EngineOrderSubmitRequest & { replyTo: string; correlationId: string })[] = [];
    sub.on('message', (_channel: string, message: string) => {
      const order = JSON.parse(message) as EngineOrderSubmitRequest & { replyTo: string; correlationId: string };
      seen.push(order);
      void pub.publish(order.replyTo, JSON.stringify({ correlationId: order.correlationId, orderId: `R-${seen.length}`, status: 'new' }));
    });
    await sub.subscribe('engine.order.submit');

    const id = uniqueId();
    const first = await request(socket, 'order:submit', limitOrder(id));
    expect(first).toEqual({ ok: true, data: { orderId: 'R-1', status: 'new' } });
    expect(seen).toEqual([expect.objectContaining({ ...limitOrder(id), userId: 'redis-trader', replyTo: expect.stringMatching(/^tradewire\.order\.reply\./) as string, correlationId: expect.any(String) as string })]);
    expect(await request(socket, 'order:submit', limitOrder(id))).toEqual(first);
    // The one that found no engine was not kept: it may be sent again.
    expect(await request(socket, 'order:submit', limitOrder(early))).toEqual({ ok: true, data: { orderId: 'R-2', status: 'new' } });
    expect(seen.map((order) => order.clientOrderId)).toEqual([id, early]);
    socket.close();
  });

  it('sends cancel-all and amend on their channels and reads the answers of the engine', async () => {
    const socket = await ordersClient(gateway.url, { sub: 'redis-trader' });
    const [sub, pub] = [new Redis(redis.url), new Redis(redis.url)];
    engineClients.push(sub, pub);
    const seen: { channel: string; body: Record<string, unknown> }[] = [];
    sub.on('message', (channel: string, message: string) => {
      const body = JSON.parse(message) as Record<string, unknown> & { replyTo: string; correlationId: string };
      seen.push({ channel, body });
      const answer = channel === 'engine.order.cancel-all' ? { orderIds: ['R-7', 'R-9'] } : { orderId: body.orderId, status: 'new' };
      void pub.publish(body.replyTo, JSON.stringify({ correlationId: body.correlationId, ...answer }));
    });
    await sub.subscribe('engine.order.cancel-all', 'engine.order.amend');

    const requestId = uniqueId('all');
    const all = await request(socket, 'order:cancel-all', { requestId, account: 'ACC-1001', instrument: 'NASDAQ:AAPL' });
    expect(all).toEqual({ ok: true, data: { orderIds: ['R-7', 'R-9'] } });
    expect(await request(socket, 'order:cancel-all', { requestId, account: 'ACC-1001', instrument: 'NASDAQ:AAPL' })).toEqual(all);
    const replacement = uniqueId('amend');
    const amended = await request(socket, 'order:amend', { clientOrderId: replacement, account: 'ACC-1001', orderId: 'R-7', price: '188.00' });
    expect(amended).toEqual({ ok: true, data: { orderId: 'R-7', status: 'new' } });
    expect(seen.map(({ channel, body }) => [channel, body.requestId ?? body.clientOrderId, body.userId])).toEqual([
      ['engine.order.cancel-all', requestId, 'redis-trader'],
      ['engine.order.amend', replacement, 'redis-trader'],
    ]);
    socket.close();
  });
});

describe('order commands on the embedded simulator', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    // No order flow of the simulator's own: it would fill or cancel the orders these tests amend and cancel, at random.
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '20', SIMULATOR_ORDER_RATE: '0', RATE_LIMIT_EVENTS: 'subscribe=10/1m,order:submit=3/1m' });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('accepts an order and publishes its order event on the account stream; refuses what it cannot trade', async () => {
    // The embedded demo's default licence includes trading: this token carries none.
    const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'demo-trader' }) } });
    expect(await request(socket, 'subscribe', { accounts: ['ACC-1001'] })).toMatchObject({ ok: true });
    const id = uniqueId();
    const events: AccountEvent<'order'>[] = [];
    socket.on('order', (event: AccountEvent<'order'>) => {
      if (event.clientOrderId === id) events.push(event);
    });
    const answer = await request(socket, 'order:submit', limitOrder(id, { price: '150.00' }));
    expect(answer).toEqual({ ok: true, data: { orderId: expect.stringMatching(/^SIM-\d+$/) as string, status: 'new' } });
    await waitFor('the order event', () => (events.length > 0 ? true : undefined));
    expect(events[0]).toMatchObject({ account: 'ACC-1001', clientOrderId: id, orderId: answer.ok ? answer.data.orderId : '', symbol: 'NASDAQ:AAPL', status: 'new', execType: 'new', quantity: '100', price: '150.00' });

    const unknown = await request(socket, 'order:submit', limitOrder(uniqueId(), { instrument: 'NASDAQ:NOPE' }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SYMBOL', status: 404 } });
    socket.close();
  });

  it('counts order:submit against its own rate limit (RATE_LIMIT_EVENTS)', async () => {
    const socket = await ordersClient(gateway.url, { sub: 'busy-trader' });
    for (let i = 0; i < 3; i++) expect(await request(socket, 'order:submit', limitOrder(uniqueId()))).toMatchObject({ ok: true });
    const refused = await request(socket, 'order:submit', limitOrder(uniqueId()));
    expect(refused).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', status: 429, message: 'too many order:submit requests', retryAfterMs: expect.any(Number) as number } });
    // Another event is not held back by it.
    expect(await request(socket, 'ping', {})).toMatchObject({ ok: true });
    socket.close();
  });

  it('amends a working order (execType replaced) and cancels all of an instrument, each with its order events', async () => {
    const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'demo-amender' }) } });
    expect(await request(socket, 'subscribe', { accounts: ['ACC-1001'] })).toMatchObject({ ok: true });
    const events: AccountEvent<'order'>[] = [];
    socket.on('order', (event: AccountEvent<'order'>) => events.push(event));
    const original = uniqueId();
    const submitted = await request(socket, 'order:submit', limitOrder(original, { instrument: 'NASDAQ:MSFT', price: '100.00' }));
    if (!submitted.ok) throw new Error(`submit failed: ${submitted.error.message}`);
    const { orderId } = submitted.data;
    const replacement = uniqueId('amend');
    const amended = await request(socket, 'order:amend', { clientOrderId: replacement, account: 'ACC-1001', origClientOrderId: original, quantity: '200', price: '99.50' });
    expect(amended).toMatchObject({ ok: true, data: { orderId } });
    const replaced = await waitFor('the replaced event', () => events.find((e) => e.orderId === orderId && e.execType === 'replaced'));
    expect(replaced).toMatchObject({ clientOrderId: replacement, quantity: '200', price: '99.50', symbol: 'NASDAQ:MSFT' });
    expect(Number(replaced.leavesQuantity) + Number(replaced.filledQuantity)).toBe(200);

    const all = await request(socket, 'order:cancel-all', { requestId: uniqueId('all'), account: 'ACC-1001', instrument: 'NASDAQ:MSFT' });
    if (!all.ok) throw new Error(`cancel-all failed: ${all.error.message}`);
    expect(all.data.orderIds).toContain(orderId);
    await waitFor('a canceled event for each', () => (all.data.orderIds.every((id) => events.some((e) => e.orderId === id && e.status === 'canceled')) ? true : undefined));
    expect(events.filter((e) => all.data.orderIds.includes(e.orderId) && e.status === 'canceled').every((e) => e.symbol === 'NASDAQ:MSFT')).toBe(true);
    socket.close();
  });
});
