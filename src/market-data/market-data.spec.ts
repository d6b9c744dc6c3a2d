import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_SUBJECTS, mdSubject, type MdMessage } from '#libs/contracts';
import { EngineRoutes, InProcessContext, STREAM_KINDS } from '#libs/realtime';
import { UsageMeter } from '#libs/observability';
import { EngineEventTaps } from '../engine/engine-event-taps.js';
import { eventually, gatewayContext, LoopbackNamespace, UNIT_LICENCE, unitUser } from '../../test/support/app-context.js';
import { BookChannel } from './channels/book.channel.js';
import { QuoteChannel } from './channels/quote.channel.js';
import { StatusChannel } from './channels/status.channel.js';
import { TradeChannel } from './channels/trade.channel.js';
import { MarketDataChannels } from './market-data-channels.js';
import { MarketDataService } from './market-data.service.js';

const AAPL = 'NASDAQ:AAPL';
const quote = (bid: number) => ({ bid, ask: bid + 0.02, bidSize: 100, askSize: 200, last: bid + 0.01, lastSize: 10, volume: 1_000, ts: Date.now() });

/**
 * The market-data channels and the service in the gateway's real module graph (Nest's injector, the registry of stream
 * kinds, the engine routes), with a real Socket.IO namespace and client: engine events go in through the routes the
 * transports use, frames come out of the fan-out to the client.
 */
