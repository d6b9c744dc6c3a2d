import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bookChecksum, NAMESPACES, type BookLevel, type MdMessage } from '#libs/contracts';
import { ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { TradewireClient, type Book, type FeedStatusInfo, type ResyncInfo, type TradewireError } from './index.js';

const MD = NAMESPACES.marketData;

function bookMessage(type: 'snapshot' | 'update', seq: number, prevSeq: number | undefined, levels: { bids: BookLevel[]; asks: BookLevel[] }, full: { bids: BookLevel[]; asks: BookLevel[] }): MdMessage {
  return {
    stream: 'book:NASDAQ:AAPL',
    type,
    seq,
    ...(prevSeq !== undefined ? { prevSeq } : {}),
    ts: Date.now(),
    data: { bids: levels.bids, asks: levels.asks, checksum: bookChecksum(full.asks.slice(0, 10), full.bids.slice(0, 10)) },
  };
}

const SNAPSHOT = { bids: [['100.0', '5'], ['99.5', '3']] as BookLevel[], asks: [['100.5', '2'], ['101.0', '7']] as BookLevel[] };
const AFTER_UPDATE = { bids: [['100.2', '1'], ['100.0', '5'], ['99.5', '3']] as BookLevel[], asks: [['101.0', '7']] as BookLevel[] };
const UPDATE = { bids: [['100.2', '1']] as BookLevel[], asks: [['100.5', '0']] as BookLevel[] };

describe('market data in the SDK', () => {
  let gateway: ScriptedGateway;
  let client: TradewireClient;
  let errors: TradewireError[];

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
    client = new TradewireClient({ url: gateway.url, getToken: () => 'token-1', transports: ['websocket'], pingIntervalMs: 0, backoff: { minDelayMs: 20, maxDelayMs: 100 } });
    errors = [];
    client.on('error', (error) => errors.push(error));
  });
  afterEach(async () => {
    client.close();
    await gateway.close();
  });

  it('keeps a book from its snapshot and updates, verified against the checksum', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const books: Book[] = [];
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    expect(gateway.requestsOf(MD, 'subscribe')[0].payload).toEqual({ instruments: ['NASDAQ:AAPL'], channels: ['book'], depth: 10 });
    gateway.emit(MD, 'md', [bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT)]);
    gateway.emit(MD, 'md', [bookMessage('update', 11, 10, UPDATE, AFTER_UPDATE)]);
    await until('two books', () => books.length === 2);
    expect(books.map((b) => b.verified)).toEqual([true, true]);
    expect(client.marketData.book('NASDAQ:AAPL')).toMatchObject({ seq: 11, bids: AFTER_UPDATE.bids, asks: AFTER_UPDATE.asks, verified: true });
    expect(md.book('NASDAQ:AAPL')).toBe(books[1]);
    expect(client.diagnostics()).toMatchObject({ gaps: 0, resyncs: 0, checksumMismatches: 0 });
  });

  it('resyncs by itself on a gap, discards updates until the new snapshot, and says why', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const resyncs: ResyncInfo[] = [];
    const books: Book[] = [];
    md.on('resync', (info) => resyncs.push(info));
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT)]);
    // seq 11 went missing: 12 builds on it.
    gateway.emit(MD, 'md', [bookMessage('update', 12, 11, UPDATE, AFTER_UPDATE)]);
    await until('the resync request', () => gateway.requestsOf(MD, 'resync').length === 1);
    expect(gateway.requestsOf(MD, 'resync')[0].payload).toEqual({ stream: 'book:NASDAQ:AAPL' });
    expect(resyncs).toEqual([{ stream: 'book:NASDAQ:AAPL', instrument: 'NASDAQ:AAPL', channel: 'book', reason: 'gap', prevSeq: 11, expectedSeq: 10 }]);
    // An update that arrives before the fresh snapshot is discarded, even one that would chain.
    gateway.emit(MD, 'md', [bookMessage('update', 13, 12, { bids: [['50.0', '1']], asks: [] }, AFTER_UPDATE)]);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 20, undefined, AFTER_UPDATE, AFTER_UPDATE)]);
    await until('the book after the snapshot', () => books.length === 3);
    // Between the gap and the snapshot the book is shown as it was, not verified.
    expect(books[1]).toMatchObject({ seq: 10, verified: false, bids: SNAPSHOT.bids });
    expect(books[2]).toMatchObject({ seq: 20, verified: true, bids: AFTER_UPDATE.bids });
    expect(client.diagnostics()).toMatchObject({ gaps: 1, resyncs: 1, checksumMismatches: 0 });
  });

  it('resyncs on a checksum mismatch (a wrong level) and is verified again after the snapshot', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const resyncs: ResyncInfo[] = [];
    const books: Book[] = [];
    md.on('resync', (info) => resyncs.push(info));
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT)]);
    // The update carries a size the server's own book does not have: its checksum is of the true book.
    gateway.emit(MD, 'md', [bookMessage('update', 11, 10, { bids: [['100.2', '9']], asks: [['100.5', '0']] }, AFTER_UPDATE)]);
    await until('the resync request', () => gateway.requestsOf(MD, 'resync').length === 1);
    expect(resyncs[0]).toMatchObject({ reason: 'checksum', checksum: bookChecksum(AFTER_UPDATE.asks, AFTER_UPDATE.bids) });
    expect(books[1].verified).toBe(false);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 11, undefined, AFTER_UPDATE, AFTER_UPDATE)]);
    await until('a verified book again', () => books.length === 3);
    expect(books[2]).toMatchObject({ verified: true, bids: AFTER_UPDATE.bids });
    expect(client.diagnostics()).toMatchObject({ checksumMismatches: 1, resyncs: 1, gaps: 0 });
  });

  it('paces resyncs while the snapshots themselves do not verify, and asks at once again after a verified book', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const books: Book[] = [];
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    const resyncRequests = (): number => gateway.requestsOf(MD, 'resync').length;
    // A snapshot whose checksum is of another book: it never verifies, however often it is asked for.
    const damaged = (seq: number) => bookMessage('snapshot', seq, undefined, SNAPSHOT, AFTER_UPDATE);
    gateway.emit(MD, 'md', [damaged(10)]);
    await until('the first resync, at once', () => resyncRequests() === 1);
    gateway.emit(MD, 'md', [damaged(11)]);
    // The second waits at least half of the first pacing window (1 s).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resyncRequests()).toBe(1);
    await until('the paced second resync', () => resyncRequests() === 2, 3_000);
    // Mismatches while a paced resync waits do not add requests.
    gateway.emit(MD, 'md', [damaged(12)]);
    gateway.emit(MD, 'md', [damaged(13)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resyncRequests()).toBe(2);
    // A snapshot that verifies ends the pacing: the next mismatch is resynced at once.
    await until('the paced third resync', () => resyncRequests() === 3, 5_000);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 14, undefined, SNAPSHOT, SNAPSHOT)]);
    await until('a verified book', () => books.at(-1)?.verified === true);
    gateway.emit(MD, 'md', [damaged(15)]);
    // Unpaced: well inside the 2 s that a fourth paced resync would wait at least.
    await until('an immediate resync after the verified book', () => resyncRequests() === 4, 1_500);
  });

  it('keeps the latest quote and a bounded trade tape without repeats', async () => {
    client.close();
    client = new TradewireClient({ url: gateway.url, getToken: () => 't', transports: ['websocket'], pingIntervalMs: 0, tradeTapeSize: 3 });
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade'], throttleMs: 100 });
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    expect(gateway.requestsOf(MD, 'subscribe').map((r) => r.payload)).toEqual([{ instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade'], throttleMs: 100 }]);
    const quote = (seq: number, bid: string) => ({ stream: 'quote:NASDAQ:AAPL', type: 'update', seq, ts: 1, data: { bid, ask: '2', bidSize: '1', askSize: '1', last: '1', lastSize: '1', volume: '1' } });
    const trade = (seq: number, id: string) => ({ stream: 'trade:NASDAQ:AAPL', type: seq === 1 ? 'snapshot' : 'update', seq, ts: seq, data: { price: '1.5', size: '1', side: 'buy', tradeId: id } });
    gateway.emit(MD, 'md', [quote(5, '1.10'), quote(9, '1.20'), quote(7, '1.15'), trade(1, 'T1'), trade(2, 'T2'), trade(3, 'T3'), trade(4, 'T4'), trade(5, 'T5')]);
    // A trade snapshot may repeat one already held (after a resync): it is not added twice.
    gateway.emit(MD, 'md', [trade(1, 'T5')]);
    await until('the tape', () => md.trades('NASDAQ:AAPL').length === 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(md.quote('NASDAQ:AAPL')).toMatchObject({ bid: '1.20', seq: 9, instrument: 'NASDAQ:AAPL', delayed: false });
    expect(md.trades('NASDAQ:AAPL').map((t) => t.tradeId)).toEqual(['T3', 'T4', 'T5']);
  });

  it('reports a frame it cannot understand on error, skips it, and the stream goes on', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const books: Book[] = [];
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    gateway.emit(MD, 'md', 'not an array');
    gateway.emit(MD, 'md', [
      { stream: 'candle:NASDAQ:AAPL', type: 'update', seq: 1, ts: 1, data: {} },
      { stream: 'book:NASDAQ:AAPL', type: 'delta', seq: 1, ts: 1, data: {} },
      { stream: 'book:NASDAQ:AAPL', type: 'snapshot', seq: 1, ts: 1, data: { bids: [[1, 2]], asks: [], checksum: 0 } },
      bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT),
    ]);
    gateway.emit(MD, 'md', [bookMessage('update', 11, 10, UPDATE, AFTER_UPDATE)]);
    await until('the book', () => books.length === 2);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['BAD_FRAME', 'md: the frame is not an array of messages'],
      ['BAD_FRAME', 'md: unknown stream candle:NASDAQ:AAPL'],
      ['BAD_FRAME', 'md: unknown message type delta'],
      ['BAD_FRAME', 'md: book level is not [price, size]'],
    ]);
    expect(books[1]).toMatchObject({ seq: 11, verified: true });
    expect(client.diagnostics().badFrames).toBe(4);
  });

  it('catches a listener that throws, reports it, and goes on delivering', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'] });
    const books: Book[] = [];
    md.on('book', () => {
      throw new Error('render failed');
    });
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT)]);
    gateway.emit(MD, 'md', [bookMessage('update', 11, 10, UPDATE, AFTER_UPDATE)]);
    await until('both books', () => books.length === 2);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['LISTENER_FAILED', 'a listener of book threw: render failed'],
      ['LISTENER_FAILED', 'a listener of book threw: render failed'],
    ]);
  });

  it('surfaces per-item rejections and stops holding the refused streams', async () => {
    gateway.on(MD, 'subscribe', () => ({
      ok: true,
      data: {
        subscribed: [{ stream: 'quote:NASDAQ:AAPL', seq: 3, delayed: false, delayMs: 0, throttleMs: 0 }, { stream: 'quote:LSE:VOD', seq: 4, delayed: true, delayMs: 900000, throttleMs: 0 }],
        rejected: [{ instrument: 'NASDAQ:ZZZZ', channel: 'quote', code: 'UNKNOWN_SYMBOL', message: 'NASDAQ:ZZZZ is not listed' }],
        sessions: [{ exchange: 'NASDAQ', status: 'OPEN', since: 1 }],
      },
    }));
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL', 'NASDAQ:ZZZZ', 'LSE:VOD'], channels: ['quote'] });
    const rejected = new Promise((resolve) => md.once('rejected', resolve));
    const delayed = new Promise((resolve) => md.once('delayed', resolve));
    const session = new Promise((resolve) => md.once('session', resolve));
    expect(await rejected).toEqual([{ instrument: 'NASDAQ:ZZZZ', channel: 'quote', code: 'UNKNOWN_SYMBOL', message: 'NASDAQ:ZZZZ is not listed' }]);
    expect(await delayed).toEqual({ stream: 'quote:LSE:VOD', instrument: 'LSE:VOD', channel: 'quote', delayed: true, delayMs: 900000 });
    expect(await session).toEqual({ exchange: 'NASDAQ', status: 'OPEN', since: 1 });
    expect(client.marketData.isDelayed('quote', 'LSE:VOD')).toBe(true);
    expect(client.diagnostics().streams.map((s) => s.stream).sort()).toEqual(['quote:LSE:VOD', 'quote:NASDAQ:AAPL']);
  });

  it('batches the subscriptions of one turn into one request per channel, and unsubscribes what nobody holds', async () => {
    const a = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    const b = client.marketData.subscribe({ instruments: ['NASDAQ:MSFT'], channels: ['quote'] });
    const c = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote'] });
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    expect(gateway.requestsOf(MD, 'subscribe')[0].payload).toEqual({ instruments: ['NASDAQ:AAPL', 'NASDAQ:MSFT'], channels: ['quote'] });
    a.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gateway.requestsOf(MD, 'unsubscribe')).toEqual([]); // c still holds AAPL
    b.unsubscribe();
    c.unsubscribe();
    await until('unsubscribe', () => gateway.requestsOf(MD, 'unsubscribe').length === 1);
    expect(gateway.requestsOf(MD, 'unsubscribe')[0].payload).toEqual({ instruments: ['NASDAQ:AAPL', 'NASDAQ:MSFT'], channels: ['quote'] });
  });

  it('asks for several channels of the same instruments in one request, and apart when the instruments differ', async () => {
    client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade', 'book'], throttleMs: 100, depth: 5 });
    client.marketData.subscribe({ instruments: ['NYSE:IBM'], channels: ['quote'], throttleMs: 100 });
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gateway.requestsOf(MD, 'subscribe').map((r) => r.payload)).toEqual([
      { instruments: ['NASDAQ:AAPL', 'NYSE:IBM'], channels: ['quote'], throttleMs: 100 },
      { instruments: ['NASDAQ:AAPL'], channels: ['trade', 'book'], throttleMs: 100, depth: 5 },
    ]);
  });

  it('restores its subscriptions after a reconnect and expects fresh book snapshots', async () => {
    const md = client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'], depth: 20 });
    const restored: boolean[] = [];
    const books: Book[] = [];
    md.on('subscribed', (_items, info) => restored.push(info.restored));
    md.on('book', (book) => books.push(book));
    await until('subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 1);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 10, undefined, SNAPSHOT, SNAPSHOT)]);
    await until('the snapshot', () => books.length === 1);
    gateway.dropAll();
    await until('the second subscribe', () => gateway.requestsOf(MD, 'subscribe').length === 2);
    expect(gateway.requestsOf(MD, 'subscribe')[1].payload).toEqual({ instruments: ['NASDAQ:AAPL'], channels: ['book'], depth: 20 });
    // An update from before the snapshot of the new connection is not applied on the old state.
    gateway.emit(MD, 'md', [bookMessage('update', 11, 10, UPDATE, AFTER_UPDATE)]);
    gateway.emit(MD, 'md', [bookMessage('snapshot', 30, undefined, AFTER_UPDATE, AFTER_UPDATE)]);
    await until('the book after the reconnect', () => books.length === 2);
    expect(books[1]).toMatchObject({ seq: 30, verified: true });
    expect(restored).toEqual([false, true]);
    expect(client.diagnostics().reconnects).toBe(1);
  });

  it("keeps each instrument's feed status from the subscribe answer and the status stream, and reports changes only", async () => {
    const since = Date.now() - 60_000;
    gateway.on(MD, 'subscribe', () => ({
      ok: true,
      data: {
        subscribed: [{ stream: 'status:LSE:VOD', seq: 3, delayed: false, delayMs: 0, throttleMs: 0, status: { state: 'live', lastEventAgeMs: 40, since, reason: null } }],
        rejected: [],
        sessions: [],
      },
    }));
    const health = client.marketData.subscribe({ instruments: ['LSE:VOD'], channels: ['status'] });
    const changes: FeedStatusInfo[] = [];
    health.on('status', (status) => changes.push(status));
    await until('the status from the answer', () => changes.length === 1);
    expect(gateway.requestsOf(MD, 'subscribe')[0]?.payload).toEqual({ instruments: ['LSE:VOD'], channels: ['status'] });
    expect(changes[0]).toMatchObject({ instrument: 'LSE:VOD', state: 'live', reason: null, since });
    // The snapshot after the answer says the same: no second event. Then a change, and a malformed status (skipped).
    gateway.emit(MD, 'md', [{ stream: 'status:LSE:VOD', type: 'snapshot', seq: 3, ts: Date.now(), data: { state: 'live', lastEventAgeMs: 45, since, reason: null } }]);
    gateway.emit(MD, 'md', [{ stream: 'status:LSE:VOD', type: 'update', seq: 4, ts: Date.now(), data: { state: 'stale', lastEventAgeMs: 15_200, since: since + 50_000, reason: 'no_events' } }]);
    gateway.emit(MD, 'md', [{ stream: 'status:LSE:VOD', type: 'update', seq: 5, ts: Date.now(), data: { state: 'asleep', lastEventAgeMs: 1, since, reason: null } }]);
    await until('the bad frame', () => client.diagnostics().badFrames === 1);
    expect(changes.map((c) => c.state)).toEqual(['live', 'stale']);
    expect(client.marketData.feedStatus('LSE:VOD')).toMatchObject({ state: 'stale', reason: 'no_events', lastEventAgeMs: 15_200 });
    expect(health.feedStatus('LSE:VOD')).toBe(client.marketData.feedStatus('LSE:VOD'));
    // A second subscription of the same status gets the status held at once, without another request.
    const second = client.marketData.subscribe({ instruments: ['LSE:VOD'], channels: ['status'] });
    const seen: FeedStatusInfo[] = [];
    second.on('status', (status) => seen.push(status));
    await until('the held status', () => seen.length === 1);
    expect(seen[0]?.state).toBe('stale');
    expect(gateway.requestsOf(MD, 'subscribe')).toHaveLength(1);
    health.unsubscribe();
    second.unsubscribe();
    await until('unsubscribe', () => gateway.requestsOf(MD, 'unsubscribe').length === 1);
    expect(gateway.requestsOf(MD, 'unsubscribe')[0]?.payload).toEqual({ instruments: ['LSE:VOD'], channels: ['status'] });
    expect(client.marketData.feedStatus('LSE:VOD')).toBeUndefined();
  });

  it('checks its arguments and throws typed errors', () => {
    expect(() => client.marketData.subscribe({ instruments: [], channels: ['quote'] })).toThrow(/instruments: must be a non-empty array/);
    expect(() => client.marketData.subscribe({ instruments: ['aapl'], channels: ['quote'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'instruments' }));
    expect(() => client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['candle' as 'quote'] })).toThrow(/channels: candle is not one of quote, trade, book/);
    expect(() => client.marketData.subscribe({ instruments: ['NASDAQ:AAPL'], channels: ['book'], depth: 51 })).toThrow(/depth/);
    expect(() => client.marketData.quote('nope')).toThrow(/instrument/);
  });
});
