import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookChecksum, NAMESPACES, type MdMessage, type WireError } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, nextEvent, request, sleep } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const quote = (last: string, ts = Date.now()) => ({ bid: '189.50', ask: '189.52', bidSize: '300', askSize: '200', last, lastSize: '10', volume: '123456', ts });

type Publish = (subject: string, payload: unknown) => Promise<void> | void;

/** The same behaviour is required whichever transport the engine uses. */
function engineTransportSuite(name: 'nats' | 'redis', setup: () => Promise<{ gateway: GatewayProcess; publish: Publish; publishRaw: (subject: string, raw: string) => Promise<void> | void; teardown: () => Promise<void> }>) {
  describe(`engine over ${name}`, () => {
    let gateway: GatewayProcess;
    let publish: Publish;
    let publishRaw: (subject: string, raw: string) => Promise<void> | void;
    let teardown: () => Promise<void>;

    beforeAll(async () => {
      ({ gateway, publish, publishRaw, teardown } = await setup());
    });
    afterAll(async () => {
      await teardown();
    });

    const mdClient = async (sub: string) => connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub, lic: FULL_LICENCE }) } });

    it('delivers a quote to the subscribed client only, snapshot first then updates', async () => {
      const a = await mdClient('alice');
      const b = await mdClient('bob');
      const subA = await request(a.socket, 'subscribe', { instruments: ['NASDAQ:AAPL', 'NASDAQ:NOPE'], channels: ['quote'] });
      expect(subA.ok).toBe(true);
      if (!subA.ok) return;
      expect(subA.data.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:AAPL']);
      expect(subA.data.rejected).toEqual([expect.objectContaining({ instrument: 'NASDAQ:NOPE', channel: 'quote', code: 'UNKNOWN_SYMBOL' })]);
      await request(b.socket, 'subscribe', { instruments: ['NASDAQ:MSFT'], channels: ['quote'] });
      const framesA = collect<MdMessage[]>(a.socket, 'md');
      const framesB = collect<MdMessage[]>(b.socket, 'md');

      await publish('md.quote.NASDAQ.AAPL', quote('189.51'));
      await publish('md.quote.NASDAQ.AAPL', { ...quote('189.55'), last: 189.55, volume: 123466 });
      await waitFor('two AAPL messages', () => (framesA.flat().length >= 2 ? true : undefined), 5_000);
      const messages = framesA.flat();
      expect(messages[0]).toMatchObject({ stream: 'quote:NASDAQ:AAPL', type: 'snapshot', seq: 1, data: { last: '189.51' } });
      expect(messages[1]).toMatchObject({ stream: 'quote:NASDAQ:AAPL', type: 'update', seq: 2, data: { last: '189.55', volume: '123466' } });
      await sleep(200);
      expect(framesB.flat().filter((m) => m.stream === 'quote:NASDAQ:AAPL')).toEqual([]);

      // A late subscriber gets the last value as its snapshot.
      const late = await mdClient('carol');
      const lateFrames = collect<MdMessage[]>(late.socket, 'md');
      const subLate = await request(late.socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
      expect(subLate.ok && subLate.data.subscribed[0]?.seq).toBe(2);
      await waitFor('late snapshot', () => (lateFrames.length > 0 ? true : undefined));
      expect(lateFrames[0]?.[0]).toMatchObject({ type: 'snapshot', seq: 2, data: { last: '189.55' } });
      for (const c of [a, b, late]) c.socket.close();
    });

    it('drops and counts malformed engine events, and the stream goes on', async () => {
      const client = await mdClient('dave');
      await request(client.socket, 'subscribe', { instruments: ['NYSE:IBM'], channels: ['quote'] });
      const frames = collect<MdMessage[]>(client.socket, 'md');
      const before = await gateway.metric('tradewire_engine_events_malformed_total', { kind: 'quote', reason: 'invalid_fields' });
      await publishRaw('md.quote.NYSE.IBM', '{not json');
      await publish('md.quote.NYSE.IBM', { bid: 'abc', ts: Date.now() });
      await publish('md.quote.NYSE.IBM', { ...quote('171.00'), ts: 'yesterday' });
      await publish('md.quote.NYSE.IBM', quote('171.25'));
      await waitFor('the good quote', () => (frames.flat().length >= 1 ? true : undefined));
      const received = frames.flat();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ stream: 'quote:NYSE:IBM', seq: 1, data: { last: '171.25' } });
      await waitFor('malformed counted', async () => ((await gateway.metric('tradewire_engine_events_malformed_total', { kind: 'quote', reason: 'invalid_fields' })) >= before + 2 ? true : undefined));
      expect(await gateway.metric('tradewire_engine_events_malformed_total', { kind: 'quote', reason: 'invalid_json' })).toBeGreaterThanOrEqual(1);
      expect(client.socket.connected).toBe(true);
      client.socket.close();
    });

    it('streams account events: snapshot then live, every tab of the user, nobody else', async () => {
      const trader = await hsToken({ sub: 'trader-1', accounts: ['ACC-1001'] });
      const tab1 = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: trader } });
      // The second tab long-polls: its frames go through engine.io's own queue, not straight to a WebSocket.
      const tab2 = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: trader }, transports: ['polling'] });
      const stranger = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'nile', tenant: 'nile-partners', accounts: ['ACC-2001'] }) } });
      const forbidden = await request(stranger.socket, 'subscribe', { accounts: ['ACC-1001'] });
      expect(forbidden).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403 } });
      await request(stranger.socket, 'subscribe', {});

      const order = { orderId: 'O-1', clientOrderId: 'c-1', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '100', filledQuantity: '0', leavesQuantity: '100', price: '189.50' };
      await publish('acct.ACC-1001.order', { ...order, ts: Date.now() });
      await sleep(300); // the first event lands before anyone subscribes: it must come back in the snapshot

      const snapshot = nextEvent<{ account: string; seq: number; items: unknown[] }>(tab1.socket, 'orders:snapshot');
      const sub1 = await request(tab1.socket, 'subscribe', {});
      expect(sub1).toMatchObject({ ok: true, data: { accounts: [{ account: 'ACC-1001', seq: 1, replayed: 0, resetRequired: false }] } });
      expect(await snapshot).toMatchObject({ account: 'ACC-1001', seq: 1, items: [expect.objectContaining({ orderId: 'O-1', seq: 1 })] });
      const snapshot2 = nextEvent<{ account: string; seq: number; items: unknown[] }>(tab2.socket, 'orders:snapshot');
      await request(tab2.socket, 'subscribe', { accounts: ['ACC-1001'] });
      expect(await snapshot2).toEqual(await snapshot);

      const live1 = collect<{ seq: number; status: string }>(tab1.socket, 'order');
      const live2 = collect<{ seq: number; status: string }>(tab2.socket, 'order');
      const strangerOrders = collect(stranger.socket, 'order');
      await publish('acct.ACC-1001.order', { ...order, status: 'partially_filled', execType: 'trade', filledQuantity: '40', leavesQuantity: '60', lastFillPrice: '189.50', lastFillQuantity: '40', ts: Date.now() });
      await publish('acct.ACC-1001.order', { ...order, status: 'filled', execType: 'trade', filledQuantity: '100', leavesQuantity: '0', ts: Date.now() });
      await waitFor('both tabs got both', () => (live1.length >= 2 && live2.length >= 2 ? true : undefined));
      expect(live1.map((e) => [e.seq, e.status])).toEqual([[2, 'partially_filled'], [3, 'filled']]);
      expect(live2.map((e) => [e.seq, e.status])).toEqual([[2, 'partially_filled'], [3, 'filled']]);
      await sleep(200);
      expect(strangerOrders).toEqual([]);
      expect(live1.length).toBe(2); // exactly once

      // A reconnecting tab with `since` gets what it missed, replayed in order.
      const back = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: trader } });
      const replayed = collect<{ seq: number }>(back.socket, 'order');
      const resumed = await request(back.socket, 'subscribe', { since: { 'ACC-1001': 1 } });
      expect(resumed).toMatchObject({ ok: true, data: { accounts: [{ account: 'ACC-1001', seq: 3, replayed: 2, resetRequired: false }] } });
      await waitFor('replay', () => (replayed.length >= 2 ? true : undefined));
      expect(replayed.map((e) => e.seq)).toEqual([2, 3]);
      for (const c of [tab1, tab2, stranger, back]) c.socket.close();
    });

    it('lets a supervisor see every account of its tenant, and only those', async () => {
      const supervisor = await connectClient(gateway.url, NAMESPACES.portfolio, { auth: { token: await hsToken({ sub: 'boss', accounts: [], roles: ['supervisor'] }) } });
      const all = await request(supervisor.socket, 'subscribe', {});
      expect(all.ok && all.data.accounts.map((a) => a.account).sort()).toEqual(['ACC-1001', 'ACC-1002', 'ACC-1003']);
      const other = await request(supervisor.socket, 'subscribe', { accounts: ['ACC-2001'] });
      expect(other).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      const updates = collect<{ account: string; equity: string }>(supervisor.socket, 'portfolio');
      await publish('acct.ACC-1003.portfolio', { currency: 'USD', equity: 1000.5, cash: '500', buyingPower: '1000', marketValue: '500.5', dayPnl: '-3.25', totalPnl: '10', ts: Date.now() });
      await waitFor('portfolio update', () => (updates.length > 0 ? true : undefined));
      expect(updates[0]).toMatchObject({ account: 'ACC-1003', equity: '1000.5', seq: 1 });
      const errors = collect<WireError>(supervisor.socket, 'error');
      await sleep(50);
      expect(errors).toEqual([]);
      supervisor.socket.close();
    });

    it('keeps an order book from snapshot and deltas, with checksums and gap recovery by resync', async () => {
      const client = await mdClient('erin');
      const frames = collect<MdMessage<'book'>[]>(client.socket, 'md');
      await request(client.socket, 'subscribe', { instruments: ['LSE:VOD'], channels: ['book'], depth: 10 });
      await publish('md.book.LSE.VOD', { type: 'snapshot', bids: [['71.28', '1000'], ['71.26', '500']], asks: [['71.32', '800'], ['71.34', '1200']], ts: Date.now() });
      await waitFor('book snapshot', () => (frames.flat().length >= 1 ? true : undefined));
      await publish('md.book.LSE.VOD', { type: 'delta', bids: [['71.28', '0'], ['71.30', '250']], asks: [], ts: Date.now() });
      await waitFor('snapshot and update', () => (frames.flat().length >= 2 ? true : undefined));
      const [snap, update] = frames.flat() as [MdMessage<'book'>, MdMessage<'book'>];
      expect(snap.type).toBe('snapshot');
      expect(snap.data.bids).toEqual([['71.28', '1000'], ['71.26', '500']]);
      expect(update).toMatchObject({ type: 'update', prevSeq: snap.seq, seq: snap.seq + 1 });
      expect(update.data.bids).toEqual(expect.arrayContaining([['71.30', '250'], ['71.28', '0']]));
      // The client plays its part: apply the update, check the checksum, resync on a gap.
      const bids = new Map(snap.data.bids);
      for (const [price, size] of update.data.bids) if (size === '0') bids.delete(price); else bids.set(price, size);
      const sortedBids = [...bids].sort((x, y) => Number(y[0]) - Number(x[0]));
      expect(bookChecksum(snap.data.asks, sortedBids)).toBe(update.data.checksum);
      const resynced = await request(client.socket, 'resync', { stream: 'book:LSE:VOD' });
      expect(resynced).toMatchObject({ ok: true, data: { seq: update.seq } });
      await waitFor('fresh snapshot', () => (frames.flat().length >= 3 ? true : undefined));
      expect(frames.flat()[2]).toMatchObject({ type: 'snapshot', seq: update.seq, data: { bids: [['71.30', '250'], ['71.26', '500']] } });
      client.socket.close();
    });

    it('merges book deltas for a throttled subscriber into one update with the net change', async () => {
      const client = await mdClient('gina');
      const frames = collect<MdMessage<'book'>[]>(client.socket, 'md');
      await request(client.socket, 'subscribe', { instruments: ['LSE:HSBA'], channels: ['book'], throttleMs: 300 });
      await publish('md.book.LSE.HSBA', { type: 'snapshot', bids: [['688.0', '100'], ['687.9', '200']], asks: [['688.2', '300']], ts: Date.now() });
      await waitFor('snapshot', () => (frames.flat().length >= 1 ? true : undefined));
      // Four deltas inside one throttle interval: a level appears and goes, another changes twice.
      await publish('md.book.LSE.HSBA', { type: 'delta', bids: [['688.1', '50']], asks: [], ts: Date.now() });
      await publish('md.book.LSE.HSBA', { type: 'delta', bids: [['688.0', '150']], asks: [], ts: Date.now() });
      await publish('md.book.LSE.HSBA', { type: 'delta', bids: [['688.1', '0']], asks: [], ts: Date.now() });
      await publish('md.book.LSE.HSBA', { type: 'delta', bids: [['688.0', '175']], asks: [['688.3', '10']], ts: Date.now() });
      await waitFor('merged update', () => (frames.flat().length >= 2 ? true : undefined), 3_000);
      await sleep(500);
      const [snapshot, update, ...rest] = frames.flat();
      expect(rest).toEqual([]);
      expect(update).toMatchObject({ type: 'update', prevSeq: snapshot?.seq, seq: (snapshot?.seq ?? 0) + 1 });
      expect(update?.data.bids).toEqual([['688.0', '175']]);
      expect(update?.data.asks).toEqual([['688.3', '10']]);
      expect(update?.data.checksum).toBe(bookChecksum([['688.2', '300'], ['688.3', '10']], [['688.0', '175'], ['687.9', '200']]));
      client.socket.close();
    });

    it('accepts upper-case enums from an engine (BUY, LIMIT, NEW) and delivers them in the lower case of the contract', async () => {
      const trader = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'fix-trader', accounts: ['ACC-1002'] }) } });
      expect(await request(trader.socket, 'subscribe', { accounts: ['ACC-1002'] })).toMatchObject({ ok: true });
      const orders = collect<{ orderId: string; side: string; type: string; status: string; execType: string }>(trader.socket, 'order');
      const order = { orderId: 'FIX-1', clientOrderId: 'fix-c-1', symbol: 'NASDAQ:MSFT', side: 'BUY', type: 'LIMIT', status: 'NEW', execType: 'NEW', quantity: '10', filledQuantity: '0', leavesQuantity: '10', price: '410.10' };
      await publish('acct.ACC-1002.order', { ...order, ts: Date.now() });
      await publish('acct.ACC-1002.order', { ...order, side: 'Sell', type: 'STOP_LIMIT', status: 'PARTIALLY_FILLED', execType: 'TRADE', ts: Date.now() });
      await waitFor('both order events', () => (orders.length >= 2 ? true : undefined));
      expect(orders.map(({ side, type, status, execType }) => ({ side, type, status, execType }))).toEqual([
        { side: 'buy', type: 'limit', status: 'new', execType: 'new' },
        { side: 'sell', type: 'stop_limit', status: 'partially_filled', execType: 'trade' },
      ]);

      const watcher = await mdClient('fix-watcher');
      const frames = collect<MdMessage[]>(watcher.socket, 'md');
      expect(await request(watcher.socket, 'subscribe', { instruments: ['NASDAQ:MSFT'], channels: ['trade'] })).toMatchObject({ ok: true });
      await publish('md.trade.NASDAQ.MSFT', { price: '410.12', size: '5', side: 'SELL', tradeId: 'FIX-T-1', ts: Date.now() });
      const trade = await waitFor('the trade', () => frames.flat().find((m) => m.stream === 'trade:NASDAQ:MSFT'));
      expect(trade.data).toMatchObject({ price: '410.12', side: 'sell', tradeId: 'FIX-T-1' });
      for (const kind of ['order', 'trade']) expect(await gateway.metric('tradewire_engine_events_malformed_total', { kind, reason: 'invalid_fields' })).toBe(0);
      trader.socket.close();
      watcher.socket.close();
    });

    it('conflates throttled quotes to the latest, keeps every trade, and sends each flush as one frame', async () => {
      const client = await mdClient('hana');
      const frames = collect<MdMessage[]>(client.socket, 'md');
      const throttleMs = 250;
      const answer = await request(client.socket, 'subscribe', { instruments: ['NYSE:KO', 'NYSE:JPM'], channels: ['quote', 'trade'], throttleMs });
      expect(answer.ok && answer.data.subscribed.map((s) => s.throttleMs)).toEqual([throttleMs, throttleMs, throttleMs, throttleMs]);
      const started = Date.now();
      const rounds = 40;
      for (let i = 1; i <= rounds; i++) {
        for (const symbol of ['KO', 'JPM']) {
          await publish(`md.quote.NYSE.${symbol}`, quote(`60.${String(i).padStart(2, '0')}`));
          await publish(`md.trade.NYSE.${symbol}`, { price: `60.${String(i).padStart(2, '0')}`, size: '10', side: 'buy', tradeId: `${symbol}-${i}`, ts: Date.now() });
        }
        if (i % 10 === 0) await sleep(100);
      }
      const isLast = (m: MdMessage) => m.stream.startsWith('quote:') && (m.data as { last?: string }).last === `60.${rounds}`;
      await waitFor('both final quotes', () => (frames.flat().filter(isLast).length === 2 ? true : undefined), 5_000);
      await waitFor('every trade', () => (frames.flat().filter((m) => m.stream.startsWith('trade:')).length === 2 * rounds ? true : undefined), 5_000);
      const elapsed = Date.now() - started;
      const messages = frames.flat();

      // Trades: all of them, in order, never conflated.
      for (const symbol of ['KO', 'JPM']) {
        const seqs = messages.filter((m) => m.stream === `trade:NYSE:${symbol}`).map((m) => m.seq);
        expect(seqs).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
      }
      // Quotes: at most one per stream per frame and per interval (plus the first), and the latest value last.
      for (const symbol of ['KO', 'JPM']) {
        const quotes = messages.filter((m) => m.stream === `quote:NYSE:${symbol}`);
        expect(quotes.length).toBeLessThanOrEqual(Math.ceil(elapsed / throttleMs) + 1);
        expect(quotes.length).toBeLessThan(rounds);
        expect(quotes.at(-1)).toMatchObject({ seq: rounds, data: { last: `60.${rounds}` } });
      }
      for (const frame of frames) {
        const streams = frame.map((m) => m.stream).filter((s) => s.startsWith('quote:'));
        expect(new Set(streams).size).toBe(streams.length);
      }
      // Batching: far fewer frames than messages.
      expect(frames.length).toBeLessThan(messages.length / 2);
      client.socket.close();
    });

    it('answers subscribe with each exchange session from the calendars, and relays engine halts', async () => {
      const { TradingCalendar } = await import('../src/market-data/trading-calendar.js');
      const calendar = TradingCalendar.fromFile(new URL('../data/trading-calendars.json', import.meta.url).pathname);
      const client = await mdClient('frank');
      const answer = await request(client.socket, 'subscribe', { instruments: ['BINANCE:BTCUSDT', 'NYSE:KO'], channels: ['quote'] });
      expect(answer.ok).toBe(true);
      if (!answer.ok) return;
      const byExchange = Object.fromEntries(answer.data.sessions.map((s) => [s.exchange, s]));
      expect(byExchange.BINANCE).toMatchObject({ status: 'OPEN' });
      expect(byExchange.NYSE?.status).toBe(calendar.statusAt('NYSE', Date.now()).status);

      const session = nextEvent<{ exchange: string; status: string; since: number }>(client.socket, 'session');
      const haltedAt = Date.now();
      await publish('md.session.NYSE', { status: 'HALTED', ts: haltedAt });
      expect(await session).toMatchObject({ exchange: 'NYSE', status: 'HALTED', since: haltedAt });
      const again = await request(client.socket, 'subscribe', { instruments: ['NYSE:KO'], channels: ['trade'] });
      expect(again.ok && again.data.sessions).toEqual([expect.objectContaining({ exchange: 'NYSE', status: 'HALTED' })]);
      client.socket.close();
    });

    it('reports the engine link in readiness', async () => {
      const ready = (await (await fetch(`${gateway.url}/health/ready`)).json()) as { status: string; details: Record<string, { status: string }> };
      expect(ready.status).toBe('ok');
      expect(ready.details.engine?.status).toBe('up');
    });
  });
}

