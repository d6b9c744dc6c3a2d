import { isPlausibleEngineTime } from './engine-subjects.js';
import type { BookLevel, Decimal, OrderFields, PortfolioFields, PositionFields, QuoteData, SessionStatus, TradeData } from './wire.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

const DECIMAL = /^-?\d{1,24}(\.\d{1,18})?$/;

/** Engines may send decimals as strings or JSON numbers; clients always get strings, never floats. */
export function toDecimal(value: unknown): Decimal | null {
  if (typeof value === 'string') return DECIMAL.test(value) ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const text = String(value);
    return DECIMAL.test(text) ? text : null; // exponent forms (1e-7, 1e21) are refused, not guessed at
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An engine `ts`: plausible epoch milliseconds (from 2000-01-01 to 24 h ahead of this gateway's clock). */
const validTs = (value: unknown): value is number => isPlausibleEngineTime(value);
const TS_PROBLEM = 'ts is missing or not plausible epoch milliseconds (2000-01-01 to 24 h ahead)';
const SEQ_PROBLEM = 'seq is not a non-negative integer';

/** A decimal with a leading minus sign ("-0" included): prices and sizes of market data are never below zero. */
const isNegative = (value: Decimal): boolean => value.startsWith('-');

class FieldReader {
  failure: string | null = null;
  constructor(private readonly source: Record<string, unknown>) {}

  decimal(field: string): Decimal {
    const value = toDecimal(this.source[field]);
    if (value === null) this.fail(`${field} is not a decimal`);
    return value ?? '0';
  }
  /** A price or size: a decimal that is not negative (JSON numbers are finite by construction, 1e400 is refused). */
  amount(field: string): Decimal {
    const value = this.decimal(field);
    if (isNegative(value)) this.fail(`${field} is negative`);
    return value;
  }
  optionalAmount(field: string): Decimal | undefined {
    if (this.source[field] === undefined || this.source[field] === null) return undefined;
    return this.amount(field);
  }
  optionalDecimal(field: string): Decimal | undefined {
    if (this.source[field] === undefined || this.source[field] === null) return undefined;
    return this.decimal(field);
  }
  string(field: string, maxLength = 128): string {
    const value = this.source[field];
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
      this.fail(`${field} is not a string`);
      return '';
    }
    return value;
  }
  optionalString(field: string): string | undefined {
    return this.source[field] === undefined || this.source[field] === null ? undefined : this.string(field, 1024);
  }
  /** An enum, in any case (`BUY`, `Limit`), as the contract writes it: see `enumValue`. */
  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const value = enumValue(this.source[field], allowed);
    if (value === undefined) {
      this.fail(`${field} is not one of ${allowed.join('|')}`);
      return allowed[0];
    }
    return value;
  }
  private fail(reason: string): void {
    this.failure ??= reason;
  }
}

/** No enum of the contract is longer; a longer string is not one, whatever its case (and is not lower-cased to find out). */
const MAX_ENUM_LENGTH = 32;

/**
 * The contract's spelling of an engine enum, matched without regard to case: FIX-speaking engines publish `BUY`,
 * `LIMIT`, `PARTIALLY_FILLED`, and clients always get the one spelling of the contract (`buy`, or `OPEN` for a
 * session). Undefined when the value is none of `allowed`. The exact spelling is checked first: it is the common case.
 */
export function enumValue<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  if (typeof value !== 'string' || value.length > MAX_ENUM_LENGTH) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const folded = value.toLowerCase();
  return allowed.find((entry) => entry.toLowerCase() === folded);
}

function finish<T>(reader: FieldReader, value: T): Validated<T> {
  return reader.failure ? { ok: false, reason: reader.failure } : { ok: true, value };
}

export interface EngineStamp {
  ts: number;
  /** The engine's own per-account sequence, when it sends one. */
  seq?: number;
}

function stamp(payload: Record<string, unknown>): EngineStamp | string {
  if (!validTs(payload.ts)) return TS_PROBLEM;
  const seq = payload.seq;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)) return SEQ_PROBLEM;
  return { ts: payload.ts, seq: seq };
}

/**
 * A market-data event's optional `seq`: the engine's own per-subject sequence, read only to see gaps (feed health);
 * clients get the gateway's seq. Undefined when absent, null when malformed.
 */
function mdSeq(payload: Record<string, unknown>): number | undefined | null {
  const seq = payload.seq;
  if (seq === undefined) return undefined;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
}

export function validateQuote(payload: unknown): Validated<{ ts: number; seq?: number; data: QuoteData }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  if (!validTs(payload.ts)) return { ok: false, reason: TS_PROBLEM };
  const seq = mdSeq(payload);
  if (seq === null) return { ok: false, reason: SEQ_PROBLEM };
  const r = new FieldReader(payload);
  const data: QuoteData = {
    bid: r.amount('bid'),
    ask: r.amount('ask'),
    bidSize: r.amount('bidSize'),
    askSize: r.amount('askSize'),
    last: r.amount('last'),
    lastSize: r.amount('lastSize'),
    volume: r.amount('volume'),
  };
  const open = r.optionalAmount('open');
  const high = r.optionalAmount('high');
  const low = r.optionalAmount('low');
  const prevClose = r.optionalAmount('prevClose');
  if (open !== undefined) data.open = open;
  if (high !== undefined) data.high = high;
  if (low !== undefined) data.low = low;
  if (prevClose !== undefined) data.prevClose = prevClose;
  return finish(r, { ts: payload.ts, seq, data });
}

