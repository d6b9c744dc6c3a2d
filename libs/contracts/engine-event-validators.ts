import { isPlausibleEngineTime } from './engine-subjects.js';
import type { BookLevel, Decimal, OrderFields, PortfolioFields, PositionFields, QuoteData, SessionStatus, TradeData } from './wire.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/*
 * Each engine event kind has two functions here, one rule:
 *   - `<kind>Problem(payload)`: the reason the gateway refuses the event, or null. It reads the fields and allocates
 *     nothing for a valid event (reasons are built on failure only), so a publisher can check every event it sends
 *     for about the cost of reading it (bench/publisher-throughput.ts);
 *   - `validate<Kind>(payload)`: the same check, then the event in the contract's form (decimals and ids sent as JSON
 *     numbers become strings, enums get the contract's spelling, unknown fields are left behind): what the gateway
 *     hands on. Only a payload its `<kind>Problem` passed is normalized, so normalizing cannot fail.
 * Every price and size of every engine event passes through here, on the gateway's ingest and in the publisher.
 */

/** What a decimal's text is: not a decimal of the contract, or one and its sign. */
const NOT_DECIMAL = 0;
const NON_NEGATIVE = 1;
const NEGATIVE = 2;
type DecimalForm = typeof NOT_DECIMAL | typeof NON_NEGATIVE | typeof NEGATIVE;

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const MINUS = 45;
const POINT = 46;
const MAX_INTEGER_DIGITS = 24;
const MAX_FRACTION_DIGITS = 18;

/**
 * `-?\d{1,24}(\.\d{1,18})?`, scanned by hand: it answers in about a third of the time `RegExp.test` takes for the same
 * pattern, and gives the sign in the same pass (engine-event-validators.spec.ts holds the scan to the pattern).
 */
function decimalForm(text: string): DecimalForm {
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === MINUS;
  let i = negative ? 1 : 0;
  const integerStart = i;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code < DIGIT_0 || code > DIGIT_9) break;
    i++;
  }
  const integerDigits = i - integerStart;
  if (integerDigits === 0 || integerDigits > MAX_INTEGER_DIGITS) return NOT_DECIMAL;
  if (i < length) {
    if (text.charCodeAt(i) !== POINT) return NOT_DECIMAL;
    const fractionStart = ++i;
    while (i < length) {
      const code = text.charCodeAt(i);
      if (code < DIGIT_0 || code > DIGIT_9) return NOT_DECIMAL;
      i++;
    }
    const fractionDigits = i - fractionStart;
    if (fractionDigits === 0 || fractionDigits > MAX_FRACTION_DIGITS) return NOT_DECIMAL;
  }
  // A leading minus sign ("-0" included) is negative: prices and sizes of market data are never below zero.
  return negative ? NEGATIVE : NON_NEGATIVE;
}

/**
 * Engines may send decimals as strings or JSON numbers. A number must be finite and print without an exponent (1e-7
 * and 1e21 are refused, not guessed at); it is read as the text JavaScript prints for it.
 */
function decimalFormOf(value: unknown): DecimalForm {
  if (typeof value === 'string') return decimalForm(value);
  if (typeof value === 'number' && Number.isFinite(value)) return decimalForm(String(value));
  return NOT_DECIMAL;
}

