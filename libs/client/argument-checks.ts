import { INSTRUMENT_PATTERN, MD_CHANNELS, MD_SUBSCRIBE_CHANNELS, ORDER_ID_PATTERN, ORDER_SIDES, ORDER_TYPES, PRICED_ORDER_TYPES, type MdChannel } from '#libs/contracts';
import { InvalidArgumentError } from './errors.js';
import type { AccountSubscribeOptions, AmendOrderInput, CancelAllOrdersInput, CancelOrderInput, MarketDataSubscribeOptions, SubmitOrderInput, TradewireClientOptions } from './types.js';

/** Checks on the arguments of public methods: a bad one throws `InvalidArgumentError` before anything is sent. */

const ACCOUNT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const DECIMAL_PATTERN = /^\d{1,18}(\.\d{1,12})?$/;
const TIME_IN_FORCE_PATTERN = /^[A-Za-z_]{1,16}$/;

function fail(argument: string, message: string): never {
  throw new InvalidArgumentError(argument, message);
}

function checkNonNegativeInteger(argument: string, value: unknown, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) fail(argument, `must be an integer from 0 to ${max}`);
}

export function checkClientOptions(options: TradewireClientOptions): void {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  const urls: unknown[] = Array.isArray(options.url) ? options.url : [options.url];
  if (urls.length === 0 || !urls.every((url) => typeof url === 'string' && /^(https?|wss?):\/\//.test(url))) fail('url', 'must be an http(s) or ws(s) URL, or a non-empty list of them');
  if (typeof options.getToken !== 'function') fail('getToken', 'must be a function returning a token');
  const { minDelayMs, maxDelayMs } = options.backoff ?? {};
  if (minDelayMs !== undefined) checkNonNegativeInteger('backoff.minDelayMs', minDelayMs);
  if (maxDelayMs !== undefined) checkNonNegativeInteger('backoff.maxDelayMs', maxDelayMs);
  for (const key of ['pingIntervalMs', 'requestTimeoutMs', 'rateLimitRetries', 'commandRetries', 'tradeTapeSize'] as const) {
    if (options[key] !== undefined) checkNonNegativeInteger(key, options[key]);
  }
}

export function checkMarketDataSubscribe(options: MarketDataSubscribeOptions): void {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  if (!Array.isArray(options.instruments) || options.instruments.length === 0) fail('instruments', 'must be a non-empty array');
  for (const instrument of options.instruments) {
    if (typeof instrument !== 'string' || !INSTRUMENT_PATTERN.test(instrument)) fail('instruments', `${String(instrument)} is not EXCHANGE:SYMBOL`);
  }
  if (!Array.isArray(options.channels) || options.channels.length === 0) fail('channels', 'must be a non-empty array');
  for (const channel of options.channels) {
    if (!(MD_SUBSCRIBE_CHANNELS as readonly unknown[]).includes(channel)) fail('channels', `${String(channel)} is not one of ${MD_SUBSCRIBE_CHANNELS.join(', ')}`);
  }
  if (options.throttleMs !== undefined) checkNonNegativeInteger('throttleMs', options.throttleMs, 60_000);
  if (options.depth !== undefined && (typeof options.depth !== 'number' || !Number.isInteger(options.depth) || options.depth < 1 || options.depth > 50)) {
    fail('depth', 'must be an integer from 1 to 50');
  }
}

export function checkInstrument(instrument: string): void {
  if (typeof instrument !== 'string' || !INSTRUMENT_PATTERN.test(instrument)) fail('instrument', `${String(instrument)} is not EXCHANGE:SYMBOL`);
}

export function checkChannel(channel: MdChannel): void {
  if (!(MD_CHANNELS as readonly unknown[]).includes(channel)) fail('channel', `${String(channel)} is not one of ${MD_CHANNELS.join(', ')}`);
}

function checkAccount(account: unknown, argument = 'account'): void {
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account)) fail(argument, 'must be 1 to 64 letters, digits, _ or -');
}

