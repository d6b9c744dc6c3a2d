import { describe, expect, it } from 'vitest';
import { enumValue, toDecimal, validateBook, validateOrder, validateQuote, validateSession, validateTrade } from '#libs/contracts';
import { subjectMatches } from './subject-matcher.js';
import { decodeEnginePayload } from './engine-message.deserializer.js';

describe('engine event validation', () => {
  it('keeps decimals as strings and refuses floats it would have to guess at', () => {
    expect(toDecimal('189.50')).toBe('189.50');
    expect(toDecimal(189.5)).toBe('189.5');
    expect(toDecimal(1e-7)).toBeNull();
    expect(toDecimal('1e5')).toBeNull();
    expect(toDecimal(Number.NaN)).toBeNull();
    expect(toDecimal('12,5')).toBeNull();
  });

  it('validates quotes field by field', () => {
    const ts = Date.now();
    const good = { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: 1.05, lastSize: '1', volume: '100', ts };
    expect(validateQuote(good)).toEqual({ ok: true, value: { ts, data: { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100' } } });
    expect(validateQuote({ ...good, bid: 'x' })).toEqual({ ok: false, reason: 'bid is not a decimal' });
    expect(validateQuote({ ...good, ts: -1 })).toMatchObject({ ok: false });
    expect(validateQuote([1, 2])).toMatchObject({ ok: false });
  });

  it('refuses negative book sizes and non-pairs', () => {
    const ts = Date.now();
    expect(validateBook({ type: 'delta', bids: [['1', '-1']], asks: [], ts })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'delta', bids: [['-1', '1']], asks: [], ts })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'delta', bids: [['1']], asks: [], ts })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'sideways', bids: [], asks: [], ts })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'delta', bids: [['1', '0']], asks: [], ts })).toMatchObject({ ok: true });
  });

  it("reads the engine's own seq of market-data events when present (feed health), and refuses a malformed one", () => {
    const ts = Date.now();
    const quote = { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100', ts };
    expect(validateQuote({ ...quote, seq: 41 })).toMatchObject({ ok: true, value: { ts, seq: 41 } });
    expect(validateQuote(quote)).toMatchObject({ ok: true, value: { seq: undefined } });
    expect(validateTrade({ price: '1', size: '2', side: 'buy', tradeId: 'T', ts, seq: 0 })).toMatchObject({ ok: true, value: { seq: 0 } });
    expect(validateBook({ type: 'snapshot', bids: [], asks: [], ts, seq: 9 })).toMatchObject({ ok: true, value: { seq: 9 } });
    for (const seq of [-1, 1.5, '7', 2 ** 60, null]) {
      expect(validateQuote({ ...quote, seq })).toEqual({ ok: false, reason: 'seq is not a non-negative integer' });
      expect(validateBook({ type: 'delta', bids: [], asks: [], ts, seq })).toEqual({ ok: false, reason: 'seq is not a non-negative integer' });
    }
  });

  it('reads the engine seq of account events when present', () => {
    const ts = Date.now();
    const order = { orderId: 'O', clientOrderId: 'C', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '1', filledQuantity: '0', leavesQuantity: '1', ts, seq: 7 };
    expect(validateOrder(order)).toMatchObject({ ok: true, value: { ts, seq: 7, fields: { orderId: 'O' } } });
    expect(validateOrder({ ...order, seq: -1 })).toMatchObject({ ok: false });
    expect(validateOrder({ ...order, status: 'lost' })).toMatchObject({ ok: false });
  });

  it('accepts engine enums in any case and hands them on as the contract spells them', () => {
    const ts = Date.now();
    const order = { orderId: 'O', clientOrderId: 'C', symbol: 'NASDAQ:AAPL', side: 'BUY', type: 'STOP_LIMIT', status: 'PARTIALLY_FILLED', execType: 'Trade', quantity: '1', filledQuantity: '0', leavesQuantity: '1', ts };
    expect(validateOrder(order)).toMatchObject({ ok: true, value: { fields: { side: 'buy', type: 'stop_limit', status: 'partially_filled', execType: 'trade' } } });
    expect(validateOrder({ ...order, execType: 'REPLACED', status: 'PENDING_CANCEL' })).toMatchObject({ ok: true, value: { fields: { execType: 'replaced', status: 'pending_cancel' } } });
    expect(validateTrade({ price: '1', size: '1', side: 'SELL', tradeId: 'T', ts })).toEqual({ ok: true, value: { ts, data: { price: '1', size: '1', side: 'sell', tradeId: 'T' } } });
    expect(validateBook({ type: 'SNAPSHOT', bids: [], asks: [], ts })).toMatchObject({ ok: true, value: { type: 'snapshot' } });
    // The session's contract spelling is upper case: a lower-case engine is accepted the same way.
    expect(validateSession({ status: 'pre_open', ts })).toEqual({ ok: true, value: { ts, status: 'PRE_OPEN' } });
    // Case is all that is forgiven: other spellings, padding, and strings too long to be an enum are refused.
    for (const side of ['BUYY', ' buy', 'b', 'BUY'.repeat(20), 1, null]) expect(validateOrder({ ...order, side }), String(side)).toMatchObject({ ok: false, reason: 'side is not one of buy|sell' });
    expect(validateOrder({ ...order, status: 'CANCELLED' })).toMatchObject({ ok: false });
    expect(enumValue('İ', ['i'] as const)).toBeUndefined();
  });

  it('refuses negative or non-finite prices and sizes in quotes and trades', () => {
    const ts = Date.now();
    const quote = { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100', open: '1', high: '1.2', low: '0.9', prevClose: '1', ts };
    expect(validateQuote(quote)).toMatchObject({ ok: true });
    expect(validateQuote({ ...quote, bid: 0, bidSize: '0' })).toMatchObject({ ok: true }); // an empty side is zero, not negative
    for (const field of Object.keys(quote).filter((key) => key !== 'ts')) {
      for (const bad of ['-1', -0.5, '-0', Number.POSITIVE_INFINITY, Number.NaN, 'Infinity', Number.MAX_VALUE * 10, 1e308]) {
        expect(validateQuote({ ...quote, [field]: bad }), `${field}=${String(bad)}`).toMatchObject({ ok: false });
      }
    }
    const trade = { price: '67251.35', size: '0.0152', side: 'buy', tradeId: 'B-1', ts };
    expect(validateTrade(trade)).toMatchObject({ ok: true });
    for (const bad of [{ price: '-67251.35' }, { size: -1 }, { size: Number.POSITIVE_INFINITY }, { price: Number.NaN }]) {
      expect(validateTrade({ ...trade, ...bad })).toMatchObject({ ok: false, reason: expect.stringMatching(/price|size/) as string });
    }
  });

  it('refuses a ts that is not a plausible epoch-millisecond time', () => {
    const now = Date.now();
    const quote = (ts: unknown) => ({ bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100', ts });
    for (const ts of [now, now - 365 * 86_400_000, now + 60_000, now + 0.25, Date.UTC(2000, 0, 1)]) expect(validateQuote(quote(ts)), String(ts)).toMatchObject({ ok: true });
    // 1e308, negative, seconds instead of milliseconds, microseconds, before 2000, two days ahead, not a number
    for (const ts of [1e308, -now, -1, 0, Math.floor(now / 1000), now * 1000, Date.UTC(1999, 11, 31), now + 2 * 86_400_000, '1748856600101', null]) {
      expect(validateQuote(quote(ts)), String(ts)).toMatchObject({ ok: false, reason: expect.stringContaining('ts') as string });
      expect(validateSession({ status: 'OPEN', ts })).toMatchObject({ ok: false });
      expect(validateTrade({ price: '1', size: '1', side: 'buy', tradeId: 'T', ts })).toMatchObject({ ok: false });
    }
  });
});

describe('NATS subject matching', () => {
  it('matches * as one token and > as the rest', () => {
    expect(subjectMatches('md.quote.*.*', 'md.quote.NASDAQ.AAPL')).toBe(true);
    expect(subjectMatches('md.quote.*.*', 'md.quote.NASDAQ')).toBe(false);
    expect(subjectMatches('md.quote.*.*', 'md.quote.NASDAQ.AAPL.X')).toBe(false);
    expect(subjectMatches('acct.*.order', 'acct.ACC-1.order')).toBe(true);
    expect(subjectMatches('md.>', 'md.book.LSE.VOD')).toBe(true);
    expect(subjectMatches('md.>', 'md')).toBe(false);
  });
});

describe('engine payloads nested deeper than the contract', () => {
  it('are refused by a scan of the text, before JSON.parse pays for them', () => {
    const ts = Date.now();
    expect(decodeEnginePayload(`{"bid":${'['.repeat(60_000)}1${']'.repeat(60_000)},"ts":${ts}}`)).toMatchObject({ reason: 'too_deep' });
    expect(decodeEnginePayload({ data: new TextEncoder().encode('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)), subject: 'md.quote.X.Y' })).toMatchObject({ reason: 'too_deep' });
    // The contract's deepest shapes pass, and so does anything short (not worth a scan).
    const book = { type: 'snapshot', bids: Array.from({ length: 50 }, (_, i) => [String(100 - i), '1']), asks: [], ts };
    expect(decodeEnginePayload(JSON.stringify(book))).toEqual(book);
    const shortDeep = `${'['.repeat(20)}1${']'.repeat(20)}`;
    expect(decodeEnginePayload(shortDeep)).toEqual(JSON.parse(shortDeep));
  });
});
