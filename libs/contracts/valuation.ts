import type { AccountEvent } from './wire.js';

/**
 * Live mark-to-market (docs/protocol.md §6.8): between the engine's position and portfolio events, the gateway
 * revalues them from its own quotes. A valuation is derived, not an engine fact: it is its own event, never takes a
 * `seq` of the account stream, is not kept in the replay log and is never replayed.
 */
export const VALUATION_EVENTS = {
  positions: 'positions:valuation',
  portfolio: 'portfolio:valuation',
} as const;

/** Who produced a figure: engine events carry no `source` (its absence means the engine). */
export type ValuationSource = 'engine' | 'gateway';

/** What a revalued item says about its marking, beside the engine's fields. */
export interface ValuationMark {
  source: 'gateway';
  /** The engine `ts` of the newest quote used (a position: the quote whose `last` is its `marketPrice`). */
  quoteTs: number;
  /** True when a price used is the delayed one (the watcher's licence has the exchange `delayed`). */
  delayed: boolean;
}

/**
 * One position revalued: the engine's last `position` event for the symbol (its `seq` and `ts` too: the state it
 * revalues) with `marketPrice`, `marketValue`, `unrealizedPnl` and `dayPnl` moved to the quote's `last`.
 */
export type ValuedPosition = AccountEvent<'position'> & ValuationMark;

/** The engine's last `portfolio` event revalued: `marketValue`, `equity`, `dayPnl` and `totalPnl` moved. */
export type ValuedPortfolio = AccountEvent<'portfolio'> & ValuationMark;

/** `positions:valuation` on `/positions`: the positions of one account whose price moved since the last one. */
export interface PositionsValuation {
  account: string;
  /** The account's current seq on this stream: the engine state this is based on. Not a new seq (keep `since` as is). */
  seq: number;
  /** The gateway's time of the valuation. */
  ts: number;
  source: 'gateway';
  items: ValuedPosition[];
}

/** `portfolio:valuation` on `/portfolio`: the account's portfolio revalued. */
export interface PortfolioValuation {
  account: string;
  /** The account's current seq on this stream (not a new one). */
  seq: number;
  /** The gateway's time of the valuation. */
  ts: number;
  source: 'gateway';
  portfolio: ValuedPortfolio;
}
