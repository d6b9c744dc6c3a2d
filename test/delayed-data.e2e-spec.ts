import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookChecksum, NAMESPACES, type MdMessage, type SystemPayload } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, nextEvent, request, sleep } from './support/gateway.js';
import { NatsServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const DELAY_MS = 1_500;
const quote = (last: string) => ({ bid: '59.90', ask: '60.10', bidSize: '300', askSize: '200', last, lastSize: '10', volume: '1000', ts: Date.now() });
const delayedNyse = { ...FULL_LICENCE, exchanges: { NYSE: 'delayed', NASDAQ: 'realtime' } };

describe('delayed data for delayed-only entitlements', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let engine: NatsConnection;
  const publish = async (subject: string, payload: unknown) => {
    engine.publish(subject, JSON.stringify(payload));
    await engine.flush();
  };

  beforeAll(async () => {
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url, MD_DELAY_MS: String(DELAY_MS) });
    engine = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await engine.close();
    await gateway.stop();
    await nats.stop();
  });

  it('serves a delayed exchange delayMs late and marked delayed, every trade included, next to real-time data', async () => {
    const client = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'dora', lic: delayedNyse }) } });
    const frames = collect<MdMessage[]>(client.socket, 'md');
    const answer = await request(client.socket, 'subscribe', { instruments: ['NYSE:KO', 'NASDAQ:AAPL'], channels: ['quote', 'trade'] });
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.data.rejected).toEqual([]);
    const byStream = new Map(answer.data.subscribed.map((s) => [s.stream, s]));
    expect(byStream.get('quote:NYSE:KO')).toMatchObject({ delayed: true, delayMs: DELAY_MS });
    expect(byStream.get('trade:NYSE:KO')).toMatchObject({ delayed: true, delayMs: DELAY_MS });
    expect(byStream.get('quote:NASDAQ:AAPL')).toMatchObject({ delayed: false, delayMs: 0 });

    const sentAt = Date.now();
    await publish('md.quote.NYSE.KO', quote('60.01'));
    for (let i = 1; i <= 5; i++) await publish('md.trade.NYSE.KO', { price: '60.01', size: '5', side: 'sell', tradeId: `ko-${i}`, ts: Date.now() });
    await publish('md.quote.NASDAQ.AAPL', { ...quote('189.50'), bid: '189.40', ask: '189.60' });

    const arrivals = new Map<string, number>();
    const noteArrivals = () => {
      for (const message of frames.flat()) if (!arrivals.has(message.stream)) arrivals.set(message.stream, Date.now());
    };
    const stopWatching = setInterval(noteArrivals, 10);
    try {
      await waitFor('the delayed quote', () => (frames.flat().some((m) => m.stream === 'quote:NYSE:KO') ? true : undefined), DELAY_MS + 3_000);
      await waitFor('all five delayed trades', () => (frames.flat().filter((m) => m.stream === 'trade:NYSE:KO').length === 5 ? true : undefined), 2_000);
    } finally {
      // The waits may see the last frame before the 10 ms watch does (under load they often do): note it too.
      noteArrivals();
      clearInterval(stopWatching);
    }
    const messages = frames.flat();
    // Real time arrives at once, unmarked; the delayed exchange not before delayMs, marked.
    expect((arrivals.get('quote:NASDAQ:AAPL') ?? Infinity) - sentAt).toBeLessThan(DELAY_MS);
    expect(messages.find((m) => m.stream === 'quote:NASDAQ:AAPL')?.delayed).toBeUndefined();
    expect((arrivals.get('quote:NYSE:KO') ?? 0) - sentAt).toBeGreaterThanOrEqual(DELAY_MS - 20);
    const delayedQuote = messages.find((m) => m.stream === 'quote:NYSE:KO');
    expect(delayedQuote).toMatchObject({ type: 'snapshot', seq: 1, delayed: true, data: { last: '60.01' } });
    const trades = messages.filter((m) => m.stream === 'trade:NYSE:KO');
    expect(trades.map((t) => t.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(trades.every((t) => t.delayed === true)).toBe(true);
    expect(trades.map((t) => (t.data as { tradeId: string }).tradeId)).toEqual(['ko-1', 'ko-2', 'ko-3', 'ko-4', 'ko-5']);

    // A delayed subscriber arriving later starts from the delayed state, never from the live one.
    await publish('md.quote.NYSE.KO', quote('61.00'));
    const late = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'lars', lic: delayedNyse }) } });
    const lateFrames = collect<MdMessage[]>(late.socket, 'md');
    const lateAnswer = await request(late.socket, 'subscribe', { instruments: ['NYSE:KO'], channels: ['quote'] });
    expect(lateAnswer.ok && lateAnswer.data.subscribed[0]).toMatchObject({ seq: 1, delayed: true });
    await waitFor('late snapshot', () => (lateFrames.length > 0 ? true : undefined));
    expect(lateFrames[0]?.[0]).toMatchObject({ type: 'snapshot', seq: 1, delayed: true, data: { last: '60.01' } });
    await sleep(300);
    expect(lateFrames.flat().some((m) => (m.data as { last?: string }).last === '61.00')).toBe(false);
    client.socket.close();
    late.socket.close();
  });

  it('serves a delayed book as snapshots of the subscriber depth, with the checksum of what it shows', async () => {
    const client = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'bea', lic: delayedNyse }) } });
    const frames = collect<MdMessage<'book'>[]>(client.socket, 'md');
    const answer = await request(client.socket, 'subscribe', { instruments: ['NYSE:JPM'], channels: ['book'], depth: 2 });
    expect(answer.ok && answer.data.subscribed[0]).toMatchObject({ stream: 'book:NYSE:JPM', delayed: true });
    await publish('md.book.NYSE.JPM', { type: 'snapshot', bids: [['198.0', '100'], ['197.9', '200'], ['197.8', '50']], asks: [['198.2', '300'], ['198.3', '10']], ts: Date.now() });
    await publish('md.book.NYSE.JPM', { type: 'delta', bids: [['198.1', '25']], asks: [], ts: Date.now() });
    // Each release is the book as it stood delayMs earlier: the snapshot alone first, or already with the delta.
    const book = await waitFor('delayed book with the delta', () => frames.flat().find((m) => m.data.bids[0]?.[0] === '198.1'), DELAY_MS + 3_000);
    expect(frames.flat().every((m) => m.type === 'snapshot' && m.delayed === true)).toBe(true);
    expect(book).toMatchObject({ stream: 'book:NYSE:JPM', type: 'snapshot', delayed: true, data: { bids: [['198.1', '25'], ['198.0', '100']], asks: [['198.2', '300'], ['198.3', '10']] } });
    expect(book?.data.checksum).toBe(bookChecksum([['198.2', '300'], ['198.3', '10']], [['198.1', '25'], ['198.0', '100'], ['197.9', '200'], ['197.8', '50']]));
    client.socket.close();
  });

  it('switches a live stream to delayed when the licence is downgraded, and back when it is restored', async () => {
    const client = await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'uma', lic: FULL_LICENCE }) } });
    const frames = collect<MdMessage[]>(client.socket, 'md');
    await request(client.socket, 'subscribe', { instruments: ['NYSE:IBM'], channels: ['quote'] });
    await publish('md.quote.NYSE.IBM', quote('170.00'));
    await waitFor('real-time quote', () => (frames.flat().length >= 1 ? true : undefined));
    expect(frames.flat()[0]?.delayed).toBeUndefined();

    const notice = nextEvent<SystemPayload>(client.socket, 'system');
    const refreshed = await request(client.socket, 'auth:refresh', { token: await hsToken({ sub: 'uma', lic: delayedNyse }) });
    expect(refreshed.ok).toBe(true);
    expect(await notice).toMatchObject({ type: 'notice', stream: 'quote:NYSE:IBM', delayed: true });
    const before = frames.flat().length;
    const sentAt = Date.now();
    await publish('md.quote.NYSE.IBM', quote('170.50'));
    await waitFor('the downgraded stream, delayed', () => (frames.flat().slice(before).some((m) => (m.data as { last?: string }).last === '170.50') ? true : undefined), DELAY_MS + 3_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(DELAY_MS - 20);
    expect(frames.flat().slice(before).every((m) => m.delayed === true)).toBe(true);

    const restored = nextEvent<SystemPayload>(client.socket, 'system');
    await request(client.socket, 'auth:refresh', { token: await hsToken({ sub: 'uma', lic: FULL_LICENCE }) });
    expect(await restored).toMatchObject({ type: 'notice', stream: 'quote:NYSE:IBM', delayed: false });
    const mark = frames.flat().length;
    await publish('md.quote.NYSE.IBM', quote('171.00'));
    await waitFor('real time again', () => (frames.flat().slice(mark).some((m) => (m.data as { last?: string }).last === '171.00') ? true : undefined), 1_000);
    expect(frames.flat().slice(mark).every((m) => m.delayed === undefined)).toBe(true);
    client.socket.close();
  });
});
