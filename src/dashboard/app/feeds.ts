import { useEffect, useReducer, useRef, useState } from 'react';
import type { Book, MdRejected, SessionPayload, TradewireClient } from '@tradewire/client';
import type { EventLog } from './event-log.js';
import { describeError, formatClock } from './format.js';
import type { BookStatus } from './panels/Book.js';
import type { TapeTrade } from './panels/Trades.js';
import type { Rejection } from './panels/WatchList.js';

/**
 * The page's market-data feeds, on the SDK's core API (the panels that only show a store use its React hooks). These
 * need what the hooks leave out: per-item rejections, the streams served delayed, resyncs and their reasons, sessions.
 */

export const THROTTLE_MS = 100;
export const BOOK_DEPTH = 10;
const TAPE_MAX = 80;
const REJECTIONS_SHOWN_MS = 20_000;

/** Re-renders at most once per animation frame however many updates arrive: the SDK holds the state in between. */
export function useFrameRerender(): () => void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const queued = useRef(false);
  const invalidate = useRef(() => {
    if (queued.current) return;
    queued.current = true;
    requestAnimationFrame(() => {
      queued.current = false;
      bump();
    });
  });
  return invalidate.current;
}

/** What the top bar's rate and data-age figures are computed from, counted as the feeds deliver. */
export class FeedMeter {
  messages = 0;
  ages: number[] = [];
  /** Server clock minus ours, as the SDK measured it (refreshed each second from its diagnostics). */
  clockOffsetMs: number | null = null;

  /** One message of real-time data: its age is engine time to arrival here, corrected by the measured clock offset. */
  count(ts: number, receivedAt: number, delayed: boolean): void {
    this.messages++;
    const offset = this.clockOffsetMs;
    if (!delayed && offset !== null && this.ages.length < 5_000) this.ages.push(receivedAt + offset - ts);
  }

  /** The last second's message count and median age, and starts the next second. */
  take(): { messages: number; medianAgeMs: number | null } {
    const sorted = this.ages.sort((a, b) => a - b);
    const median = sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : null;
    const messages = this.messages;
    this.messages = 0;
    this.ages = [];
    return { messages, medianAgeMs: median === null ? null : Math.max(0, median) };
  }
}

export interface WatchlistFeed {
  /** Instruments the gateway refused, with the code. */
  refused: ReadonlyMap<string, string>;
  /** Instruments served delayed, with the delay. */
  delayMs: ReadonlyMap<string, number>;
  /** Refusals of the last few seconds, for the list above the table. */
  rejections: readonly Rejection[];
  tape: readonly TapeTrade[];
  tradesSeen: number;
  sessions: readonly SessionPayload[];
}

/**
 * Quotes and trades of the watch list, one subscription for the whole list. A changed list lets the old subscription
 * go and makes the new one in the same turn of the event loop: the SDK batches both, so streams both hold stay
 * subscribed and only what was added or removed goes to the server.
 */
