import { describe, expect, it } from 'vitest';
import type { FeedStatus, SessionStatus } from '#libs/contracts';
import { FeedHealthTracker } from './feed-health.tracker.js';

/** A tracker on a hand-moved clock, with sessions set by the test and every reported change recorded. */
function harness(options: { staleAfterMs?: number; byExchange?: Record<string, number> } = {}) {
  let now = 1_800_000_000_000;
  const sessions = new Map<string, { status: SessionStatus; since: number }>();
  const changes: { instrument: string; status: FeedStatus }[] = [];
  const tracker = new FeedHealthTracker(
    { staleAfterMs: options.staleAfterMs ?? 1_000, staleAfterMsByExchange: new Map(Object.entries(options.byExchange ?? {})) },
    (exchange) => sessions.get(exchange),
    (instrument, status) => changes.push({ instrument, status }),
    () => now,
  );
  return {
    tracker,
    changes,
    advance(ms: number) {
      now += ms;
      tracker.check();
    },
    session(exchange: string, status: SessionStatus) {
      sessions.set(exchange, { status, since: now });
      tracker.sessionChanged(exchange);
    },
    get now() {
      return now;
    },
  };
}

describe('FeedHealthTracker', () => {
  it('turns stale after the cadence without events, live again on the next event, and reports changes only', () => {
    const h = harness();
    expect(h.tracker.watch('BINANCE:BTCUSDT')).toMatchObject({ state: 'live', reason: null, lastEventAgeMs: null });
    for (let i = 0; i < 10; i++) {
      h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', undefined);
      h.advance(200);
    }
    expect(h.changes).toEqual([]); // ticks are not changes
    const quietFrom = h.now - 200;
    h.advance(900);
    expect(h.changes).toHaveLength(1);
    expect(h.changes[0]).toEqual({ instrument: 'BINANCE:BTCUSDT', status: { state: 'stale', reason: 'no_events', lastEventAgeMs: 1_100, since: quietFrom + 1_000 } });
    h.advance(5_000);
    expect(h.changes).toHaveLength(1); // still stale: nothing new to say
    h.tracker.onEvent('BINANCE:BTCUSDT', 'trade', undefined);
    h.advance(100);
    expect(h.changes[1]?.status).toMatchObject({ state: 'live', reason: null, lastEventAgeMs: 100 });
    expect(h.tracker.statusOf('BINANCE:BTCUSDT')).toMatchObject({ state: 'live', lastEventAgeMs: 100 });
  });

  it('takes the cadence of the exchange when it has one', () => {
    const h = harness({ staleAfterMs: 1_000, byExchange: { EGX: 10_000 } });
    h.tracker.watch('EGX:COMI');
    h.tracker.watch('BINANCE:ETHUSDT');
    h.advance(5_000);
    expect(h.changes.map((c) => c.instrument)).toEqual(['BINANCE:ETHUSDT']);
    h.advance(5_500);
    expect(h.changes.map((c) => c.instrument)).toEqual(['BINANCE:ETHUSDT', 'EGX:COMI']);
    expect(h.tracker.staleByExchange()).toEqual(new Map([['EGX', 1], ['BINANCE', 1]]));
  });

  it('raises no alarm while the session is closed or halted, and gives a reopened session the cadence before calling it stale', () => {
    const h = harness();
    h.session('NASDAQ', 'CLOSED');
    expect(h.tracker.watch('NASDAQ:AAPL')).toMatchObject({ state: 'closed', reason: 'session_closed' });
    h.advance(60_000);
    expect(h.changes).toEqual([]);
    h.session('NASDAQ', 'PRE_OPEN');
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'closed', reason: 'session_pre_open' });
    h.session('NASDAQ', 'OPEN');
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'live', reason: null });
    h.advance(600);
    h.tracker.onEvent('NASDAQ:AAPL', 'quote', undefined);
    h.session('NASDAQ', 'HALTED');
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'halted', reason: 'session_halted', since: h.now });
    h.advance(30_000);
    expect(h.changes.at(-1)?.status.state).toBe('halted');
    h.session('NASDAQ', 'OPEN');
    expect(h.changes.at(-1)?.status.state).toBe('live'); // the resumed session gets its cadence
    h.advance(1_100);
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'stale', reason: 'no_events' });
    expect(h.tracker.staleByExchange().get('NASDAQ')).toBe(1);
  });

  it("marks a gap in the engine's own seq stale, per channel, until the cadence has passed without another", () => {
    const h = harness();
    h.tracker.watch('BINANCE:BTCUSDT');
    h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', 1);
    h.tracker.onEvent('BINANCE:BTCUSDT', 'trade', 40); // each channel numbers on its own
    h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', 2);
    h.tracker.onEvent('BINANCE:BTCUSDT', 'trade', 41);
    h.advance(100);
    expect(h.changes).toEqual([]);
    h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', 5);
    const gapAt = h.now;
    h.advance(100);
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'stale', reason: 'seq_gap', since: gapAt });
    for (let i = 0; i < 6; i++) {
      h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', 6 + i);
      h.advance(200);
    }
    expect(h.changes.at(-1)?.status).toMatchObject({ state: 'live', reason: null });
    // A lower seq is an engine restart, not a loss.
    h.tracker.onEvent('BINANCE:BTCUSDT', 'quote', 1);
    h.advance(100);
    expect(h.changes.at(-1)?.status.state).toBe('live');
  });

  it('keeps one entry per instrument for all its watchers, and forgets it with the last', () => {
    const h = harness();
    h.tracker.watch('LSE:VOD');
    h.tracker.watch('LSE:VOD');
    h.tracker.unwatch('LSE:VOD');
    expect(h.tracker.isWatched('LSE:VOD')).toBe(true);
    h.tracker.unwatch('LSE:VOD');
    expect(h.tracker.isWatched('LSE:VOD')).toBe(false);
    h.tracker.onEvent('LSE:VOD', 'quote', 3); // not watched: nothing is kept
    expect(h.tracker.statusOf('LSE:VOD')).toBeUndefined();
  });
});