/** A value its check passed, as the contract writes it: a string, or the text of the JSON number it came as. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

/** Engines may send decimals as strings or JSON numbers; clients always get strings, never floats. */
export function toDecimal(value: unknown): Decimal | null {
  return decimalFormOf(value) === NOT_DECIMAL ? null : text(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const absent = (value: unknown): value is undefined | null => value === undefined || value === null;

const NOT_AN_OBJECT = 'payload is not a JSON object';
const TS_PROBLEM = 'ts is missing or not plausible epoch milliseconds (2000-01-01 to 24 h ahead)';
const SEQ_PROBLEM = 'seq is not a non-negative integer';

/**
 * The problem with an event's `ts` (plausible epoch milliseconds, 2000-01-01 to 24 h ahead of this clock) and `seq`
 * (absent, or a non-negative safe integer), or null. On market data `seq` is the engine's own per-subject sequence,
 * read only to see gaps (feed health; clients get the gateway's seq); on account events it is the engine's numbering.
 */
function stampProblem(payload: Record<string, unknown>): string | null {
  if (!isPlausibleEngineTime(payload.ts)) return TS_PROBLEM;
  const seq = payload.seq;
  return seq === undefined || (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) ? null : SEQ_PROBLEM;
}

function decimalProblem(value: unknown, field: string): string | null {
  return decimalFormOf(value) === NOT_DECIMAL ? `${field} is not a decimal` : null;
}

/** A price or size: a decimal that is not negative. */
function amountProblem(value: unknown, field: string): string | null {
  const form = decimalFormOf(value);
  if (form === NON_NEGATIVE) return null;
  return form === NEGATIVE ? `${field} is negative` : `${field} is not a decimal`;
}

function optionalAmountProblem(value: unknown, field: string): string | null {
  return absent(value) ? null : amountProblem(value, field);
}

function optionalDecimalProblem(value: unknown, field: string): string | null {
  return absent(value) ? null : decimalProblem(value, field);
}

/** An id or name: a non-empty string of at most `maxLength`, or a finite JSON number (read as its text). */
function stringProblem(value: unknown, field: string, maxLength = 128): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return null;
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength ? null : `${field} is not a string`;
}

/** An enum, in any case (`BUY`, `Limit`), as the contract writes it: see `enumValue`. */
function enumProblem(value: unknown, field: string, allowed: readonly string[]): string | null {
  return enumValue(value, allowed) === undefined ? `${field} is not one of ${allowed.join('|')}` : null;
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

/** An enum value its check passed, in the contract's spelling. */
function member<T extends string>(value: unknown, allowed: readonly T[]): T {
  return enumValue(value, allowed) as T;
}

export interface EngineStamp {
  ts: number;
  /** The engine's own per-account sequence, when it sends one. */
  seq?: number;
}

// ---- quote -------------------------------------------------------------------------------------------------------

/** Why the gateway refuses this quote, or null: `validateQuote`'s check, allocation-free for a valid quote. */
export function quoteProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  return (
    stampProblem(payload) ??
    amountProblem(payload.bid, 'bid') ??
    amountProblem(payload.ask, 'ask') ??
    amountProblem(payload.bidSize, 'bidSize') ??
    amountProblem(payload.askSize, 'askSize') ??
    amountProblem(payload.last, 'last') ??
    amountProblem(payload.lastSize, 'lastSize') ??
    amountProblem(payload.volume, 'volume') ??
    optionalAmountProblem(payload.open, 'open') ??
    optionalAmountProblem(payload.high, 'high') ??
    optionalAmountProblem(payload.low, 'low') ??
    optionalAmountProblem(payload.prevClose, 'prevClose')
  );
}

export function validateQuote(payload: unknown): Validated<{ ts: number; seq?: number; data: QuoteData }> {
  const problem = quoteProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  const data: QuoteData = {
    bid: text(p.bid),
    ask: text(p.ask),
    bidSize: text(p.bidSize),
    askSize: text(p.askSize),
    last: text(p.last),
    lastSize: text(p.lastSize),
    volume: text(p.volume),
  };
  if (!absent(p.open)) data.open = text(p.open);
  if (!absent(p.high)) data.high = text(p.high);
  if (!absent(p.low)) data.low = text(p.low);
  if (!absent(p.prevClose)) data.prevClose = text(p.prevClose);
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, data } };
}

// ---- trade -------------------------------------------------------------------------------------------------------

const TRADE_SIDES = ['buy', 'sell'] as const;

/** Why the gateway refuses this trade, or null: `validateTrade`'s check, allocation-free for a valid trade. */
export function tradeProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  return (
    stampProblem(payload) ??
    amountProblem(payload.price, 'price') ??
    amountProblem(payload.size, 'size') ??
    enumProblem(payload.side, 'side', TRADE_SIDES) ??
    stringProblem(payload.tradeId, 'tradeId')
  );
}

export function validateTrade(payload: unknown): Validated<{ ts: number; seq?: number; data: TradeData }> {
  const problem = tradeProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  const data: TradeData = { price: text(p.price), size: text(p.size), side: member(p.side, TRADE_SIDES), tradeId: text(p.tradeId) };
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, data } };
}

