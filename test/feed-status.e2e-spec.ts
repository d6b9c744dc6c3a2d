import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedStatus, MdMessage } from '#libs/contracts';
import { TestEngine } from './support/engine.js';
import { connectClient, GatewayProcess, request, requestRaw, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const STALE_AFTER_MS = 1_000;

/**
 * The `status` channel (feed health) end to end: a real gateway on a real nats-server, driven only by engine events a
 * test engine publishes there, watched with a real socket.io-client. BINANCE is always open; NASDAQ trades on no day
 * of this test's calendar, so it is closed whenever the test runs.
 */
describe('status channel: feed health from the engine over NATS', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let engine: TestEngine;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-feed-'));
    const calendars = join(dir, 'calendars.json');
    writeFileSync(calendars, JSON.stringify({ exchanges: { BINANCE: { alwaysOpen: true }, NASDAQ: { timeZone: 'America/New_York', tradingDays: [], open: '09:30', close: '16:00' } } }));
    nats = await NatsServer.start();
    engine = await TestEngine.start(nats.url);
    gateway = await GatewayProcess.start({
      NATS_URL: nats.url,
      ENGINE_TRANSPORT: 'nats',
      TRADING_CALENDARS_FILE: calendars,
      FEED_STALE_AFTER_MS: '5000',
      FEED_STALE_AFTER_MS_BY_EXCHANGE: `BINANCE=${STALE_AFTER_MS}`,
      FEED_HEALTH_CHECK_MS: '100',
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await engine?.close();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function watcher(sub: string, licence: Record<string, unknown> = FULL_LICENCE): Promise<{ socket: NamespaceSocket<'/market-data'>; statuses: MdMessage<'status'>[] }> {
    const { socket } = await connectClient(gateway.url, '/market-data', { auth: { token: await hsToken({ sub, lic: licence }) } });
    const statuses: MdMessage<'status'>[] = [];
    socket.on('md', (frame: MdMessage[]) => {
      for (const message of frame) if (message.stream.startsWith('status:')) statuses.push(message as unknown as MdMessage<'status'>);
    });
    return { socket, statuses };
  }

  /** Publishes a quote of `instrument` every 100 ms (numbered from `firstSeq` when given) until stopped. */
  function feed(instrument: string, firstSeq?: number): { stop: () => void; skip: (count: number) => void } {
    let seq = firstSeq;
    const timer = setInterval(() => {
      engine.publishQuote(instrument, '67000.00', '67000.50', seq);
      if (seq !== undefined) seq += 1;
    }, 100);
    return {
      stop: () => clearInterval(timer),
      skip: (count) => {
        if (seq !== undefined) seq += count;
      },
    };
  }

  const latest = (statuses: MdMessage<'status'>[], stream: string): FeedStatus | undefined => statuses.filter((m) => m.stream === stream).at(-1)?.data;

  it('answers subscribe with the current status, then reports stale when the feed goes quiet and live when it resumes', async () => {
    const { socket, statuses } = await watcher('feed-watcher');
    const quotes = feed('BINANCE:BTCUSDT');
    try {
      const answer = await request(socket, 'subscribe', { instruments: ['BINANCE:BTCUSDT', 'NASDAQ:AAPL'], channels: ['status'] });
      expect(answer.ok).toBe(true);
      if (!answer.ok) return;
      expect(answer.data.rejected).toEqual([]);
      const byStream = new Map(answer.data.subscribed.map((s) => [s.stream, s]));
      expect(byStream.get('status:BINANCE:BTCUSDT')?.status).toMatchObject({ state: 'live', reason: null });
      // Outside its session an instrument is closed, not stale, however long it has been quiet.
      expect(byStream.get('status:NASDAQ:AAPL')?.status).toMatchObject({ state: 'closed', reason: 'session_closed', lastEventAgeMs: null });
      await waitFor('both snapshots', () => (statuses.filter((m) => m.type === 'snapshot').length === 2 ? true : undefined));

      // Quotes every 100 ms are within the cadence: no message at all, however many quotes arrive.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(statuses.filter((m) => m.type === 'update')).toEqual([]);
      expect(await gateway.metric('tradewire_feed_stale_instruments', { exchange: 'BINANCE' })).toBe(0);

      quotes.stop();
      const quietAt = Date.now();
      await waitFor('stale', () => (latest(statuses, 'status:BINANCE:BTCUSDT')?.state === 'stale' ? true : undefined), 5_000);
      const stale = latest(statuses, 'status:BINANCE:BTCUSDT');
      expect(stale).toMatchObject({ state: 'stale', reason: 'no_events' });
      expect(stale?.lastEventAgeMs).toBeGreaterThan(STALE_AFTER_MS);
      expect(Date.now() - quietAt).toBeLessThan(STALE_AFTER_MS + 1_500);
      await waitFor('the gauge', async () => ((await gateway.metric('tradewire_feed_stale_instruments', { exchange: 'BINANCE' })) === 1 ? true : undefined));

      const again = feed('BINANCE:BTCUSDT');
      try {
        await waitFor('live again', () => (latest(statuses, 'status:BINANCE:BTCUSDT')?.state === 'live' ? true : undefined), 5_000);
        expect(latest(statuses, 'status:BINANCE:BTCUSDT')).toMatchObject({ state: 'live', reason: null });
        await waitFor('the gauge back to 0', async () => ((await gateway.metric('tradewire_feed_stale_instruments', { exchange: 'BINANCE' })) === 0 ? true : undefined));
        // One message per change: stale, then live (plus the snapshot); NASDAQ said nothing more.
        expect(statuses.filter((m) => m.stream === 'status:BINANCE:BTCUSDT').map((m) => m.data.state)).toEqual(['live', 'stale', 'live']);
        expect(statuses.filter((m) => m.stream === 'status:NASDAQ:AAPL').map((m) => m.type)).toEqual(['snapshot']);
        const seqs = statuses.filter((m) => m.stream === 'status:BINANCE:BTCUSDT').map((m) => m.seq);
        expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2]);
      } finally {
        again.stop();
      }
    } finally {
      quotes.stop();
      socket.close();
    }
  });

  it('reports halted on an engine halt (however quiet the feed then is) and live when the engine resumes the session', async () => {
    const { socket, statuses } = await watcher('halt-watcher');
    const quotes = feed('BINANCE:ETHUSDT');
    try {
      const answer = await request(socket, 'subscribe', { instruments: ['BINANCE:ETHUSDT'], channels: ['status'] });
      expect(answer.ok && answer.data.subscribed[0]?.status?.state).toBe('live');
      await new Promise((resolve) => setTimeout(resolve, 300));
      engine.publishSession('BINANCE', 'HALTED');
      quotes.stop(); // a halted instrument's feed is quiet: that is no alarm
      await waitFor('halted', () => (latest(statuses, 'status:BINANCE:ETHUSDT')?.state === 'halted' ? true : undefined), 3_000);
      expect(latest(statuses, 'status:BINANCE:ETHUSDT')).toMatchObject({ state: 'halted', reason: 'session_halted' });
      await new Promise((resolve) => setTimeout(resolve, STALE_AFTER_MS * 2));
      expect(latest(statuses, 'status:BINANCE:ETHUSDT')?.state).toBe('halted');
      expect(await gateway.metric('tradewire_feed_stale_instruments', { exchange: 'BINANCE' })).toBe(0);

      const resumed = feed('BINANCE:ETHUSDT');
      try {
        engine.publishSession('BINANCE', 'OPEN');
        await waitFor('live after the resume', () => (latest(statuses, 'status:BINANCE:ETHUSDT')?.state === 'live' ? true : undefined), 3_000);
        await new Promise((resolve) => setTimeout(resolve, STALE_AFTER_MS * 2));
        expect(statuses.filter((m) => m.stream === 'status:BINANCE:ETHUSDT').map((m) => m.data.state)).toEqual(['live', 'halted', 'live']);
      } finally {
        resumed.stop();
      }
    } finally {
      quotes.stop();
      socket.close();
    }
  });

  it("reports a gap in the engine's own seq as stale with reason seq_gap, and live once the numbers run on", async () => {
    const { socket, statuses } = await watcher('gap-watcher');
    const quotes = feed('BINANCE:BTCUSDT', 1);
    try {
      await request(socket, 'subscribe', { instruments: ['BINANCE:BTCUSDT'], channels: ['status'] });
      await waitFor('live', () => (latest(statuses, 'status:BINANCE:BTCUSDT')?.state === 'live' ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 400));
      quotes.skip(3); // three quotes lost between the engine and the gateway
      await waitFor('seq gap', () => (latest(statuses, 'status:BINANCE:BTCUSDT')?.reason === 'seq_gap' ? true : undefined), 3_000);
      expect(latest(statuses, 'status:BINANCE:BTCUSDT')).toMatchObject({ state: 'stale', reason: 'seq_gap' });
      expect(await gateway.metric('tradewire_feed_seq_gaps_total', { exchange: 'BINANCE' })).toBeGreaterThanOrEqual(1);
      await waitFor('live again', () => (latest(statuses, 'status:BINANCE:BTCUSDT')?.state === 'live' ? true : undefined), 3_000);
    } finally {
      quotes.stop();
      socket.close();
    }
  });

  it('lets a user watch the status of instruments they may have any data of, and unsubscribes it like a channel', async () => {
    const { socket, statuses } = await watcher('binance-only', { ...FULL_LICENCE, exchanges: { BINANCE: 'delayed' }, channels: ['trade'] });
    try {
      const answer = await request(socket, 'subscribe', { instruments: ['BINANCE:BTCUSDT', 'NASDAQ:AAPL', 'NASDAQ:ZZZZ'], channels: ['status'] });
      expect(answer.ok).toBe(true);
      if (!answer.ok) return;
      expect(answer.data.subscribed.map((s) => s.stream)).toEqual(['status:BINANCE:BTCUSDT']);
      expect(answer.data.rejected.map((r) => [r.instrument, r.channel, r.code])).toEqual([
        ['NASDAQ:AAPL', 'status', 'NOT_ENTITLED'],
        ['NASDAQ:ZZZZ', 'status', 'UNKNOWN_SYMBOL'],
      ]);
      const resync = await request(socket, 'resync', { stream: 'status:BINANCE:BTCUSDT' });
      expect(resync).toMatchObject({ ok: true, data: { stream: 'status:BINANCE:BTCUSDT' } });
      await waitFor('snapshot and resync snapshot', () => (statuses.filter((m) => m.type === 'snapshot').length >= 2 ? true : undefined));
      const bad = await requestRaw(socket, 'subscribe', { instruments: ['BINANCE:BTCUSDT'], channels: ['status', 'health'] });
      expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
      const gone = await request(socket, 'unsubscribe', { instruments: ['BINANCE:BTCUSDT'], channels: ['status'] });
      expect(gone).toEqual({ ok: true, data: { unsubscribed: ['status:BINANCE:BTCUSDT'] } });
      const notHeld = await request(socket, 'resync', { stream: 'status:BINANCE:BTCUSDT' });
      expect(notHeld).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    } finally {
      socket.close();
    }
  });
});