export function useWatchlistFeed(client: TradewireClient, instruments: readonly string[], meter: FeedMeter, log: EventLog): WatchlistFeed {
  const rerender = useFrameRerender();
  const state = useRef({
    refused: new Map<string, string>(),
    delayMs: new Map<string, number>(),
    rejections: [] as Rejection[],
    rejectionsAt: 0,
    tape: [] as TapeTrade[],
    tradeKeys: new Set<string>(),
    tradesSeen: 0,
    sessionStatus: new Map<string, string>(),
    /** Instruments whose feed was last reported stale or halted: their next `live` is news ("live again"). */
    feedsAlarmed: new Set<string>(),
  });
  // An instrument the gateway refused is not asked for again at every change of the list (each ask counts against
  // the subscribe rate limit); its row stays, marked, until it is removed. Removed, it may be added and asked anew.
  for (const instrument of state.current.refused.keys()) if (!instruments.includes(instrument)) state.current.refused.delete(instrument);
  const key = instruments.filter((instrument) => !state.current.refused.has(instrument)).join(',');

  useEffect(() => {
    const list = key === '' ? [] : key.split(',');
    if (list.length === 0) return;
    const s = state.current;
    const subscription = client.marketData.subscribe({ instruments: list, channels: ['quote', 'trade'], throttleMs: THROTTLE_MS });
    subscription.on('quote', (quote) => {
      meter.count(quote.ts, quote.receivedAt, quote.delayed);
      rerender();
    });
    subscription.on('trade', (trade) => {
      const tradeKey = `${trade.instrument}|${trade.tradeId}`;
      // A subscription joining streams already held is handed their latest trade again: shown once.
      if (s.tradeKeys.has(tradeKey)) return;
      meter.count(trade.ts, trade.receivedAt, trade.delayed);
      s.tradeKeys.add(tradeKey);
      s.tradesSeen++;
      s.tape = [{ key: tradeKey, instrument: trade.instrument, ts: trade.ts, price: trade.price, size: trade.size, side: trade.side, delayed: trade.delayed }, ...s.tape].slice(0, TAPE_MAX);
      if (s.tradeKeys.size > 4 * TAPE_MAX) s.tradeKeys = new Set(s.tape.map((t) => t.key));
      rerender();
    });
    subscription.on('subscribed', (items, info) => {
      for (const item of items) {
        const instrument = item.stream.slice(item.stream.indexOf(':') + 1);
        s.refused.delete(instrument);
        if (item.delayed) s.delayMs.set(instrument, item.delayMs);
        else s.delayMs.delete(instrument);
      }
      const channel = items[0]?.stream.slice(0, items[0].stream.indexOf(':')) ?? '';
      log.add('ok', 'subscribe', `${channel}: ${items.length} instruments ${info.restored ? 'restored' : 'subscribed'} at ${THROTTLE_MS} ms`);
      rerender();
    });
    subscription.on('rejected', (items: MdRejected[]) => {
      for (const item of items) if (item.channel === 'quote') s.refused.set(item.instrument, item.code);
      // Each channel is answered on its own: the list gathers the refusals of the last moments.
      const fresh = items.map((item) => ({ instrument: item.instrument, channel: item.channel, code: item.code, message: item.message }));
      const shown = Date.now() - s.rejectionsAt < REJECTIONS_SHOWN_MS ? s.rejections : [];
      s.rejections = [...shown.filter((r) => !fresh.some((f) => f.instrument === r.instrument && f.channel === r.channel)), ...fresh];
      s.rejectionsAt = Date.now();
      log.add('warn', 'subscribe', `${items.length} rejected: ${items.map((r) => `${r.instrument} ${r.channel} ${r.code}`).join(', ')}`);
      rerender();
    });
    subscription.on('delayed', (info) => {
      if (info.channel !== 'quote') return;
      if (info.delayed) s.delayMs.set(info.instrument, info.delayMs ?? s.delayMs.get(info.instrument) ?? 0);
      else s.delayMs.delete(info.instrument);
      log.add('info', 'delayed', `${info.instrument}: ${info.delayed ? 'served delayed' : 'real-time again'}`);
      rerender();
    });
    subscription.on('session', (session) => {
      // Every subscribe answer repeats the sessions of its exchanges: the log keeps the changes.
      if (s.sessionStatus.get(session.exchange) !== session.status) {
        s.sessionStatus.set(session.exchange, session.status);
        log.add('info', 'session', `${session.exchange} ${session.status} since ${formatClock(session.since)}`);
      }
      rerender();
    });
    subscription.on('error', (error) => log.add('error', 'market data', describeError(error)));
    // Feed health of every row (the `status` channel): a subscription of its own, so that its answer items stay out of
    // the quote handlers above; at the same throttle, the SDK sends it in the same `subscribe` request.
    const health = client.marketData.subscribe({ instruments: list, channels: ['status'], throttleMs: THROTTLE_MS });
    health.on('status', (status) => {
      // Stale and halted are news; closed is the session, already logged as such. Live is news after one of those.
      if (status.state === 'stale' || status.state === 'halted') {
        log.add(status.state === 'stale' ? 'warn' : 'info', 'feed', `${status.instrument} ${status.state} (${status.reason ?? ''}) since ${formatClock(status.since)}`);
        s.feedsAlarmed.add(status.instrument);
      } else if (status.state === 'live' && s.feedsAlarmed.delete(status.instrument)) {
        log.add('ok', 'feed', `${status.instrument} live again`);
      }
      rerender();
    });
    health.on('error', (error) => log.add('error', 'feed status', describeError(error)));
    return () => {
      subscription.unsubscribe();
      health.unsubscribe();
    };
  }, [client, key, meter, log, rerender]);

  // Rejections stay on screen for a while, then the list clears by itself.
  const s = state.current;
  const [, expire] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (s.rejections.length === 0) return;
    const timer = setTimeout(() => {
      s.rejections = [];
      expire();
    }, REJECTIONS_SHOWN_MS - (Date.now() - s.rejectionsAt));
    return () => clearTimeout(timer);
  }, [s, s.rejectionsAt]);

  return { refused: s.refused, delayMs: s.delayMs, rejections: s.rejections, tape: s.tape, tradesSeen: s.tradesSeen, sessions: client.marketData.sessions() };
}