export function checkAccountSubscribe(options: AccountSubscribeOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  if (options.accounts === undefined) return;
  if (!Array.isArray(options.accounts) || options.accounts.length === 0) fail('accounts', 'must be a non-empty array (or left out for every account)');
  for (const account of options.accounts) checkAccount(account, 'accounts');
}

function checkDecimal(argument: string, value: unknown): void {
  if (typeof value !== 'string' || !DECIMAL_PATTERN.test(value) || /^0*(\.0*)?$/.test(value)) {
    fail(argument, 'must be a decimal string greater than 0, e.g. "100" or "189.50"');
  }
}

export function checkSubmitOrder(input: SubmitOrderInput): void {
  if (typeof input !== 'object' || input === null) fail('order', 'must be an object');
  checkAccount(input.account);
  checkInstrument(input.instrument);
  if (!(ORDER_SIDES as readonly unknown[]).includes(input.side)) fail('side', `must be one of ${ORDER_SIDES.join(', ')}`);
  if (!(ORDER_TYPES as readonly unknown[]).includes(input.type)) fail('type', `must be one of ${ORDER_TYPES.join(', ')}`);
  checkDecimal('quantity', input.quantity);
  if (input.price !== undefined) checkDecimal('price', input.price);
  else if (PRICED_ORDER_TYPES.includes(input.type)) fail('price', `is required for a ${input.type} order`);
  if (input.timeInForce !== undefined && (typeof input.timeInForce !== 'string' || !TIME_IN_FORCE_PATTERN.test(input.timeInForce))) {
    fail('timeInForce', 'must be 1 to 16 letters or _');
  }
  if (input.clientOrderId !== undefined && (typeof input.clientOrderId !== 'string' || !ORDER_ID_PATTERN.test(input.clientOrderId))) {
    fail('clientOrderId', "must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
  }
}

export function checkCancelOrder(input: CancelOrderInput): void {
  if (typeof input !== 'object' || input === null) fail('cancel', 'must be an object');
  checkAccount(input.account);
  if (input.orderId === undefined && input.clientOrderId === undefined) fail('orderId', 'give orderId or clientOrderId');
  for (const key of ['orderId', 'clientOrderId'] as const) {
    const value = input[key];
    if (value !== undefined && (typeof value !== 'string' || !ORDER_ID_PATTERN.test(value))) fail(key, "must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
  }
}

function checkOrderId(argument: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || !ORDER_ID_PATTERN.test(value))) fail(argument, "must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
}

export function checkCancelAllOrders(input: CancelAllOrdersInput): void {
  if (typeof input !== 'object' || input === null) fail('cancelAll', 'must be an object');
  checkAccount(input.account);
  if (input.instrument !== undefined) checkInstrument(input.instrument);
  if (input.side !== undefined && !(ORDER_SIDES as readonly unknown[]).includes(input.side)) fail('side', `must be one of ${ORDER_SIDES.join(', ')}`);
  checkOrderId('requestId', input.requestId);
}

export function checkAmendOrder(input: AmendOrderInput): void {
  if (typeof input !== 'object' || input === null) fail('amend', 'must be an object');
  checkAccount(input.account);
  if (input.orderId === undefined && input.origClientOrderId === undefined) fail('orderId', 'give orderId or origClientOrderId');
  checkOrderId('orderId', input.orderId);
  checkOrderId('origClientOrderId', input.origClientOrderId);
  checkOrderId('clientOrderId', input.clientOrderId);
  if (input.quantity === undefined && input.price === undefined) fail('quantity', 'give quantity or price (or both)');
  if (input.quantity !== undefined) checkDecimal('quantity', input.quantity);
  if (input.price !== undefined) checkDecimal('price', input.price);
  if (input.clientOrderId !== undefined && input.clientOrderId === input.origClientOrderId) fail('clientOrderId', 'must be new: it names the replacement, origClientOrderId the order it replaces');
}
