import type { Licence } from './licence.js';
import type { AccountKind, MdChannel, MdSubscribeChannel } from './wire.js';

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
  orderCancelAll: 'engine.order.cancel-all',
  orderAmend: 'engine.order.amend',
  licenceChanged: 'licence.changed',
  /** A Sharia screen change for one instrument and board (docs/operations.md, compliance screening). */
  complianceScreen: 'compliance.screen',
} as const;

/** Every kind of the registry of stream kinds: the market-data channels (`status` is derived in the gateway, not sent by the engine), sessions, account streams and control events. */
export type EngineEventKind = MdSubscribeChannel | 'session' | AccountKind | 'licence' | 'compliance';

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
  /** The engine's own sequence of this subject, optional: a skipped number shows the gateway that events were lost (feed health). */
  seq?: number;
}

export interface EngineTrade {
  price: string | number;
  size: string | number;
  side: 'buy' | 'sell';
  tradeId: string;
  ts: number;
  /** The engine's own sequence of this subject, optional: a skipped number shows the gateway that events were lost (feed health). */
  seq?: number;
}

export interface EngineBook {
  type: 'snapshot' | 'delta';
  bids: [string | number, string | number][];
  asks: [string | number, string | number][];
  ts: number;
  /** The engine's own sequence of this subject, optional: a skipped number shows the gateway that events were lost (feed health). */
  seq?: number;
}

export interface EngineSession {
  status: 'PRE_OPEN' | 'OPEN' | 'CLOSED' | 'HALTED';
  ts: number;
}

/**
 * `licence.changed`: the engine (or a licensing service on its bus) changes a tenant's or a user's licence on every
 * replica at once. Exactly one of `tenant` / `userId`; `licence` sets it, `revoked: true` revokes it, neither clears
 * the override so the registry or the token applies again.
 */
export interface EngineLicenceChanged {
  tenant?: string;
  userId?: string;
  licence?: Licence;
  revoked?: boolean;
  ts: number;
}

/**
 * `compliance.screen`: one board's verdict on one instrument changed (a board's interim decision, a data vendor's
 * update). It overrides the COMPLIANCE_FILE screen until a file with another `metadata.version` is loaded.
 */
export interface EngineComplianceScreenChange {
  instrument: string;
  board: string;
  status: 'compliant' | 'non_compliant';
  /** Reason codes (docs/operations.md); at least one for `non_compliant`, none for `compliant`. */
  reasons?: string[];
  /** The screen version this change belongs to, shown in metrics and /admin endpoints. */
  version?: string;
  ts: number;
}

/** The earliest engine `ts` accepted: 2000-01-01T00:00:00Z. Anything before is a unit slip (seconds) or garbage. */
export const ENGINE_TS_EARLIEST_MS = Date.UTC(2000, 0, 1);
/** How far an engine `ts` may lie ahead of the gateway's clock (24 h): room for skew, none for nonsense like 1e308. */
export const ENGINE_TS_MAX_AHEAD_MS = 24 * 60 * 60 * 1000;

/**
 * Whether an engine event's `ts` is a plausible epoch-millisecond time: a number between 2000-01-01 and 24 hours
 * after `now` (fractions of a millisecond are allowed). Seconds, microseconds, negative or non-finite values and
 * far-future times are malformed.
 */
export function isPlausibleEngineTime(ts: unknown, now = Date.now()): ts is number {
  return typeof ts === 'number' && ts >= ENGINE_TS_EARLIEST_MS && ts <= now + ENGINE_TS_MAX_AHEAD_MS;
}
