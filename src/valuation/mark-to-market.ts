// big.js rather than decimal.js or bignumber.js: it is exact for +, − and × at any size (decimal.js rounds every
// result to a configured number of significant digits, so a large notional times a long crypto size could be
// rounded), which are the only operations a mark needs; it is small, dependency-free, widely used and maintained.
// Nothing here ever goes through a JavaScript number.
import Big from 'big.js';
import type { AccountEvent, Decimal, ValuedPortfolio, ValuedPosition } from '#libs/contracts';

/** The price a position is marked at, and where it came from. */
export interface Mark {
  /** The quote's `last`, as the engine sent it. */
  price: Decimal;
  /** The quote's engine `ts`. */
  quoteTs: number;
  /** A delayed price (the watcher's licence has the exchange delayed). */
  delayed: boolean;
}

/** One position revalued, and what it moved by: Δ = (price − engine marketPrice) × quantity × multiplier. */
export interface PositionRevaluation {
  position: ValuedPosition;
  delta: Big;
}

/**
 * Revalues an engine position at `mark`. The engine's own figures are moved by the price change since its mark:
 *
 *   Δ = (mark.price − marketPrice) × quantity × multiplier
 *   marketValue += Δ, unrealizedPnl += Δ, dayPnl += Δ; marketPrice = mark.price
 *
 * Moving the engine's figures (rather than recomputing them from avgPrice or prevClose) keeps the engine's
 * conventions (fees in P&L, today's fills against their fill price and overnight holdings against prevClose in
 * dayPnl): with the quantity unchanged, each of them moves by exactly the price move on the quantity held. Quantity,
 * avgPrice and realizedPnl are the engine's, untouched. The results are exact; a result keeps at least the number of
 * decimals the engine wrote the field with.
 */
export function revaluePosition(position: AccountEvent<'position'>, mark: Mark, multiplier: Decimal): PositionRevaluation {
  const delta = new Big(mark.price).minus(position.marketPrice).times(position.quantity).times(multiplier);
  return {
    delta,
    position: {
      ...position,
      marketPrice: mark.price,
      marketValue: moved(position.marketValue, delta),
      unrealizedPnl: moved(position.unrealizedPnl, delta),
      dayPnl: moved(position.dayPnl, delta),
      source: 'gateway',
      quoteTs: mark.quoteTs,
      delayed: mark.delayed,
    },
  };
}

/** A position's share of a portfolio revaluation: its Δ and the quote behind it. */
export interface PortfolioContribution {
  delta: Big;
  quoteTs: number;
  delayed: boolean;
}

/**
 * Revalues the engine's portfolio by the sum of its positions' moves (each already in the portfolio's currency):
 * marketValue, equity, dayPnl and totalPnl each move by ΣΔ; cash and buyingPower stay the engine's. Null when there is
 * nothing to move by.
 */
export function revaluePortfolio(portfolio: AccountEvent<'portfolio'>, contributions: readonly PortfolioContribution[]): ValuedPortfolio | null {
  if (contributions.length === 0) return null;
  let total = new Big(0);
  let quoteTs = 0;
  let delayed = false;
  for (const contribution of contributions) {
    total = total.plus(contribution.delta);
    quoteTs = Math.max(quoteTs, contribution.quoteTs);
    delayed ||= contribution.delayed;
  }
  return {
    ...portfolio,
    marketValue: moved(portfolio.marketValue, total),
    equity: moved(portfolio.equity, total),
    dayPnl: moved(portfolio.dayPnl, total),
    totalPnl: moved(portfolio.totalPnl, total),
    source: 'gateway',
    quoteTs,
    delayed,
  };
}

/** Two decimal strings that are the same number ("189.50" and "189.5"). */
export function samePrice(a: Decimal, b: Decimal): boolean {
  return a === b || new Big(a).eq(b); // the same text (the usual case between two rounds) needs no parsing
}

/** True for a decimal that is zero ("0", "-0", "0.000"): every digit a 0 (contract decimals have no exponent). */
export function isZero(value: Decimal): boolean {
  return ZERO.test(value);
}

const ZERO = /^-?0+(\.0+)?$/;

/** `value + delta`, exactly, written with at least as many decimals as `value` had. */
function moved(value: Decimal, delta: Big): Decimal {
  return exactString(new Big(value).plus(delta), decimalsWritten(value));
}

/** The exact value in plain notation (never an exponent), with at least `minDecimals` decimals; zero is never "-0". */
export function exactString(value: Big, minDecimals = 0): Decimal {
  if (value.eq(0)) return new Big(0).toFixed(minDecimals);
  // c holds the significant digits, e the exponent of the first: what lies after the point is c.length - e - 1.
  const decimals = Math.max(0, value.c.length - value.e - 1);
  // Never fewer decimals than the value has, so toFixed only pads and never rounds.
  return value.toFixed(Math.max(decimals, minDecimals));
}

function decimalsWritten(value: Decimal): number {
  const dot = value.indexOf('.');
  return dot < 0 ? 0 : value.length - dot - 1;
}