// ---- book --------------------------------------------------------------------------------------------------------

const MAX_BOOK_LEVELS = 1_000;
const BOOK_TYPES = ['snapshot', 'delta'] as const;
const LEVELS_PROBLEM = 'bids/asks are not [price, size] pairs of non-negative decimals';

/** One side of a book: absent (no levels), or at most MAX_BOOK_LEVELS `[price, size]` of non-negative decimals. */
function validLevels(value: unknown): boolean {
  if (absent(value)) return true;
  if (!Array.isArray(value) || value.length > MAX_BOOK_LEVELS) return false;
  for (const level of value as unknown[]) {
    if (!Array.isArray(level) || level.length < 2) return false;
    if (decimalFormOf(level[0]) !== NON_NEGATIVE || decimalFormOf(level[1]) !== NON_NEGATIVE) return false;
  }
  return true;
}

/** The levels of a side its check passed, as the contract writes them (anything after the size is left behind). */
function levelsOf(value: unknown): BookLevel[] {
  if (absent(value)) return [];
  const levels = value as unknown[][];
  const out: BookLevel[] = new Array<BookLevel>(levels.length);
  for (let i = 0; i < levels.length; i++) out[i] = [text(levels[i][0]), text(levels[i][1])];
  return out;
}

/** Why the gateway refuses this book update, or null: `validateBook`'s check, allocation-free for a valid one. */
export function bookProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  const stamp = stampProblem(payload);
  if (stamp !== null) return stamp;
  if (enumValue(payload.type, BOOK_TYPES) === undefined) return 'type is not snapshot|delta';
  return validLevels(payload.bids) && validLevels(payload.asks) ? null : LEVELS_PROBLEM;
}

export function validateBook(payload: unknown): Validated<{ ts: number; seq?: number; type: 'snapshot' | 'delta'; bids: BookLevel[]; asks: BookLevel[] }> {
  const problem = bookProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, type: member(p.type, BOOK_TYPES), bids: levelsOf(p.bids), asks: levelsOf(p.asks) } };
}

// ---- session -----------------------------------------------------------------------------------------------------

const SESSION_STATUSES: readonly SessionStatus[] = ['PRE_OPEN', 'OPEN', 'CLOSED', 'HALTED'];

/** Why the gateway refuses this session change, or null: `validateSession`'s check. */
export function sessionProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  if (!isPlausibleEngineTime(payload.ts)) return TS_PROBLEM;
  return enumValue(payload.status, SESSION_STATUSES) === undefined ? 'status is not PRE_OPEN|OPEN|CLOSED|HALTED' : null;
}

export function validateSession(payload: unknown): Validated<{ ts: number; status: SessionStatus }> {
  const problem = sessionProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  return { ok: true, value: { ts: p.ts as number, status: member(p.status, SESSION_STATUSES) } };
}

// ---- account events ----------------------------------------------------------------------------------------------

const ORDER_SIDES = ['buy', 'sell'] as const;
const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
const ORDER_STATUSES = ['pending_new', 'new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired'] as const;
const EXEC_TYPES = ['new', 'trade', 'canceled', 'replaced', 'rejected', 'expired', 'pending_new', 'pending_cancel'] as const;

/** Why the gateway refuses this order event, or null: `validateOrder`'s check, allocation-free for a valid one. */
export function orderProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  return (
    stampProblem(payload) ??
    stringProblem(payload.orderId, 'orderId') ??
    stringProblem(payload.clientOrderId, 'clientOrderId') ??
    stringProblem(payload.symbol, 'symbol') ??
    enumProblem(payload.side, 'side', ORDER_SIDES) ??
    enumProblem(payload.type, 'type', ORDER_TYPES) ??
    enumProblem(payload.status, 'status', ORDER_STATUSES) ??
    enumProblem(payload.execType, 'execType', EXEC_TYPES) ??
    decimalProblem(payload.quantity, 'quantity') ??
    decimalProblem(payload.filledQuantity, 'filledQuantity') ??
    decimalProblem(payload.leavesQuantity, 'leavesQuantity') ??
    optionalDecimalProblem(payload.price, 'price') ??
    optionalDecimalProblem(payload.avgPrice, 'avgPrice') ??
    optionalDecimalProblem(payload.lastFillPrice, 'lastFillPrice') ??
    optionalDecimalProblem(payload.lastFillQuantity, 'lastFillQuantity') ??
    (absent(payload.reason) ? null : stringProblem(payload.reason, 'reason', 1024))
  );
}

