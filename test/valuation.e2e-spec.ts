import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradewireClient, type Position } from '#libs/client';
import { NAMESPACES, type PortfolioValuation, type PositionsValuation } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, nextEvent, request, sleep } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * Live mark-to-market (docs/protocol.md §6.8) with a real gateway on a real NATS server: the engine publishes one
 * position and one portfolio, then only quotes; the gateway revalues them for whoever watches the account, through
 * the real SDK and real socket.io-client sockets. No client subscribes to market data: the gateway's own interest
 * brings the quotes in.
 */
const INTERVAL_MS = 500;
const DELAY_MS = 1_500;
const ACCOUNT = 'ACC-1001';
const AAPL = 'NASDAQ:AAPL';

const POSITION = {
  symbol: AAPL,
  quantity: '100',
  avgPrice: '180.00',
  marketPrice: '190.00',
  marketValue: '19000.00',
  unrealizedPnl: '1000.00',
  realizedPnl: '12.50',
  dayPnl: '50.00',
};
const PORTFOLIO = {
  currency: 'USD',
  equity: '100000.00',
  cash: '81000.00',
  buyingPower: '162000.00',
  marketValue: '19000.00',
  dayPnl: '50.00',
  totalPnl: '1012.50',
};

const licence = (exchanges: Record<string, string>) => ({ ...FULL_LICENCE, exchanges, features: [] });

