import Big from 'big.js';
import { describe, expect, it } from 'vitest';
import type { AccountEvent } from '#libs/contracts';
import { exactString, isZero, revaluePortfolio, revaluePosition, samePrice } from './mark-to-market.js';

const aapl: AccountEvent<'position'> = {
  account: 'ACC-1001',
  seq: 5806,
  ts: 1748856598000,
  symbol: 'NASDAQ:AAPL',
  quantity: '1200',
  avgPrice: '185.12',
  marketPrice: '189.51',
  marketValue: '227412.00',
  unrealizedPnl: '5268.00',
  realizedPnl: '1320.50',
  dayPnl: '888.00',
};

const portfolio: AccountEvent<'portfolio'> = {
  account: 'ACC-1001',
  seq: 5809,
  ts: 1748856599000,
  currency: 'USD',
  equity: '1250430.55',
  cash: '612004.10',
  buyingPower: '1224008.20',
  marketValue: '638426.45',
  dayPnl: '4120.80',
  totalPnl: '50430.55',
};

describe('revaluePosition', () => {
  it('moves market value and both P&Ls by the price move on the quantity held, keeping the engine fields', () => {
    const { position, delta } = revaluePosition(aapl, { price: '189.53', quoteTs: 1748856600101, delayed: false }, '1');
    expect(delta.toFixed()).toBe('24');
    expect(position).toEqual({
      ...aapl,
      marketPrice: '189.53',
      marketValue: '227436.00',
      unrealizedPnl: '5292.00',
      dayPnl: '912.00',
      source: 'gateway',
      quoteTs: 1748856600101,
      delayed: false,
    });
    // What the engine would have computed from scratch at that price.
    expect(position.marketValue).toBe(new Big('1200').times('189.53').toFixed(2));
    expect(position.unrealizedPnl).toBe(new Big('189.53').minus('185.12').times('1200').toFixed(2));
  });

  it('is exact where binary floating point is not', () => {
    // 0.1 + 0.2 style: 3 × 0.1 − 0.3 is 5.55e-17 in doubles.
    const position = { ...aapl, quantity: '3', marketPrice: '0.2', marketValue: '0.6', unrealizedPnl: '0', dayPnl: '0' };
    const { position: valued } = revaluePosition(position, { price: '0.3', quoteTs: 1, delayed: false }, '1');
    expect(valued.marketValue).toBe('0.9');
    expect(valued.unrealizedPnl).toBe('0.3');
    expect(0.6 + 3 * (0.3 - 0.2)).not.toBe(0.9); // the float answer this avoids
  });

  it('keeps every digit of a long crypto size, and at least the engine\'s decimals', () => {
    const btc = { ...aapl, symbol: 'BINANCE:BTCUSDT', quantity: '0.01520000', marketPrice: '67251.35', marketValue: '1022.22', unrealizedPnl: '10.00', dayPnl: '-3.10' };
    const { position, delta } = revaluePosition(btc, { price: '67260.47', quoteTs: 2, delayed: true }, '1');
    expect(delta.toFixed()).toBe('0.138624');
    expect(position.marketValue).toBe('1022.358624');
    expect(position.unrealizedPnl).toBe('10.138624');
    expect(position.dayPnl).toBe('-2.961376');
    expect(position.delayed).toBe(true);
  });

  it('handles shorts (a negative quantity gains when the price falls) and a contract multiplier', () => {
    const short = { ...aapl, symbol: 'CME:ES', quantity: '-2', marketPrice: '5300.25', marketValue: '-530025.00', unrealizedPnl: '0.00', dayPnl: '0.00' };
    const { position, delta } = revaluePosition(short, { price: '5299.00', quoteTs: 3, delayed: false }, '50');
    expect(delta.toFixed()).toBe('125');
    expect(position.marketValue).toBe('-529900.00');
    expect(position.unrealizedPnl).toBe('125.00');
  });

  it('moves nothing for a flat position and never writes "-0"', () => {
    const flat = { ...aapl, quantity: '0', marketValue: '0.00', unrealizedPnl: '0.00', dayPnl: '-0.00' };
    const { position, delta } = revaluePosition(flat, { price: '150.00', quoteTs: 4, delayed: false }, '1');
    expect(delta.eq(0)).toBe(true);
    expect(position.dayPnl).toBe('0.00');
    expect(position.marketValue).toBe('0.00');
  });
});

describe('revaluePortfolio', () => {
  it('moves market value, equity, day and total P&L by the sum of the positions\' moves; cash stays', () => {
    const valued = revaluePortfolio(portfolio, [
      { delta: new Big('24'), quoteTs: 10, delayed: false },
      { delta: new Big('-30.005'), quoteTs: 12, delayed: false },
    ]);
    expect(valued).toEqual({
      ...portfolio,
      marketValue: '638420.445',
      equity: '1250424.545',
      dayPnl: '4114.795',
      totalPnl: '50424.545',
      source: 'gateway',
      quoteTs: 12,
      delayed: false,
    });
  });

  it('says it used a delayed price when any position did, and is null with nothing to move', () => {
    expect(revaluePortfolio(portfolio, [{ delta: new Big('1'), quoteTs: 5, delayed: true }])?.delayed).toBe(true);
    expect(revaluePortfolio(portfolio, [])).toBeNull();
  });
});

describe('decimal helpers', () => {
  it('writes plain notation, never an exponent, and pads without rounding', () => {
    expect(exactString(new Big('1e-12'))).toBe('0.000000000001');
    expect(exactString(new Big('123456789012345678901234'))).toBe('123456789012345678901234');
    expect(exactString(new Big('1.5'), 2)).toBe('1.50');
    expect(exactString(new Big('1.125'), 2)).toBe('1.125');
    expect(exactString(new Big('-0'), 2)).toBe('0.00');
  });

  it('compares prices as numbers, not as text', () => {
    expect(samePrice('189.50', '189.5')).toBe(true);
    expect(samePrice('189.50', '189.51')).toBe(false);
    expect(isZero('-0.000')).toBe(true);
    expect(isZero('0.001')).toBe(false);
  });
});