describe('interest-based engine subscriptions over NATS', () => {
  it('receives an instrument only while a local client wants it', async () => {
    const nats = await NatsServer.start();
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url });
    const publisher = await connect({ servers: nats.url });
    const send = async (last: string) => {
      publisher.publish('md.quote.NYSE.JPM', JSON.stringify(quote(last)));
      await publisher.flush();
      await sleep(150);
    };
    const received = () => gateway.metric('tradewire_engine_events_total', { kind: 'quote', transport: 'nats' });
    try {
      await send('198.40');
      expect(await received()).toBe(0); // nobody wants JPM: the replica is not even subscribed

      const tab1 = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ lic: FULL_LICENCE }) } });
      const tab2 = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ lic: FULL_LICENCE }) } });
      const frames = collect<MdMessage[]>(tab1.socket, 'md');
      await request(tab1.socket, 'subscribe', { instruments: ['NYSE:JPM'], channels: ['quote'] });
      await request(tab2.socket, 'subscribe', { instruments: ['NYSE:JPM'], channels: ['quote'] });
      await send('198.41');
      expect(await received()).toBe(1);
      expect(frames.flat()[0]).toMatchObject({ type: 'snapshot', data: { last: '198.41' } });

      await request(tab1.socket, 'unsubscribe', { instruments: ['NYSE:JPM'] });
      await send('198.42');
      expect(await received()).toBe(2); // tab2 still wants it

      tab2.socket.close(); // the last one leaves by disconnecting
      await sleep(200);
      await send('198.43');
      expect(await received()).toBe(2);
      tab1.socket.close();
    } finally {
      await publisher.close();
      await gateway.stop();
      await nats.stop();
    }
  });
});