describe('market-data channels and service', () => {
  let app: INestApplicationContext;
  let loopback: LoopbackNamespace;
  let service: MarketDataService;

  function engineEvent(subject: string, pattern: string, payload: unknown): void {
    const handle = app.get(EngineRoutes).handlerFor(pattern);
    if (!handle) throw new Error(`no hot route for ${pattern}`);
    handle(payload, new InProcessContext([subject]));
  }

  beforeAll(async () => {
    app = await gatewayContext({});
    loopback = await LoopbackNamespace.open('/market-data');
    service = app.get(MarketDataService);
    service.attach(loopback.namespace);
  });
  afterAll(async () => {
    await loopback.close();
    await app.close();
  });

  it('finds every channel of the registry with its fan-out mode', () => {
    const channels = app.get(MarketDataChannels);
    expect(channels.get('quote')).toBe(app.get(QuoteChannel));
    expect(channels.get('trade')).toBe(app.get(TradeChannel));
    expect(channels.get('book')).toBe(app.get(BookChannel));
    expect(channels.get('status')).toBe(app.get(StatusChannel));
    expect(channels.fanoutKind('quote', false)).toBe(STREAM_KINDS.state);
    expect(channels.fanoutKind('trade', false)).toBe(STREAM_KINDS.events);
    expect(channels.fanoutKind('book', false)).toBe(STREAM_KINDS.deltas);
    // Delayed books go out as a snapshot per release: conflated, never resynced.
    expect(channels.fanoutKind('book', true)).toBe(STREAM_KINDS.state);
  });

  it('quote: the first event is the snapshot, the next an update, a resync the current state again', async () => {
    const { socket, md } = await loopback.connect(unitUser(), UNIT_LICENCE);
    const answer = await service.subscribe(socket, { instruments: [AAPL], channels: ['quote'] });
    expect(answer.rejected).toEqual([]);
    const subject = mdSubject('quote', 'NASDAQ', 'AAPL');
    engineEvent(subject, ENGINE_SUBJECTS.quote, quote(190));
    engineEvent(subject, ENGINE_SUBJECTS.quote, quote(191));
    await eventually(() => md.length >= 2);
    const [first, second] = md as [MdMessage<'quote'>, MdMessage<'quote'>];
    expect(first).toMatchObject({ stream: `quote:${AAPL}`, type: 'snapshot', data: { bid: '190' } });
    expect(second).toMatchObject({ stream: `quote:${AAPL}`, type: 'update', seq: first.seq + 1, data: { bid: '191' } });
    expect(service.resync(socket, `quote:${AAPL}`)).toEqual({ stream: `quote:${AAPL}`, seq: second.seq });
    await eventually(() => md.length >= 3);
    expect(md[2]).toMatchObject({ type: 'snapshot', seq: second.seq, data: { bid: '191' } });
  });

  it('book: a delta before any snapshot is dropped; a group gets its depth and updates with prevSeq', async () => {
    const book = app.get(BookChannel);
    const subject = mdSubject('book', 'NASDAQ', 'AAPL');
    expect(book.onEngineEvent(subject, { ts: Date.now(), type: 'delta', bids: [['1', '1']], asks: [] })).toEqual({ drop: 'invalid_fields', detail: 'book delta before any snapshot' });
    const levels = (from: number, step: number) => Array.from({ length: 12 }, (_, i): [string, string] => [String(from + step * i), '5']);
    engineEvent(subject, ENGINE_SUBJECTS.book, { ts: Date.now(), type: 'snapshot', bids: levels(100, -1), asks: levels(101, 1) });
    const { socket, md } = await loopback.connect(unitUser({ userId: 'user-2' }), UNIT_LICENCE);
    const answer = await service.subscribe(socket, { instruments: [AAPL], channels: ['book'], depth: 5 });
    expect(answer.subscribed).toEqual([expect.objectContaining({ stream: `book:${AAPL}`, seq: 1 })]);
    await eventually(() => md.length >= 1);
    const snapshot = md[0] as MdMessage<'book'>;
    expect(snapshot).toMatchObject({ type: 'snapshot', seq: 1 });
    expect(snapshot.data.bids).toHaveLength(5);
    engineEvent(subject, ENGINE_SUBJECTS.book, { ts: Date.now(), type: 'delta', bids: [['100', '7']], asks: [] });
    await eventually(() => md.length >= 2);
    expect(md[1]).toMatchObject({ type: 'update', seq: 2, prevSeq: 1, data: { bids: [['100', '7']], asks: [] } });
  });

  it('lets a provider observe the events of a kind it does not handle (EngineEventTaps), applied ones only', () => {
    const seen: string[] = [];
    app.get(EngineEventTaps).observe('trade', (subject) => seen.push(subject));
    const trade = { price: 190.5, size: 3, side: 'buy', tradeId: 't-1', ts: Date.now() };
    engineEvent(mdSubject('trade', 'NASDAQ', 'AAPL'), ENGINE_SUBJECTS.trade, trade);
    engineEvent(mdSubject('trade', 'NASDAQ', 'NOPE'), ENGINE_SUBJECTS.trade, trade); // unknown instrument: dropped
    engineEvent(mdSubject('trade', 'NASDAQ', 'AAPL'), ENGINE_SUBJECTS.trade, { ...trade, price: 'x' }); // malformed
    expect(seen).toEqual([mdSubject('trade', 'NASDAQ', 'AAPL')]);
  });

  it('service: refuses what the licence or the catalog does not allow, and unsubscribes', async () => {
    const { socket } = await loopback.connect(unitUser({ userId: 'user-3' }), { ...UNIT_LICENCE, channels: ['quote'] });
    const answer = await service.subscribe(socket, { instruments: [AAPL, 'NASDAQ:NOPE'], channels: ['quote', 'book'] });
    expect(answer.subscribed.map((s) => s.stream)).toEqual([`quote:${AAPL}`]);
    expect(answer.rejected).toEqual([
      expect.objectContaining({ instrument: AAPL, channel: 'book', code: 'NOT_ENTITLED' }),
      expect.objectContaining({ instrument: 'NASDAQ:NOPE', channel: 'quote', code: 'UNKNOWN_SYMBOL' }),
      expect.objectContaining({ instrument: 'NASDAQ:NOPE', channel: 'book', code: 'UNKNOWN_SYMBOL' }),
    ]);
    expect(service.unsubscribe(socket, [AAPL])).toEqual([`quote:${AAPL}`]);
    expect(() => service.resync(socket, `quote:${AAPL}`)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', detailMessage: `not subscribed to quote:${AAPL}` }));
  });

  it('status: by its policy, not counted against maxSubscriptions, not metered, never delayed or throttled; allowed with any data channel', async () => {
    const BTC = 'BINANCE:BTCUSDT'; // a venue that never closes: its feed is live, not closed for the night
    const user = unitUser({ userId: 'user-4' });
    const licence = { ...UNIT_LICENCE, channels: ['trade' as const], maxSubscriptions: 1, exchanges: { '*': 'delayed' as const } };
    const { socket, md } = await loopback.connect(user, licence);
    const usage = app.get(UsageMeter);
    const metered = () => usage.subscriptionsByTenant().filter((row) => row.tenant === user.tenant && row.exchange === 'BINANCE');
    const before = metered();
    const answer = await service.subscribe(socket, { instruments: [BTC], channels: ['trade', 'status', 'quote'], throttleMs: 500 });
    // The one subscription the licence allows is the trades; the status comes on top, real time, unthrottled.
    expect(answer.subscribed).toEqual([
      expect.objectContaining({ stream: `trade:${BTC}`, delayed: true }),
      expect.objectContaining({ stream: `status:${BTC}`, delayed: false, delayMs: 0, throttleMs: 0 }),
    ]);
    expect(answer.subscribed[1]?.status).toMatchObject({ state: 'live', reason: null });
    expect(answer.rejected).toEqual([expect.objectContaining({ instrument: BTC, channel: 'quote', code: 'NOT_ENTITLED' })]);
    expect(metered().filter((row) => row.channel === 'status')).toEqual(before.filter((row) => row.channel === 'status'));
    await eventually(() => md.some((message) => message.stream === `status:${BTC}`));
    expect(md.find((message) => message.stream === `status:${BTC}`)).toMatchObject({ type: 'snapshot', seq: 1, data: { state: 'live' } });
    // A quote applied by its channel is observed: the status's age is now measured.
    engineEvent(mdSubject('quote', 'BINANCE', 'BTCUSDT'), ENGINE_SUBJECTS.quote, quote(192));
    expect(service.resync(socket, `status:${BTC}`)).toEqual({ stream: `status:${BTC}`, seq: 1 });
    await eventually(() => md.filter((message) => message.stream === `status:${BTC}`).length >= 2);
    const resynced = md.filter((message) => message.stream === `status:${BTC}`)[1] as MdMessage<'status'>;
    expect(resynced.data.lastEventAgeMs).toEqual(expect.any(Number));
    expect(service.unsubscribe(socket, [BTC], ['status'])).toEqual([`status:${BTC}`]);
    // A licence with no data channel of the exchange gets no status either.
    const { socket: none } = await loopback.connect(unitUser({ userId: 'user-5' }), { ...UNIT_LICENCE, exchanges: { LSE: 'realtime' } });
    const refused = await service.subscribe(none, { instruments: [BTC], channels: ['status'] });
    expect(refused.rejected).toEqual([expect.objectContaining({ instrument: BTC, channel: 'status', code: 'NOT_ENTITLED' })]);
  });
});