export function validateTrade(payload: unknown): Validated<{ ts: number; seq?: number; data: TradeData }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  if (!validTs(payload.ts)) return { ok: false, reason: TS_PROBLEM };
  const seq = mdSeq(payload);
  if (seq === null) return { ok: false, reason: SEQ_PROBLEM };
  const r = new FieldReader(payload);
  const data: TradeData = { price: r.amount('price'), size: r.amount('size'), side: r.oneOf('side', ['buy', 'sell'] as const), tradeId: r.string('tradeId') };
  return finish(r, { ts: payload.ts, seq, data });
}

const MAX_BOOK_LEVELS = 1_000;
const BOOK_TYPES = ['snapshot', 'delta'] as const;

function levels(value: unknown): BookLevel[] | null {
  if (!Array.isArray(value) || value.length > MAX_BOOK_LEVELS) return null;
  const out: BookLevel[] = [];
  for (const level of value) {
    if (!Array.isArray(level) || level.length < 2) return null;
    const price = toDecimal(level[0]);
    const size = toDecimal(level[1]);
    if (price === null || size === null || isNegative(price) || isNegative(size)) return null;
    out.push([price, size]);
  }
  return out;
}

export function validateBook(payload: unknown): Validated<{ ts: number; seq?: number; type: 'snapshot' | 'delta'; bids: BookLevel[]; asks: BookLevel[] }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  if (!validTs(payload.ts)) return { ok: false, reason: TS_PROBLEM };
  const seq = mdSeq(payload);
  if (seq === null) return { ok: false, reason: SEQ_PROBLEM };
  const type = enumValue(payload.type, BOOK_TYPES);
  if (type === undefined) return { ok: false, reason: 'type is not snapshot|delta' };
  const bids = levels(payload.bids ?? []);
  const asks = levels(payload.asks ?? []);
  if (!bids || !asks) return { ok: false, reason: 'bids/asks are not [price, size] pairs of non-negative decimals' };
  return { ok: true, value: { ts: payload.ts, seq, type, bids, asks } };
}

const SESSION_STATUSES: readonly SessionStatus[] = ['PRE_OPEN', 'OPEN', 'CLOSED', 'HALTED'];

export function validateSession(payload: unknown): Validated<{ ts: number; status: SessionStatus }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  if (!validTs(payload.ts)) return { ok: false, reason: TS_PROBLEM };
  const status = enumValue(payload.status, SESSION_STATUSES);
  if (status === undefined) return { ok: false, reason: 'status is not PRE_OPEN|OPEN|CLOSED|HALTED' };
  return { ok: true, value: { ts: payload.ts, status } };
}

const ORDER_SIDES = ['buy', 'sell'] as const;
const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
const ORDER_STATUSES = ['pending_new', 'new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired'] as const;
const EXEC_TYPES = ['new', 'trade', 'canceled', 'replaced', 'rejected', 'expired', 'pending_new', 'pending_cancel'] as const;

export function validateOrder(payload: unknown): Validated<EngineStamp & { fields: OrderFields }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  const s = stamp(payload);
  if (typeof s === 'string') return { ok: false, reason: s };
  const r = new FieldReader(payload);
  const fields: OrderFields = {
    orderId: r.string('orderId'),
    clientOrderId: r.string('clientOrderId'),
    symbol: r.string('symbol'),
    side: r.oneOf('side', ORDER_SIDES),
    type: r.oneOf('type', ORDER_TYPES),
    status: r.oneOf('status', ORDER_STATUSES),
    execType: r.oneOf('execType', EXEC_TYPES),
    quantity: r.decimal('quantity'),
    filledQuantity: r.decimal('filledQuantity'),
    leavesQuantity: r.decimal('leavesQuantity'),
  };
  const optional = { price: r.optionalDecimal('price'), avgPrice: r.optionalDecimal('avgPrice'), lastFillPrice: r.optionalDecimal('lastFillPrice'), lastFillQuantity: r.optionalDecimal('lastFillQuantity') };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (fields as unknown as Record<string, string>)[key] = value;
  const reason = r.optionalString('reason');
  if (reason !== undefined) fields.reason = reason;
  return finish(r, { ...s, fields });
}

export function validatePosition(payload: unknown): Validated<EngineStamp & { fields: PositionFields }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  const s = stamp(payload);
  if (typeof s === 'string') return { ok: false, reason: s };
  const r = new FieldReader(payload);
  const fields: PositionFields = {
    symbol: r.string('symbol'),
    quantity: r.decimal('quantity'),
    avgPrice: r.decimal('avgPrice'),
    marketPrice: r.decimal('marketPrice'),
    marketValue: r.decimal('marketValue'),
    unrealizedPnl: r.decimal('unrealizedPnl'),
    realizedPnl: r.decimal('realizedPnl'),
    dayPnl: r.decimal('dayPnl'),
  };
  return finish(r, { ...s, fields });
}

export function validatePortfolio(payload: unknown): Validated<EngineStamp & { fields: PortfolioFields }> {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' };
  const s = stamp(payload);
  if (typeof s === 'string') return { ok: false, reason: s };
  const r = new FieldReader(payload);
  const fields: PortfolioFields = {
    currency: r.string('currency', 8),
    equity: r.decimal('equity'),
    cash: r.decimal('cash'),
    buyingPower: r.decimal('buyingPower'),
    marketValue: r.decimal('marketValue'),
    dayPnl: r.decimal('dayPnl'),
    totalPnl: r.decimal('totalPnl'),
  };
  return finish(r, { ...s, fields });
}
