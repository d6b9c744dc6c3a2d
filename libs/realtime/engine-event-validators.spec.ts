import { describe, expect, it } from 'vitest';
import { toDecimal, validateBook, validateOrder, validateQuote } from './engine-event-validators.js';
import { subjectMatches } from './subject-matcher.js';

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
    const good = { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: 1.05, lastSize: '1', volume: '100', ts: 1 };
    expect(validateQuote(good)).toEqual({ ok: true, value: { ts: 1, data: { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100' } } });
    expect(validateQuote({ ...good, bid: 'x' })).toEqual({ ok: false, reason: 'bid is not a decimal' });
    expect(validateQuote({ ...good, ts: -1 })).toMatchObject({ ok: false });
    expect(validateQuote([1, 2])).toMatchObject({ ok: false });
  });

  it('refuses negative book sizes and non-pairs', () => {
    expect(validateBook({ type: 'delta', bids: [['1', '-1']], asks: [], ts: 1 })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'delta', bids: [['1']], asks: [], ts: 1 })).toMatchObject({ ok: false });
    expect(validateBook({ type: 'sideways', bids: [], asks: [], ts: 1 })).toMatchObject({ ok: false });
  });

  it('reads the engine seq of account events when present', () => {
    const order = { orderId: 'O', clientOrderId: 'C', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '1', filledQuantity: '0', leavesQuantity: '1', ts: 5, seq: 7 };
    expect(validateOrder(order)).toMatchObject({ ok: true, value: { ts: 5, seq: 7, fields: { orderId: 'O' } } });
    expect(validateOrder({ ...order, seq: -1 })).toMatchObject({ ok: false });
    expect(validateOrder({ ...order, status: 'lost' })).toMatchObject({ ok: false });
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