describe('live mark-to-market', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let engine: NatsConnection;
  const sockets: Socket[] = [];

  /** An engine quote for AAPL whose `last` is `last`; returns its ts. */
  const publishQuote = (last: string, sizes = '100'): number => {
    const ts = Date.now();
    engine.publish('md.quote.NASDAQ.AAPL', JSON.stringify({ bid: last, ask: last, bidSize: sizes, askSize: sizes, last, lastSize: '1', volume: '1000', ts }));
    return ts;
  };

  /** A raw Socket.IO client watching the account on `namespace`, with what it receives from now on. */
  const watch = async (namespace: typeof NAMESPACES.positions | typeof NAMESPACES.portfolio, lic: Record<string, unknown>, sub: string) => {
    const { socket } = await connectClient(gateway.url, namespace, { auth: { token: await hsToken({ sub, lic, accounts: [ACCOUNT] }) } });
    sockets.push(socket);
    const snapshot = nextEvent<{ items?: unknown[]; portfolio?: unknown }>(socket, namespace === NAMESPACES.positions ? 'positions:snapshot' : 'portfolio:snapshot');
    const valuations = collect<PositionsValuation & PortfolioValuation>(socket, namespace === NAMESPACES.positions ? 'positions:valuation' : 'portfolio:valuation');
    const engineEvents = collect<unknown>(socket, namespace === NAMESPACES.positions ? 'position' : 'portfolio');
    const answer = await request(socket, 'subscribe', { accounts: [ACCOUNT] });
    expect(answer.ok).toBe(true);
    return { socket, snapshot: await snapshot, valuations, engineEvents };
  };
  const quotesHeld = () => waitFor('quotes held', async () => ((await gateway.metric('tradewire_valuation_instruments', { price: 'realtime' })) === 1 ? true : undefined));
  const pricesOf = (valuations: PositionsValuation[]) => valuations.map((v) => v.items.find((item) => item.symbol === AAPL)?.marketPrice);

  beforeAll(async () => {
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start({ NATS_URL: nats.url, VALUATION_INTERVAL_MS: String(INTERVAL_MS), MD_DELAY_MS: String(DELAY_MS) });
    engine = await connect({ servers: nats.url });
    engine.publish(`acct.${ACCOUNT}.position`, JSON.stringify({ ...POSITION, seq: 1, ts: Date.now() }));
    engine.publish(`acct.${ACCOUNT}.portfolio`, JSON.stringify({ ...PORTFOLIO, seq: 1, ts: Date.now() }));
    await engine.flush();
    // The gateway has the engine's state once a watcher's snapshot holds it.
    await waitFor('the engine position at the gateway', async () => {
      const probe = await watch(NAMESPACES.positions, FULL_LICENCE, 'probe');
      probe.socket.close();
      return (probe.snapshot.items?.length ?? 0) > 0 ? true : undefined;
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await engine?.close();
    await gateway?.stop();
    await nats?.stop();
  });

  it('revalues positions and portfolio in the SDK stores as quotes move, with no engine event and the seq unchanged', async () => {
    const client = new TradewireClient({ url: gateway.url, getToken: () => hsToken({ sub: 'sdk-trader', lic: FULL_LICENCE, accounts: [ACCOUNT] }), transports: ['websocket'] });
    try {
      const enginePositions: Position[] = [];
      const positionValuations: PositionsValuation[] = [];
      const positions = client.positions.subscribe({ accounts: [ACCOUNT] });
      positions.on('position', (position) => enginePositions.push(position));
      positions.on('valuation', (valuation) => positionValuations.push(valuation));
      const portfolio = client.portfolio.subscribe({ accounts: [ACCOUNT] });
      await waitFor('the snapshots', () => (client.positions.store.get(ACCOUNT, AAPL) && client.portfolio.store.get(ACCOUNT) ? true : undefined));
      // Over NATS the gateway subscribes to the quotes from the valuation round after the account is first watched.
      await quotesHeld();

      const quoteTs = publishQuote('191.25');
      await waitFor('the position at 191.25', () => (client.positions.store.get(ACCOUNT, AAPL)?.marketPrice === '191.25' ? true : undefined));
      expect(client.positions.store.get(ACCOUNT, AAPL)).toEqual({
        ...POSITION,
        account: ACCOUNT,
        seq: 1,
        ts: expect.any(Number) as number,
        marketPrice: '191.25',
        marketValue: '19125.00', // 100 × 191.25
        unrealizedPnl: '1125.00', // + (191.25 − 190.00) × 100
        dayPnl: '175.00',
        source: 'gateway',
        quoteTs,
        delayed: false,
      });
      await waitFor('the portfolio revalued', () => (client.portfolio.store.get(ACCOUNT)?.marketValue === '19125.00' ? true : undefined));
      expect(client.portfolio.store.get(ACCOUNT)).toMatchObject({ ...PORTFOLIO, marketValue: '19125.00', equity: '100125.00', dayPnl: '175.00', totalPnl: '1137.50', cash: '81000.00', source: 'gateway', quoteTs, seq: 1 });

      publishQuote('189.995');
      await waitFor('the position at 189.995', () => (client.positions.store.get(ACCOUNT, AAPL)?.marketPrice === '189.995' ? true : undefined));
      // Exact: 18999.5, written with the engine's two decimals (at least), never rounded.
      expect(client.positions.store.get(ACCOUNT, AAPL)).toMatchObject({ marketValue: '18999.50', unrealizedPnl: '999.50', dayPnl: '49.50' });

      // Derived, not engine facts: no `position` event, and the account's seq (what `since` resumes from) is the engine's.
      expect(enginePositions).toEqual([]);
      expect(client.positions.seqs()).toEqual({ [ACCOUNT]: 1 });
      expect(positionValuations.length).toBeGreaterThanOrEqual(2);
      expect(positionValuations.every((v) => v.source === 'gateway' && v.seq === 1)).toBe(true);
      portfolio.unsubscribe();
    } finally {
      client.close();
    }
  });

  it('values an account at most once per interval however many quotes arrive, and not at all when the price does not move', async () => {
    const trader = await watch(NAMESPACES.positions, FULL_LICENCE, 'trader');
    await quotesHeld();
    const start = Date.now();
    const burst = 40;
    for (let i = 1; i <= burst; i++) publishQuote((192 + i / 100).toFixed(2));
    await engine.flush();
    await waitFor('the last price of the burst', () => (pricesOf(trader.valuations).includes('192.40') ? true : undefined));
    const elapsed = Date.now() - start;
    // One timer round per interval at most: count the valuations, whatever the scheduling.
    expect(trader.valuations.length).toBeLessThanOrEqual(Math.floor(elapsed / INTERVAL_MS) + 1);
    expect(trader.valuations.length).toBeLessThan(burst / 4);
    expect(trader.valuations.at(-1)?.items).toEqual([expect.objectContaining({ marketPrice: '192.40', marketValue: '19240.00', source: 'gateway' })]);

    // Quotes whose `last` stays put (the book moves, sizes change) are no reason to revalue.
    const before = trader.valuations.length;
    for (let i = 0; i < 10; i++) publishQuote('192.40', String(200 + i));
    await engine.flush();
    await sleep(INTERVAL_MS * 3);
    publishQuote('192.41');
    await waitFor('the next move', () => (pricesOf(trader.valuations).includes('192.41') ? true : undefined));
    expect(pricesOf(trader.valuations.slice(before))).toEqual(['192.41']);
    expect(trader.engineEvents).toEqual([]);

    // A valuation never took a seq: resuming from the engine's seq replays nothing.
    const resumed = await connectClient(gateway.url, NAMESPACES.positions, { auth: { token: await hsToken({ sub: 'trader', lic: FULL_LICENCE, accounts: [ACCOUNT] }) } });
    sockets.push(resumed.socket);
    const caughtUp = collect<PositionsValuation>(resumed.socket, 'positions:valuation');
    const answer = await request(resumed.socket, 'subscribe', { accounts: [ACCOUNT], since: { [ACCOUNT]: 1 } });
    expect(answer).toEqual({ ok: true, data: { accounts: [{ account: ACCOUNT, seq: 1, replayed: 0, resetRequired: false }] } });
    // A watcher that just came holds the engine's figures: the next round brings it the current valuation, no quote needed.
    await waitFor('the newcomer valued', () => (caughtUp.length > 0 ? true : undefined));
    expect(pricesOf(caughtUp)).toEqual(['192.41']);
  });

  it('takes quantities and figures from each new engine event, and moves them from its mark', async () => {
    const trader = await watch(NAMESPACES.positions, FULL_LICENCE, 'trader-2');
    await quotesHeld();
    // The engine fills 50 more at 192.41 and marks the position there itself.
    const filled = { ...POSITION, quantity: '150', avgPrice: '184.1366', marketPrice: '192.41', marketValue: '28861.50', unrealizedPnl: '1241.01', dayPnl: '312.00' };
    engine.publish(`acct.${ACCOUNT}.position`, JSON.stringify({ ...filled, seq: 2, ts: Date.now() }));
    // With the portfolio that includes it, as an engine publishes them: 50 × 192.41 paid from cash.
    engine.publish(`acct.${ACCOUNT}.portfolio`, JSON.stringify({ ...PORTFOLIO, cash: '71379.50', marketValue: '28861.50', equity: '100241.00', dayPnl: '312.00', totalPnl: '1253.51', seq: 2, ts: Date.now() }));
    await waitFor('the engine event', () => (trader.engineEvents.length === 1 ? true : undefined));
    publishQuote('192.51');
    await waitFor('the move from the engine mark', () => (pricesOf(trader.valuations).includes('192.51') ? true : undefined));
    expect(trader.valuations.at(-1)?.items).toEqual([
      {
        ...filled,
        account: ACCOUNT,
        seq: 2,
        ts: expect.any(Number) as number,
        marketPrice: '192.51',
        marketValue: '28876.50', // + 0.10 × 150
        unrealizedPnl: '1256.01',
        dayPnl: '327.00',
        source: 'gateway',
        quoteTs: expect.any(Number) as number,
        delayed: false,
      },
    ]);
    expect(trader.valuations.at(-1)?.seq).toBe(2);
  });

  it('shares the engine subscription with market-data clients: either may leave without stopping the other', async () => {
    const trader = await watch(NAMESPACES.positions, FULL_LICENCE, 'trader-3');
    await quotesHeld();
    const md = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'md-user', lic: FULL_LICENCE }) } });
    sockets.push(md.socket);
    expect((await request(md.socket, 'subscribe', { instruments: [AAPL], channels: ['quote'] })).ok).toBe(true);
    expect((await request(md.socket, 'unsubscribe', { instruments: [AAPL] })).ok).toBe(true);
    // The market-data client's last subscription ended; the valuer's holds the instrument's quotes in.
    publishQuote('193.10');
    await waitFor('a valuation after the client left', () => (pricesOf(trader.valuations).includes('193.10') ? true : undefined));

    // And the other way round: the valuer lets go (nobody watches), the market-data client keeps its quotes.
    expect((await request(md.socket, 'subscribe', { instruments: [AAPL], channels: ['quote'] })).ok).toBe(true);
    const quotes = collect<{ data: { last: string } }[]>(md.socket, 'md');
    const watching = sockets.filter((socket) => socket !== md.socket);
    for (const socket of watching) socket.close();
    sockets.splice(0, sockets.length, md.socket);
    await waitFor('quotes released by the valuer', async () => ((await gateway.metric('tradewire_valuation_instruments', { price: 'realtime' })) === 0 ? true : undefined));
    publishQuote('193.20');
    await waitFor('the quote after the valuer left', () => (quotes.flat().some((message) => message.data.last === '193.20') ? true : undefined));
  });

  it('shows a delayed licence the delayed price and a licence without the exchange nothing', async () => {
    const realtime = await watch(NAMESPACES.positions, FULL_LICENCE, 'rt-user');
    const delayed = await watch(NAMESPACES.positions, licence({ NASDAQ: 'delayed' }), 'delayed-user');
    const delayedPortfolio = await watch(NAMESPACES.portfolio, licence({ NASDAQ: 'delayed' }), 'delayed-user');
    const elsewhere = await watch(NAMESPACES.positions, licence({ LSE: 'realtime' }), 'lse-user');
    expect(elsewhere.snapshot.items).toHaveLength(1); // it does watch the account: the engine's figures, not the gateway's
    // The delay line records from the valuation round after the delayed watcher came.
    await waitFor('delayed quotes recorded', async () => ((await gateway.metric('tradewire_valuation_instruments', { price: 'delayed' })) === 1 ? true : undefined));

    const quoteTs = publishQuote('195.00');
    await waitFor('the real-time valuation', () => (pricesOf(realtime.valuations).includes('195.00') ? true : undefined));
    // The delayed price is the one of MD_DELAY_MS ago: 195.00 is not shown to the delayed licence yet.
    expect(pricesOf(delayed.valuations)).not.toContain('195.00');
    await waitFor('the delayed valuation', () => (pricesOf(delayed.valuations).includes('195.00') ? true : undefined), DELAY_MS * 4);
    const shown = delayed.valuations.find((v) => v.items[0]?.marketPrice === '195.00');
    expect(shown?.items[0]).toMatchObject({ marketValue: '29250.00', delayed: true, quoteTs, source: 'gateway' }); // 150 × 195.00
    expect(delayed.valuations.every((v) => v.items.every((item) => item.delayed))).toBe(true);
    expect(realtime.valuations.every((v) => v.items.every((item) => !item.delayed))).toBe(true);
    // The engine's portfolio moved by the position's move from the engine's mark: (195.00 − 192.41) × 150 = 388.50.
    await waitFor('the delayed portfolio', () => (delayedPortfolio.valuations.some((v) => v.portfolio.marketValue === '29250.00') ? true : undefined), DELAY_MS * 4);
    expect(delayedPortfolio.valuations.find((v) => v.portfolio.marketValue === '29250.00')?.portfolio).toMatchObject({ equity: '100629.50', cash: '71379.50', dayPnl: '700.50', totalPnl: '1642.01', seq: 2, quoteTs });
    expect(delayedPortfolio.valuations.every((v) => v.portfolio.delayed)).toBe(true);

    expect(elsewhere.valuations).toEqual([]);
  });

  it('holds the quotes of watched accounts only while someone watches', async () => {
    expect(await gateway.metric('tradewire_valuation_instruments', { price: 'realtime' })).toBe(1);
    expect(await gateway.metric('tradewire_valuation_instruments', { price: 'delayed' })).toBe(1);
    for (const socket of sockets.splice(0)) socket.close();
    await waitFor('quotes released', async () => ((await gateway.metric('tradewire_valuation_instruments', { price: 'realtime' })) === 0 ? true : undefined));
    expect(await gateway.metric('tradewire_valuation_instruments', { price: 'delayed' })).toBe(0);
    expect(await gateway.metric('tradewire_valuation_accounts')).toBe(0);
    expect(await gateway.metric('tradewire_valuations_total', { namespace: NAMESPACES.positions })).toBeGreaterThan(0);
  });
});

