import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type Order, type TradewireError } from '#libs/client';
import { NAMESPACES, type Namespace, type PositionsValuation, type WireError } from '#libs/contracts';
import { orderEvent } from './support/account-log.js';
import { FrameTamperProxy } from './support/frame-tamper-proxy.js';
import { collect, connectClient, GatewayProcess, managerSocket, request, sleep, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * Account watchers that stop reading. The slow client is a real socket.io-client (and, for the replay, the SDK)
 * behind a TCP proxy whose sockets are paused: the gateway's writes pile up in the kernel buffers and then in its own,
 * exactly as with a frozen browser tab. Events come from real engine publishers: orders over NATS (numbered by the
 * engine, kept by JetStream), positions and portfolios over Redis pub/sub.
 */

const SYMBOLS = ['NASDAQ:AAPL', 'NASDAQ:MSFT', 'NYSE:IBM', 'LSE:VOD'];
/** A 1 KB rejection reason (the contract's longest) makes each order event weigh what a busy blotter's do. */
const LONG_REASON = 'r'.repeat(1_000);

const positionEvent = (symbol: string, quantity: number) => ({
  symbol,
  quantity: String(quantity),
  avgPrice: '100.00',
  marketPrice: '101.00',
  marketValue: String(quantity * 101),
  unrealizedPnl: String(quantity),
  realizedPnl: '0',
  dayPnl: String(quantity),
  ts: Date.now(),
});

const portfolioEvent = (equity: number) => ({
  currency: 'USD',
  equity: String(equity),
  cash: '1000000',
  buyingPower: '2000000',
  marketValue: String(equity - 1_000_000),
  dayPnl: '0',
  totalPnl: '0',
  ts: Date.now(),
});

interface PositionFrame {
  account: string;
  seq: number;
  symbol: string;
  quantity: string;
}
interface PortfolioFrame {
  account: string;
  seq: number;
  equity: string;
}
interface OrderFrame {
  account: string;
  seq: number;
  orderId: string;
}

function pause(proxy: FrameTamperProxy): void {
  for (const socket of proxy.connections) socket.pause();
}
function resume(proxy: FrameTamperProxy): void {
  for (const socket of proxy.connections) socket.resume();
}

describe('slow account watchers', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let natsPublisher: NatsConnection;
  let redisPublisher: Redis;
  const gateways: GatewayProcess[] = [];
  const proxies: FrameTamperProxy[] = [];

  /** A gateway on both engine transports, reached through a proxy that can stop reading (WS frames pass as they are). */
  const startBehindProxy = async (graceMs: number, env: Record<string, string> = {}): Promise<{ gateway: GatewayProcess; proxy: FrameTamperProxy }> => {
    const gateway = await GatewayProcess.start({
      ENGINE_TRANSPORT: 'nats,redis',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      SLOW_CLIENT_GRACE_MS: String(graceMs),
      WS_COMPRESSION: 'off',
      ...env,
    });
    gateways.push(gateway);
    const proxy = await FrameTamperProxy.start(gateway.port);
    proxies.push(proxy);
    return { gateway, proxy };
  };

  const publishOrders = async (account: string, fromSeq: number, count: number): Promise<void> => {
    for (let seq = fromSeq; seq < fromSeq + count; seq++) {
      natsPublisher.publish(`acct.${account}.order`, JSON.stringify({ ...orderEvent(`O-${seq % 7}`, seq, seq), reason: LONG_REASON }));
    }
    await natsPublisher.flush();
  };

  beforeAll(async () => {
    [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
    natsPublisher = await connect({ servers: nats.url });
    redisPublisher = new Redis(redis.url);
  });

  afterAll(async () => {
    for (const proxy of proxies) await proxy.stop();
    for (const gateway of gateways) await gateway.stop();
    await natsPublisher.close();
    redisPublisher.disconnect();
    await Promise.all([nats.stop(), redis.stop()]);
  });

  it('conflates positions and the portfolio to the latest per key for a watcher that fell behind, while its orders arrive complete', async () => {
    const account = 'ACC-SLOW-1';
    const { gateway, proxy } = await startBehindProxy(60_000);
    const token = await hsToken({ sub: 'slow-desk', accounts: [account] });
    // One client, one connection (a manager shared by its three namespaces), as a dashboard has.
    const positions = await connectClient(proxy.url, NAMESPACES.positions, { auth: { token }, forceNew: true });
    const manager = positions.socket.io;
    const socketOn = <N extends Namespace>(namespace: N): Promise<NamespaceSocket<N>> =>
      new Promise((resolve, reject) => {
        const socket = managerSocket(manager, namespace, { auth: { token } });
        socket.once('welcome', () => resolve(socket));
        socket.once('connect_error', reject);
        socket.connect();
      });
    const [orders, portfolio] = [await socketOn(NAMESPACES.orders), await socketOn(NAMESPACES.portfolio)];
    expect(proxy.connections.size).toBe(2); // one client connection, one to the gateway

    const positionFrames = collect<PositionFrame>(positions.socket, 'position');
    const portfolioFrames = collect<PortfolioFrame>(portfolio, 'portfolio');
    const orderFrames = collect<OrderFrame>(orders, 'order');
    const errors = collect<WireError>(positions.socket, 'error');
    for (const socket of [positions.socket, orders, portfolio]) {
      const answer = await request(socket, 'subscribe', { accounts: [account] });
      expect(answer.ok).toBe(true);
    }

    // The client stops reading; the engine revalues on every tick, and orders keep coming.
    pause(proxy);
    let published = 0;
    let quantity = 0;
    let equity = 1_000_000;
    const publishValuations = async (rounds: number) => {
      const pipeline = redisPublisher.pipeline();
      for (let round = 0; round < rounds; round++) {
        quantity++;
        for (const symbol of SYMBOLS) pipeline.publish(`acct.${account}.position`, JSON.stringify(positionEvent(symbol, quantity)));
        pipeline.publish(`acct.${account}.portfolio`, JSON.stringify(portfolioEvent(++equity)));
        published += SYMBOLS.length;
      }
      await pipeline.exec();
    };
    let orderSeq = 1;
    const behind = () => gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.positions, action: 'behind' });
    for (let batch = 0; batch < 200 && (await behind()) === 0; batch++) {
      await publishValuations(500);
      await publishOrders(account, orderSeq, 10);
      orderSeq += 10;
      await sleep(20);
    }
    expect(await behind()).toBeGreaterThanOrEqual(1);
    // Held back now: everything from here on is owed to it, not queued for it. Less than the account's log keeps (10,000
    // per kind), so that it catches up from the log rather than from a fresh snapshot.
    const positionsBeforeBehind = published;
    for (let batch = 0; batch < 10; batch++) {
      await publishValuations(100);
      await publishOrders(account, orderSeq, 20);
      orderSeq += 20;
    }
    const lastOrderSeq = orderSeq - 1;
    await waitFor('the gateway to apply the last order', async () => ((await gateway.metric('tradewire_engine_events_total', { kind: 'order', transport: 'nats' })) >= lastOrderSeq ? true : undefined), 15_000, 100);
    await sleep(300);

    resume(proxy);
    await waitFor('every order', () => (orderFrames.length >= lastOrderSeq ? true : undefined), 30_000, 100);
    await waitFor('the latest position of every instrument and the latest portfolio', () =>
      SYMBOLS.every((symbol) => positionFrames.findLast((p) => p.symbol === symbol)?.quantity === String(quantity)) && portfolioFrames.at(-1)?.equity === String(equity) ? true : undefined,
    30_000, 100);
    await sleep(300);

    // Orders: complete, in order, once each.
    expect(orderFrames.map((o) => o.seq)).toEqual(Array.from({ length: lastOrderSeq }, (_, i) => i + 1));
    // Positions and the portfolio: the latest of each key arrived, the intermediate values of the stall did not (of
    // the 4,000 positions and 1,000 portfolios published while it was held back, a few catch-up rounds' worth at most).
    expect(published - positionsBeforeBehind).toBe(4_000);
    expect(positionFrames.length).toBeLessThanOrEqual(positionsBeforeBehind + 100);
    expect(portfolioFrames.length).toBeLessThanOrEqual(positionsBeforeBehind / SYMBOLS.length + 25);
    for (const frames of [positionFrames, portfolioFrames]) {
      const seqs = frames.map((f) => f.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    // No snapshot was needed and nobody was disconnected: conflation kept it within reach.
    expect(await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.positions, action: 'resync' })).toBe(0);
    expect(await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.positions, action: 'disconnected' })).toBe(0);
    expect(await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.orders, action: 'disconnected' })).toBe(0);
    expect(errors).toEqual([]);
    expect(positions.socket.connected && orders.connected && portfolio.connected).toBe(true);
    manager.engine.close();
  }, 120_000);

  it('disconnects an orders watcher that stays behind with SLOW_CLIENT, and the SDK replays with `since`, losing nothing', async () => {
    const account = 'ACC-SLOW-2';
    const { gateway, proxy } = await startBehindProxy(1_000);
    const client = new TradewireClient({ url: proxy.url, getToken: () => hsToken({ sub: 'slow-sdk', accounts: [account] }), transports: ['websocket'], backoff: { minDelayMs: 100, maxDelayMs: 500 } });
    const errors: TradewireError[] = [];
    client.on('error', (error) => errors.push(error));
    try {
      const blotter = client.orders.subscribe({ accounts: [account] });
      const received: Order[] = [];
      const replays: { replayed: number; since: number }[] = [];
      blotter.on('order', (order) => received.push(order));
      blotter.on('replay', (replay) => replays.push(replay));
      await new Promise((resolve) => blotter.once('snapshot', resolve));
      await publishOrders(account, 1, 20);
      await waitFor('the first orders', () => (received.length === 20 ? true : undefined));

      pause(proxy);
      const disconnected = () => gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.orders, action: 'disconnected' });
      let next = 21;
      for (let batch = 0; batch < 400 && (await disconnected()) === 0; batch++) {
        await publishOrders(account, next, 50);
        next += 50;
        await sleep(25);
      }
      expect(await disconnected()).toBe(1);
      // More while it is away: the replay must bring these too.
      await publishOrders(account, next, 30);
      const last = next + 29;
      expect(last).toBeLessThan(10_000); // within what the log keeps: a replay, not a reset
      resume(proxy);

      await waitFor('every order, after the reconnect', () => (client.orders.seqs()[account] === last ? true : undefined), 30_000, 100);
      await sleep(200);
      expect(errors.map((e) => e.code)).toContain('SLOW_CLIENT');
      expect(replays).toHaveLength(1);
      expect(replays[0]?.replayed).toBeGreaterThan(0);
      // Every order event exactly once, in seq order: what arrived before the disconnect and the replay join up.
      expect(received.map((o) => o.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(client.orders.duplicatesDropped.count).toBe(0);
      expect(client.state).toBe('connected');
    } finally {
      client.close();
    }
  }, 120_000);

  it('holds back gateway valuations for a watcher that fell behind: after what it is owed, only the latest per account, and none older than the positions it holds', async () => {
    const account = 'ACC-SLOW-3';
    const aapl = 'NASDAQ:AAPL';
    const { gateway, proxy } = await startBehindProxy(60_000, { VALUATION_INTERVAL_MS: '100' });
    const token = await hsToken({ sub: 'slow-valued', lic: FULL_LICENCE, accounts: [account] });
    const positions = await connectClient(proxy.url, NAMESPACES.positions, { auth: { token }, forceNew: true });
    // What the watcher receives, in order: engine positions and gateway valuations (the AAPL price they show).
    const received: { event: 'position' | 'valuation'; seq: number; price?: string }[] = [];
    positions.socket.on('position', (position: PositionFrame) => received.push({ event: 'position', seq: position.seq }));
    positions.socket.on('positions:valuation', (valuation: PositionsValuation) => received.push({ event: 'valuation', seq: valuation.seq, price: valuation.items.find((item) => item.symbol === aapl)?.marketPrice }));
    const errors = collect<WireError>(positions.socket, 'error');
    const publishQuote = (last: string) => natsPublisher.publish('md.quote.NASDAQ.AAPL', JSON.stringify({ bid: last, ask: last, bidSize: '1', askSize: '1', last, lastSize: '1', volume: '1', ts: Date.now() }));

    await redisPublisher.publish(`acct.${account}.position`, JSON.stringify(positionEvent(aapl, 10))); // marked at 101.00
    expect((await request(positions.socket, 'subscribe', { accounts: [account] })).ok).toBe(true);
    await waitFor('the valuer to hold the quotes', async () => ((await gateway.metric('tradewire_valuation_instruments', { price: 'realtime' })) >= 1 ? true : undefined));
    publishQuote('102.00');
    await waitFor('a first valuation', () => (received.some((r) => r.event === 'valuation' && r.price === '102.00') ? true : undefined), 10_000, 50);

    // The client stops reading; positions of other instruments (no quotes: never revalued) back its connection up.
    pause(proxy);
    const behind = () => gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.positions, action: 'behind' });
    let quantity = 0;
    for (let batch = 0; batch < 200 && (await behind()) === 0; batch++) {
      const pipeline = redisPublisher.pipeline();
      for (let round = 0; round < 500; round++) for (const symbol of SYMBOLS.slice(1)) pipeline.publish(`acct.${account}.position`, JSON.stringify(positionEvent(symbol, ++quantity)));
      await pipeline.exec();
      await sleep(20);
    }
    expect(await behind()).toBeGreaterThanOrEqual(1);

    // Held back: the price moves for a dozen valuation rounds; each builds a valuation the watcher is owed.
    const built = () => gateway.metric('tradewire_valuations_total', { namespace: NAMESPACES.positions });
    const written = () => gateway.metric('tradewire_messages_sent_total', { namespace: NAMESPACES.positions, event: 'positions:valuation' });
    const [builtBefore, writtenBefore] = [await built(), await written()];
    for (let tick = 1; tick <= 24; tick++) {
      publishQuote(`${103 + tick}.00`);
      await sleep(50);
    }
    await waitFor('valuations built while it is behind', async () => ((await built()) >= builtBefore + 5 ? true : undefined), 10_000, 100);
    // None written meanwhile: the latest waits for the watcher, the others were replaced.
    expect(await written()).toBeLessThanOrEqual(writtenBefore + 1);
    const lastPrice = '127.00';

    resume(proxy);
    await waitFor('the valuation at the last price', () => (received.at(-1)?.event === 'valuation' && received.at(-1)?.price === lastPrice ? true : undefined), 30_000, 100);
    await sleep(500);
    const afterStall = received.slice(received.findIndex((r) => r.event === 'valuation' && r.price === '102.00') + 1).filter((r) => r.event === 'valuation');
    // Of the dozen or more built during the stall: at most one written as it began, the latest held one, and, when the
    // last quote came after the stall's last valuation round, the next round's at the last price.
    expect(afterStall.length).toBeLessThanOrEqual(3);
    expect(afterStall.at(-1)?.price).toBe(lastPrice);
    // Never a valuation based on an older state than the positions the watcher had already been sent.
    let positionSeq = 0;
    for (const frame of received) {
      if (frame.event === 'position') positionSeq = Math.max(positionSeq, frame.seq);
      else expect(frame.seq).toBeGreaterThanOrEqual(positionSeq);
    }
    expect(errors).toEqual([]);
    expect(await gateway.metric('tradewire_slow_client_events_total', { namespace: NAMESPACES.positions, action: 'disconnected' })).toBe(0);
    positions.socket.io.engine.close();
  }, 120_000);
});
