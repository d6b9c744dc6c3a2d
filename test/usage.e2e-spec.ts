import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES } from '#libs/contracts';
import type { TenantUsageReport, UsageReport, UserUsageReport } from '#libs/observability';
import { collect, connectClient, GatewayProcess, request } from './support/gateway.js';
import { NatsServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

type UsageAnswer = UsageReport & { node: string; requestedBy: string };

const order = (orderId: string, status: string) => ({
  orderId,
  clientOrderId: `c-${orderId}`,
  symbol: 'NASDAQ:AAPL',
  side: 'buy',
  type: 'limit',
  status,
  execType: 'new',
  quantity: '100',
  filledQuantity: '0',
  leavesQuantity: '100',
  price: '189.50',
  ts: Date.now(),
});

describe('usage metering: GET /admin/usage and the usage metrics', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let publisher: NatsConnection;

  beforeAll(async () => {
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url });
    publisher = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await publisher?.close();
    await gateway?.stop();
    await nats?.stop();
  });

  const publish = async (subject: string, payload: unknown) => {
    publisher.publish(subject, JSON.stringify(payload));
    await publisher.flush();
  };
  const usage = async (query = ''): Promise<UsageAnswer> => {
    const response = await fetch(`${gateway.url}/admin/usage${query}`, { headers: { authorization: `Bearer ${await hsToken({ sub: 'ops', roles: ['admin'] })}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as UsageAnswer;
  };
  const tenantOf = (report: UsageReport, tenant: string): TenantUsageReport | undefined => report.tenants.find((t) => t.tenant === tenant);
  const userOf = (report: UsageReport, tenant: string, userId: string): UserUsageReport | undefined => tenantOf(report, tenant)?.users.find((u) => u.userId === userId);

  it('requires an admin token', async () => {
    expect((await fetch(`${gateway.url}/admin/usage`)).status).toBe(401);
    const trader = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${await hsToken({ roles: ['trader'] })}` } });
    expect(trader.status).toBe(403);
    const expired = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${await hsToken({ roles: ['admin'] }, { expiresIn: -60 })}` } });
    expect(expired.status).toBe(401);
  });

  it('reports per tenant and user the subscriptions by exchange and channel and the messages delivered, keeps users who left, and resets on request', async () => {
    // Alice's licence has LSE delayed: delayed subscriptions are metered apart (exchanges bill them differently).
    const aliceToken = await hsToken({ sub: 'alice', tenant: 'acme-capital', accounts: ['ACC-1001'], lic: { ...FULL_LICENCE, exchanges: { '*': 'realtime', LSE: 'delayed' } } });
    const noraToken = await hsToken({ sub: 'nora', tenant: 'nile-partners', accounts: ['ACC-2001'], lic: FULL_LICENCE });
    const aliceMd = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: aliceToken } });
    const aliceOrders = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: aliceToken } });
    const noraMd = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: noraToken } });
    const noraOrders = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: noraToken } });

    const aliceSub = await request(aliceMd.socket, 'subscribe', { instruments: ['NASDAQ:AAPL', 'LSE:VOD'], channels: ['quote', 'trade'] });
    expect(aliceSub.ok && aliceSub.data.subscribed).toHaveLength(4);
    await request(aliceMd.socket, 'unsubscribe', { instruments: ['LSE:VOD'], channels: ['trade'] });
    await request(noraMd.socket, 'subscribe', { instruments: ['EGX:COMI'], channels: ['book'] });
    const aliceWatch = await request(aliceOrders.socket, 'subscribe', {});
    expect(aliceWatch.ok).toBe(true);
    await request(noraOrders.socket, 'subscribe', {});

    const aliceEvents = collect(aliceOrders.socket, 'order');
    const aliceQuotes = collect(aliceMd.socket, 'md');
    const noraEvents = collect(noraOrders.socket, 'order');
    await publish('acct.ACC-1001.order', order('O-1', 'new'));
    await publish('acct.ACC-1001.order', order('O-2', 'new'));
    await publish('acct.ACC-2001.order', order('O-3', 'new'));
    await publish('md.quote.NASDAQ.AAPL', { bid: '189.50', ask: '189.52', bidSize: '1', askSize: '1', last: '189.51', lastSize: '1', volume: '1', ts: Date.now() });
    await waitFor('the order events', () => (aliceEvents.length === 2 && noraEvents.length === 1 && aliceQuotes.length === 1 ? true : undefined));

    const report = await usage();
    expect(report).toMatchObject({ node: expect.any(String) as string, requestedBy: 'ops', reset: false });
    expect(report.periodStart).toBeLessThanOrEqual(report.generatedAt);
    const alice = userOf(report, 'acme-capital', 'alice');
    const nora = userOf(report, 'nile-partners', 'nora');
    expect(alice).toMatchObject({
      connections: 2,
      subscriptions: { NASDAQ: { quote: 1, trade: 1 }, LSE: { 'quote.delayed': 1 } },
      subscriptionsOpened: { NASDAQ: { quote: 1, trade: 1 }, LSE: { 'quote.delayed': 1, 'trade.delayed': 1 } },
      accounts: { '/orders': 1 },
    });
    // An orders snapshot on subscribe, then the two live events.
    expect(alice?.delivered['/orders']?.messages).toBe(3);
    expect(alice?.delivered['/orders']?.bytes).toBeGreaterThan(100);
    expect(nora).toMatchObject({ connections: 2, subscriptions: { EGX: { book: 1 } }, accounts: { '/orders': 1 } });
    expect(nora?.delivered['/orders']?.messages).toBe(2);
    expect(tenantOf(report, 'acme-capital')?.users.map((u) => u.userId)).toEqual(['alice']);
    expect(tenantOf(report, 'nile-partners')?.totals.subscriptions).toEqual({ EGX: { book: 1 } });
    // Market data: the fan-out counts each message of its md frames (here the AAPL quote) and the frame bytes.
    expect(alice?.delivered['/market-data']?.messages).toBe(1);
    expect(alice?.delivered['/market-data']?.bytes).toBeGreaterThan(50);
    expect(nora?.delivered['/market-data']).toBeUndefined();

    // Prometheus: per tenant, never per user.
    expect(await gateway.metric('tradewire_usage_subscriptions', { tenant: 'acme-capital', exchange: 'NASDAQ', channel: 'trade' })).toBe(1);
    expect(await gateway.metric('tradewire_usage_subscriptions', { tenant: 'nile-partners', exchange: 'EGX', channel: 'book' })).toBe(1);
    expect(await gateway.metric('tradewire_usage_messages_total', { tenant: 'acme-capital', namespace: '/orders' })).toBe(3);
    expect(await gateway.metric('tradewire_usage_messages_total', { tenant: 'acme-capital', namespace: '/market-data' })).toBe(1);
    expect(await gateway.metric('tradewire_usage_messages_total', { tenant: 'nile-partners', namespace: '/orders' })).toBe(2);
    expect(await gateway.metric('tradewire_usage_subscriptions', { tenant: 'acme-capital', exchange: 'LSE', channel: 'quote.delayed' })).toBe(1);
    expect(await gateway.metric('tradewire_usage_account_subscriptions', { tenant: 'acme-capital', namespace: '/orders' })).toBe(1);
    expect(await gateway.metrics()).not.toMatch(/tradewire_usage_[a-z_]+\{[^}]*user/);

    // Alice leaves: her current subscriptions go, what she used in the period stays.
    aliceMd.socket.close();
    aliceOrders.socket.close();
    await waitFor('alice gone', async () => (userOf(await usage(), 'acme-capital', 'alice')?.connections === 0 ? true : undefined));
    const afterLeaving = userOf(await usage(), 'acme-capital', 'alice');
    expect(afterLeaving).toMatchObject({ subscriptions: {}, accounts: {}, subscriptionsOpened: { NASDAQ: { quote: 1, trade: 1 } } });
    expect(afterLeaving?.delivered['/orders']?.messages).toBe(3);
    expect(await gateway.metric('tradewire_usage_subscriptions', { tenant: 'acme-capital', exchange: 'NASDAQ', channel: 'trade' })).toBe(0);

    // Reset: the closing report has the period's figures; the next period starts from zero, the metrics do not.
    const closing = await usage('?reset=true');
    expect(closing.reset).toBe(true);
    expect(userOf(closing, 'acme-capital', 'alice')?.delivered['/orders']?.messages).toBe(3);
    const next = await usage();
    expect(next.periodStart).toBeGreaterThanOrEqual(closing.generatedAt);
    expect(userOf(next, 'acme-capital', 'alice')).toBeUndefined(); // she left and her period was reported
    expect(userOf(next, 'nile-partners', 'nora')).toMatchObject({ connections: 2, subscriptions: { EGX: { book: 1 } }, subscriptionsOpened: {}, delivered: {} });
    await publish('acct.ACC-2001.order', order('O-4', 'new'));
    await waitFor('nora counted again', async () => (userOf(await usage(), 'nile-partners', 'nora')?.delivered['/orders']?.messages === 1 ? true : undefined));
    expect(await gateway.metric('tradewire_usage_messages_total', { tenant: 'acme-capital', namespace: '/orders' })).toBe(3);
    expect(await gateway.metric('tradewire_usage_messages_total', { tenant: 'nile-partners', namespace: '/orders' })).toBe(3);
    noraMd.socket.close();
    noraOrders.socket.close();
  });
});