engineTransportSuite('nats', async () => {
  const nats = await NatsServer.start();
  const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url });
  const publisher: NatsConnection = await connect({ servers: nats.url });
  return {
    gateway,
    publish: async (subject, payload) => {
      publisher.publish(subject, JSON.stringify(payload));
      await publisher.flush();
    },
    publishRaw: async (subject, raw) => {
      publisher.publish(subject, raw);
      await publisher.flush();
    },
    teardown: async () => {
      await publisher.close();
      await gateway.stop();
      await nats.stop();
    },
  };
});

engineTransportSuite('redis', async () => {
  const redis = await RedisServer.start();
  const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'redis', REDIS_URL: redis.url });
  const publisher = new Redis(redis.url);
  return {
    gateway,
    publish: async (subject, payload) => {
      await publisher.publish(subject, JSON.stringify(payload));
    },
    publishRaw: async (subject, raw) => {
      await publisher.publish(subject, raw);
    },
    teardown: async () => {
      publisher.disconnect();
      await gateway.stop();
      await redis.stop();
    },
  };
});

describe('licences at subscribe', () => {
  it('gives a production token without a licence nothing, and says so per item', async () => {
    const nats = await NatsServer.start();
    const gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url, NODE_ENV: 'production' });
    try {
      const { socket, welcome } = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken() } });
      expect(welcome.entitlements).toMatchObject({ tier: 'none', channels: [] });
      const answer = await request(socket, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade'] });
      expect(answer).toMatchObject({ ok: true, data: { subscribed: [], rejected: [{ code: 'NOT_ENTITLED', channel: 'quote' }, { code: 'NOT_ENTITLED', channel: 'trade' }] } });
      socket.close();
    } finally {
      await gateway.stop();
      await nats.stop();
    }
  });
});