export interface BookFeed {
  book: Book | null;
  status: BookStatus;
  /** The book shown is not the live one: waiting for its (re)snapshot. */
  stale: boolean;
}

/**
 * The selected instrument's book, kept and verified by the SDK. The chip says how far it can be trusted: verified
 * against the checksum, resyncing after a gap or mismatch (the SDK asked for a snapshot by itself), refused, waiting.
 */
export function useBookFeed(client: TradewireClient, instrument: string | null, connected: boolean, meter: FeedMeter, log: EventLog): BookFeed {
  const [feed, setFeed] = useState<{ instrument: string | null; book: Book | null; status: BookStatus; awaiting: boolean }>({ instrument: null, book: null, status: { text: 'select a row' }, awaiting: true });

  useEffect(() => {
    if (instrument === null) {
      setFeed({ instrument: null, book: null, status: { text: 'select a row' }, awaiting: true });
      return;
    }
    setFeed({ instrument, book: client.marketData.book(instrument) ?? null, status: { text: 'subscribing…' }, awaiting: true });
    const subscription = client.marketData.subscribe({ instruments: [instrument], channels: ['book'], depth: BOOK_DEPTH, throttleMs: THROTTLE_MS });
    subscription.on('book', (book) => {
      meter.count(book.ts, book.receivedAt, book.delayed);
      const status: BookStatus = book.verified ? { text: `seq ${book.seq} · checksum ✓${book.delayed ? ' · delayed' : ''}`, level: 'ok' } : { text: `seq ${book.seq} · not verified${book.delayed ? ' · delayed' : ''}`, level: 'bad' };
      setFeed({ instrument, book, status, awaiting: false });
    });
    subscription.on('resync', (info) => {
      const why = info.reason === 'gap' ? `gap: had seq ${info.expectedSeq ?? '—'}, update follows ${info.prevSeq ?? '—'}` : info.reason === 'checksum' ? `checksum mismatch (${info.computed ?? '—'} ≠ ${info.checksum ?? '—'})` : 'reconnected';
      log.add('warn', 'resync', `${info.stream}: ${why}`);
      setFeed((previous) => ({ ...previous, status: { text: 'resyncing…', level: 'bad' }, awaiting: true }));
    });
    subscription.on('subscribed', () => setFeed((previous) => (previous.awaiting ? { ...previous, status: { text: 'waiting for snapshot' } } : previous)));
    subscription.on('rejected', (items) => {
      const item = items[0];
      if (!item) return;
      log.add('warn', 'book', `${instrument}: ${item.code}${item.message ? `: ${item.message}` : ''}`);
      setFeed({ instrument, book: null, status: { text: item.code, level: 'bad' }, awaiting: false });
    });
    subscription.on('error', (error) => log.add('error', 'book', `${instrument}: ${describeError(error)}`));
    return () => subscription.unsubscribe();
  }, [client, instrument, meter, log]);

  // After a lost connection the book waits for the snapshot that the restored subscription brings.
  useEffect(() => {
    if (!connected && feed.instrument !== null) setFeed((previous) => ({ ...previous, status: { text: 'disconnected', level: 'bad' }, awaiting: true }));
  }, [connected, feed.instrument]);

  const current = feed.instrument === instrument ? feed : { book: null, status: { text: instrument ? 'subscribing…' : 'select a row' }, awaiting: true };
  return { book: current.book, status: current.status, stale: instrument !== null && current.awaiting && current.book !== null };
}