describe('live mark-to-market on the built-in simulator', () => {
  let gateway: GatewayProcess;
  afterAll(async () => {
    await gateway?.stop();
  });

  it('moves the simulated positions with the simulated quotes between fills', async () => {
    // The simulator sends positions on fills only; the gateway marks them to its quotes in between.
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'simulator', SIMULATOR: 'on', SIMULATOR_RATE: '2000', SIMULATOR_ORDER_RATE: '40', VALUATION_INTERVAL_MS: String(INTERVAL_MS) });
    const accounts = ['ACC-1001', 'ACC-1002', 'ACC-1003'];
    const { socket } = await connectClient(gateway.url, NAMESPACES.positions, { auth: { token: await hsToken({ sub: 'sim-watcher', lic: FULL_LICENCE, accounts }) } });
    try {
      const valuations = collect<PositionsValuation>(socket, 'positions:valuation');
      expect((await request(socket, 'subscribe', { accounts })).ok).toBe(true);
      await waitFor('a valuation of a simulated position', () => (valuations.length > 0 ? true : undefined), 20_000);
      const item = valuations[0]?.items[0];
      expect(item).toMatchObject({ source: 'gateway', delayed: false });
      expect(item?.marketPrice).toMatch(/^\d+\.\d+$/);
    } finally {
      socket.close();
    }
  });
});

