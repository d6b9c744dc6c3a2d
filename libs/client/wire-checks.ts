import {
  FEED_STATES,
  FEED_STATUS_REASONS,
  instrumentOfStatusStream,
  isErrorCode,
  parseStream,
  STATUS_CHANNEL,
  type AccountEvent,
  type AccountKind,
  type BookData,
  type BookLevel,
  type FeedStatus,
  type MdMessage,
  type MdSubscribeChannel,
  type PortfolioValuation,
  type PositionsValuation,
  type QuoteData,
  type TradeData,
  type ValuationMark,
  type WireError,
} from '#libs/contracts';

/** Checks on what arrives from the server: the SDK trusts no frame's shape until one of these has passed. */

export function isObject(value: unknown): value is Record<string, unknown> & { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isSeq = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

export function isWireError(value: unknown): value is WireError {
  return isObject(value) && isErrorCode(value.code) && typeof value.message === 'string';
}

function isLevel(value: unknown): value is BookLevel {
  return Array.isArray(value) && value.length >= 2 && isString(value[0]) && isString(value[1]);
}

const QUOTE_FIELDS = ['bid', 'ask', 'bidSize', 'askSize', 'last', 'lastSize', 'volume'] as const;

/** A `status` message's data: a feed status the SDK can hand out. */
export function isFeedStatus(data: unknown): data is FeedStatus {
  if (!isObject(data)) return false;
  const { state, lastEventAgeMs, since, reason } = data;
  return (
    (FEED_STATES as readonly unknown[]).includes(state) &&
    (lastEventAgeMs === null || typeof lastEventAgeMs === 'number') &&
    typeof since === 'number' &&
    (reason === null || (FEED_STATUS_REASONS as readonly unknown[]).includes(reason))
  );
}

function checkData(channel: MdSubscribeChannel, data: unknown): string | null {
  if (!isObject(data)) return 'data is not an object';
  switch (channel) {
    case 'status':
      return isFeedStatus(data) ? null : 'status without state, lastEventAgeMs, since or reason';
    case 'quote': {
      const quote = data as Partial<Record<keyof QuoteData, unknown>>;
      const missing = QUOTE_FIELDS.find((field) => !isString(quote[field]));
      return missing ? `quote without ${missing}` : null;
    }
    case 'trade': {
      const trade = data as Partial<Record<keyof TradeData, unknown>>;
      if (!isString(trade.price) || !isString(trade.size) || !isString(trade.tradeId)) return 'trade without price, size or tradeId';
      return trade.side === 'buy' || trade.side === 'sell' ? null : 'trade side is not buy or sell';
    }
    case 'book': {
      const book = data as Partial<Record<keyof BookData, unknown>>;
      if (!Array.isArray(book.bids) || !Array.isArray(book.asks)) return 'book without bids or asks';
      if (!book.bids.every(isLevel) || !book.asks.every(isLevel)) return 'book level is not [price, size]';
      return isSeq(book.checksum) ? null : 'book without checksum';
    }
  }
}

/** An `md` message the SDK can apply, with its parsed stream; or why not. */
export function checkMdMessage(value: unknown): { message: MdMessage<MdSubscribeChannel>; channel: MdSubscribeChannel; instrument: string } | { problem: string } {
  if (!isObject(value)) return { problem: 'message is not an object' };
  if (!isString(value.stream)) return { problem: 'message without stream' };
  const statusOf = instrumentOfStatusStream(value.stream);
  const parsed: { channel: MdSubscribeChannel; instrument: string } | null = statusOf ? { channel: STATUS_CHANNEL, instrument: statusOf } : parseStream(value.stream);
  if (!parsed) return { problem: `unknown stream ${value.stream}` };
  if (value.type !== 'snapshot' && value.type !== 'update') return { problem: `unknown message type ${String(value.type)}` };
  if (!isSeq(value.seq)) return { problem: 'message without seq' };
  if (value.prevSeq !== undefined && !isSeq(value.prevSeq)) return { problem: 'prevSeq is not a seq' };
  if (typeof value.ts !== 'number') return { problem: 'message without ts' };
  const problem = checkData(parsed.channel, value.data);
  if (problem) return { problem };
  return { message: value as unknown as MdMessage<MdSubscribeChannel>, ...parsed };
}

const ACCOUNT_KEY: Record<AccountKind, string> = { order: 'orderId', position: 'symbol', portfolio: 'currency' };

export function isAccountEvent<K extends AccountKind>(kind: K, value: unknown): value is AccountEvent<K> {
  return isObject(value) && isString(value.account) && isSeq(value.seq) && isString(value[ACCOUNT_KEY[kind]]);
}

/** A gateway-revalued item: an account event with `source: 'gateway'` and the quote time it used. */
function isValued<K extends 'position' | 'portfolio'>(kind: K, value: unknown): value is AccountEvent<K> & ValuationMark {
  if (!isAccountEvent(kind, value)) return false;
  const mark = value as Partial<Record<keyof ValuationMark, unknown>>;
  return mark.source === 'gateway' && typeof mark.quoteTs === 'number' && typeof mark.delayed === 'boolean';
}

/** A `positions:valuation` (kind `position`) or `portfolio:valuation` (kind `portfolio`) the SDK can apply. */
export function isValuation(kind: 'position', value: unknown): value is PositionsValuation;
export function isValuation(kind: 'portfolio', value: unknown): value is PortfolioValuation;
export function isValuation(kind: 'position' | 'portfolio', value: unknown): boolean {
  if (!isObject(value) || !isString(value.account) || !isSeq(value.seq) || value.source !== 'gateway') return false;
  if (kind === 'position') return Array.isArray(value.items) && value.items.every((item) => isValued('position', item) && item.account === value.account);
  return isValued('portfolio', value.portfolio) && value.portfolio.account === value.account;
}
