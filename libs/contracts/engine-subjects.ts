import type { AccountKind, MdChannel } from './wire.js';

/**
 * Engine subjects (PROTOCOL.md §2). The same names are Redis channels. Patterns use NATS wildcards; the Redis
 * transport subscribes to them with PSUBSCRIBE, where `*` means the same for names whose tokens hold no dots.
 */
export const ENGINE_SUBJECTS = {
  quote: 'md.quote.*.*',
  trade: 'md.trade.*.*',
  book: 'md.book.*.*',
  session: 'md.session.*',
  order: 'acct.*.order',
  position: 'acct.*.position',
  portfolio: 'acct.*.portfolio',
  orderSubmit: 'engine.order.submit',
  orderCancel: 'engine.order.cancel',
} as const;

export type EngineEventKind = MdChannel | 'session' | AccountKind;

export function mdSubject(channel: MdChannel, exchange: string, symbol: string): string {
  return `md.${channel}.${exchange}.${symbol}`;
}

export function sessionSubject(exchange: string): string {
  return `md.session.${exchange}`;
}

export function accountSubject(account: string, kind: AccountKind): string {
  return `acct.${account}.${kind}`;
}

/** `md.quote.NASDAQ.AAPL` → `NASDAQ:AAPL`; null when the subject is not a market-data subject. */
export function instrumentFromMdSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'md' || !parts[2] || !parts[3]) return null;
  return `${parts[2]}:${parts[3]}`;
}

export function exchangeFromSessionSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 3 || parts[0] !== 'md' || parts[1] !== 'session' || !parts[2]) return null;
  return parts[2];
}

/** `acct.ACC-1.order` → `ACC-1`. */
export function accountFromSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 3 || parts[0] !== 'acct' || !parts[1]) return null;
  return parts[1];
}

/** Raw engine payloads as they arrive (before validation): decimals may come as strings or numbers. */
export interface EngineQuote {
  bid: string | number;
  ask: string | number;
  bidSize: string | number;
  askSize: string | number;
  last: string | number;
  lastSize: string | number;
  volume: string | number;
  open?: string | number;
  high?: string | number;
  low?: string | number;
  prevClose?: string | number;
  ts: number;
}

export interface EngineTrade {
  price: string | number;
  size: string | number;
  side: 'buy' | 'sell';
  tradeId: string;
  ts: number;
}

export interface EngineBook {
  type: 'snapshot' | 'delta';
  bids: [string | number, string | number][];
  asks: [string | number, string | number][];
  ts: number;
}

export interface EngineSession {
  status: 'PRE_OPEN' | 'OPEN' | 'CLOSED' | 'HALTED';
  ts: number;
}