describe('live mark-to-market over the Redis engine transport', () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let engine: Redis;
  afterAll(async () => {
    engine?.disconnect();
    await gateway?.stop();
    await redis?.stop();
  });

  it('revalues the portfolio from quotes published on Redis, with no engine event', async () => {
    redis = await RedisServer.start();
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url, VALUATION_INTERVAL_MS: String(INTERVAL_MS) });
    engine = new Redis(redis.url);
    await engine.publish(`acct.${ACCOUNT}.position`, JSON.stringify({ ...POSITION, seq: 1, ts: Date.now() }));
    await engine.publish(`acct.${ACCOUNT}.portfolio`, JSON.stringify({ ...PORTFOLIO, seq: 1, ts: Date.now() }));
    const { socket } = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await hsToken({ sub: 'redis-watcher', lic: FULL_LICENCE, accounts: [ACCOUNT] }) } });
    try {
      const valuations = collect<PortfolioValuation>(socket, 'portfolio:valuation');
      await waitFor('the engine portfolio at the gateway', async () => {
        const answer = await request(socket, 'subscribe', { accounts: [ACCOUNT] });
        return answer.ok && answer.data.accounts[0]?.seq === 1 ? true : undefined;
      });
      const engineEvents = collect<unknown>(socket, 'portfolio'); // from the state at seq 1 on
      // Redis delivers every quote (pattern subscription): the valuer needs no engine subscription of its own.
      const quoteTs = Date.now();
      await waitFor('the revalued portfolio', async () => {
        await engine.publish('md.quote.NASDAQ.AAPL', JSON.stringify({ bid: '190.49', ask: '190.51', bidSize: '1', askSize: '1', last: '190.50', lastSize: '1', volume: '1', ts: quoteTs }));
        return valuations.length > 0 ? true : undefined;
      });
      expect(valuations[0]).toMatchObject({ account: ACCOUNT, seq: 1, source: 'gateway', portfolio: { ...PORTFOLIO, marketValue: '19050.00', equity: '100050.00', dayPnl: '100.00', totalPnl: '1062.50', quoteTs, seq: 1 } });
      expect(engineEvents).toEqual([]);
    } finally {
      socket.close();
    }
  });
});