export function validateOrder(payload: unknown): Validated<EngineStamp & { fields: OrderFields }> {
  const problem = orderProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  const fields: OrderFields = {
    orderId: text(p.orderId),
    clientOrderId: text(p.clientOrderId),
    symbol: text(p.symbol),
    side: member(p.side, ORDER_SIDES),
    type: member(p.type, ORDER_TYPES),
    status: member(p.status, ORDER_STATUSES),
    execType: member(p.execType, EXEC_TYPES),
    quantity: text(p.quantity),
    filledQuantity: text(p.filledQuantity),
    leavesQuantity: text(p.leavesQuantity),
  };
  if (!absent(p.price)) fields.price = text(p.price);
  if (!absent(p.avgPrice)) fields.avgPrice = text(p.avgPrice);
  if (!absent(p.lastFillPrice)) fields.lastFillPrice = text(p.lastFillPrice);
  if (!absent(p.lastFillQuantity)) fields.lastFillQuantity = text(p.lastFillQuantity);
  if (!absent(p.reason)) fields.reason = text(p.reason);
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, fields } };
}

/** Why the gateway refuses this position event, or null: `validatePosition`'s check, allocation-free for a valid one. */
export function positionProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  return (
    stampProblem(payload) ??
    stringProblem(payload.symbol, 'symbol') ??
    decimalProblem(payload.quantity, 'quantity') ??
    decimalProblem(payload.avgPrice, 'avgPrice') ??
    decimalProblem(payload.marketPrice, 'marketPrice') ??
    decimalProblem(payload.marketValue, 'marketValue') ??
    decimalProblem(payload.unrealizedPnl, 'unrealizedPnl') ??
    decimalProblem(payload.realizedPnl, 'realizedPnl') ??
    decimalProblem(payload.dayPnl, 'dayPnl')
  );
}

export function validatePosition(payload: unknown): Validated<EngineStamp & { fields: PositionFields }> {
  const problem = positionProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  const fields: PositionFields = {
    symbol: text(p.symbol),
    quantity: text(p.quantity),
    avgPrice: text(p.avgPrice),
    marketPrice: text(p.marketPrice),
    marketValue: text(p.marketValue),
    unrealizedPnl: text(p.unrealizedPnl),
    realizedPnl: text(p.realizedPnl),
    dayPnl: text(p.dayPnl),
  };
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, fields } };
}

/** Why the gateway refuses this portfolio event, or null: `validatePortfolio`'s check, allocation-free for a valid one. */
export function portfolioProblem(payload: unknown): string | null {
  if (!isObject(payload)) return NOT_AN_OBJECT;
  return (
    stampProblem(payload) ??
    stringProblem(payload.currency, 'currency', 8) ??
    decimalProblem(payload.equity, 'equity') ??
    decimalProblem(payload.cash, 'cash') ??
    decimalProblem(payload.buyingPower, 'buyingPower') ??
    decimalProblem(payload.marketValue, 'marketValue') ??
    decimalProblem(payload.dayPnl, 'dayPnl') ??
    decimalProblem(payload.totalPnl, 'totalPnl')
  );
}

export function validatePortfolio(payload: unknown): Validated<EngineStamp & { fields: PortfolioFields }> {
  const problem = portfolioProblem(payload);
  if (problem !== null) return { ok: false, reason: problem };
  const p = payload as Record<string, unknown>;
  const fields: PortfolioFields = {
    currency: text(p.currency),
    equity: text(p.equity),
    cash: text(p.cash),
    buyingPower: text(p.buyingPower),
    marketValue: text(p.marketValue),
    dayPnl: text(p.dayPnl),
    totalPnl: text(p.totalPnl),
  };
  return { ok: true, value: { ts: p.ts as number, seq: p.seq as number | undefined, fields } };
}
