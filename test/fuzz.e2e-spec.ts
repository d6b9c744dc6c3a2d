import { connect, type NatsConnection } from '@nats-io/transport-node';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS, NAMESPACES, ORDER_ID_PATTERN, ORDER_STATUSES, type MdMessage, type Namespace, type QuoteData, type WireError } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, nextEvent, request, sleep, unchecked, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, RedisServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * Property-based fuzz of everything a client or an engine can send (client events on every namespace, engine events
 * on every subject, engine replies to order commands), against a real gateway with real NATS, Redis,
 * socket.io-client, NATS client and ioredis. `npm test` runs each property briefly; `npm run fuzz` sets FUZZ_RUNS
 * (runs per property) for a long run, and FUZZ_SEED replays the seed a failure printed.
 *
 * What must hold, whatever is sent: every answer is the contract's envelope with a contract code, never INTERNAL for
 * client input (INTERNAL is the contract's answer to an engine reply it cannot read, §7.3), the connection stays, no malformed engine event reaches a client, and a bystander subscribed to quotes keeps
 * receiving them with no gap over one second.
 */
const LONG_RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const CLIENT_RUNS = LONG_RUNS > 0 ? LONG_RUNS : 150;
const ENGINE_RUNS = LONG_RUNS > 0 ? LONG_RUNS : 300;
/** A long run is allowed about 40 ms per client request and 10 ms per engine event on top of the setup. */
const CLIENT_TIMEOUT_MS = 30_000 + CLIENT_RUNS * 40;
const ENGINE_TIMEOUT_MS = 30_000 + ENGINE_RUNS * 10;
const REPLY_RUNS = LONG_RUNS > 0 ? LONG_RUNS : 100;
const REPLY_TIMEOUT_MS = 30_000 + REPLY_RUNS * 40;
const ANSWER_TIMEOUT_MS = 5_000;
const MAX_QUOTE_GAP_MS = 1_000;
const HEARTBEAT_MS = 50;

/** fast-check's settings: the seed is printed on failure; shrinking (slow against a live gateway) only in long runs. */
const runSettings = <T>(numRuns: number): fc.Parameters<T> => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: LONG_RUNS === 0 });

const ALL_NAMESPACES = Object.values(NAMESPACES);
const CLIENT_EVENT_NAMES = ['subscribe', 'unsubscribe', 'resync', 'ping', 'auth:refresh', 'order:submit', 'order:cancel', 'order:cancel-all', 'order:amend', 'order:deadman'] as const;
/** socket.io-client refuses to emit these names itself; a hostile client could, and the raw path covers that. */
const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

/** Objects whose own keys try to reach a prototype: built from JSON text, as they arrive off the wire. */
const pollution = fc
  .array(
    fc.tuple(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'instruments', 'accounts', 'token'),
      fc.constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', '["NASDAQ:AAPL"]', '"x"', '1', 'null', '{"__proto__":{"isAdmin":true}}'),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((pairs) => JSON.parse(`{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`) as unknown);

/** Nesting from a little to far past the limit (socket.io-client's own encoder recurses: deeper ones go the raw path). */
const deepValue = fc.record({ levels: fc.integer({ min: 2, max: 1_000 }), object: fc.boolean(), leaf: fc.constantFrom<unknown>(1, 'NASDAQ:AAPL', null) }).map(({ levels, object, leaf }) => {
  let value: object = object ? { a: leaf } : [leaf];
  for (let i = 1; i < levels; i++) value = object ? { a: value } : [value];
  // fast-check prints a counterexample recursively: it gets this one-line description instead (a symbol key, which
  // neither JSON nor Socket.IO's encoder sees).
  Object.defineProperty(value, fc.toStringMethod, { value: () => `<${levels} levels of ${object ? 'objects' : 'arrays'}>`, enumerable: false });
  return value;
});

/** Binary attachments: up to 12 buffers of up to 120 KB, over the frame limit, the attachment cap or both. */
const attachments = fc.array(fc.integer({ min: 0, max: 120 * 1024 }), { minLength: 1, maxLength: 12 }).map((sizes) => {
  const buffers = sizes.map((size) => Buffer.alloc(size, 0x5a));
  Object.defineProperty(buffers, fc.toStringMethod, { value: () => `<buffers of ${sizes.join(', ')} bytes>`, enumerable: false });
  return buffers;
});

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('NASDAQ:AAPL', 'NASDAQ:NOPE', 'quote:NASDAQ:AAPL', 'book:NASDAQ:AAPL', 'ACC-1001', 'ACC-2001', '', ' ', '-1', '1e308', 'x'.repeat(300), '\u0000', '🙂'),
);

const anyValue = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3, withTypedArray: true, withNullPrototype: true, withSparseArray: true, withDate: true, withMap: true, withSet: true, withBoxedValues: true }) },
  { weight: 2, arbitrary: pollution },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: attachments },
);

/** Payloads shaped like the contract's requests, each field valid, hostile or missing. */
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: anyValue });
const requestLike = fc.oneof(
  fc.record(
    {
      instruments: maybe(fc.array(fc.constantFrom('NASDAQ:AAPL', 'NASDAQ:MSFT', 'NYSE:IBM', 'NASDAQ:NOPE', 'AAPL', 'nasdaq:aapl'), { maxLength: 5 })),
      channels: maybe(fc.array(fc.constantFrom('quote', 'trade', 'book', 'tick'), { maxLength: 4 })),
      throttleMs: maybe(fc.integer({ min: -10, max: 100_000 })),
      depth: maybe(fc.integer({ min: -1, max: 1_000 })),
      stream: maybe(fc.constantFrom('quote:NASDAQ:AAPL', 'book:NASDAQ:AAPL', 'trade:NYSE:IBM', 'book:')),
      accounts: maybe(fc.array(fc.constantFrom('ACC-1001', 'ACC-2001', '', '*'), { maxLength: 3 })),
      since: maybe(fc.dictionary(fc.constantFrom('ACC-1001', 'ACC-2001', '__proto__'), fc.integer({ min: -5, max: 1_000 }))),
      token: maybe(fc.constantFrom('not-a-jwt', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'x'.repeat(20_000))),
      padding: maybe(attachments),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      clientOrderId: maybe(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/)),
      account: maybe(fc.constantFrom('ACC-1001', 'ACC-2001', 'ACC 1001')),
      instrument: maybe(fc.constantFrom('NASDAQ:AAPL', 'NASDAQ:NOPE', 'AAPL')),
      side: maybe(fc.constantFrom('buy', 'sell', 'hold')),
      type: maybe(fc.constantFrom('market', 'limit', 'stop', 'stop_limit', 'iceberg')),
      quantity: maybe(fc.constantFrom('100', '0', '-1', '1e9', '0.5', '99999999999999999999999999')),
      price: maybe(fc.constantFrom('189.40', '-1', 'NaN', '')),
      timeInForce: maybe(fc.constantFrom('day', 'gtc', 'ioc', '')),
    },
    { requiredKeys: ['clientOrderId', 'account', 'instrument', 'side', 'type', 'quantity'] },
  ),
  fc.record(
    {
      account: maybe(fc.constantFrom('ACC-1001', 'ACC-2001', '')),
      orderId: maybe(fc.constantFrom('O-1', '', 'x'.repeat(100))),
      clientOrderId: maybe(fc.constantFrom('c-1', '__proto__', '')),
    },
    { requiredKeys: ['account'] },
  ),
  fc.record(
    {
      requestId: maybe(fc.constantFrom('r-1', '__proto__', '', 'x'.repeat(100), 'a#b')),
      account: maybe(fc.constantFrom('ACC-1001', 'ACC-2001', '')),
      instrument: maybe(fc.constantFrom('NASDAQ:AAPL', 'NASDAQ:NOPE', 'AAPL', '')),
      side: maybe(fc.constantFrom('buy', 'sell', 'BUY', 'hold')),
    },
    { requiredKeys: ['requestId', 'account'] },
  ),
  fc.record(
    {
      clientOrderId: maybe(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/)),
      account: maybe(fc.constantFrom('ACC-1001', 'ACC-2001', '')),
      orderId: maybe(fc.constantFrom('O-1', '', 'x'.repeat(100))),
      origClientOrderId: maybe(fc.constantFrom('c-1', '__proto__', '')),
      quantity: maybe(fc.constantFrom('100', '0', '-1', '1e9', '99999999999999999999999999')),
      price: maybe(fc.constantFrom('189.40', '0', '-1', 'NaN', '')),
    },
    { requiredKeys: ['clientOrderId', 'account'] },
  ),
);

type ClientCommand =
  | { kind: 'emit'; namespace: Namespace; event: string; args: unknown[]; withAck: boolean }
  /** Written straight to the connection without an ack id: nesting no socket.io-client could encode, or a reserved name. */
  | { kind: 'raw'; namespace: Namespace; event: string; levels: number; binary: boolean };

const eventName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CLIENT_EVENT_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((name) => !CLIENT_RESERVED.has(name)) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'error', 'welcome', 'md', 'SUBSCRIBE', 'subscribe ', 'order:submit\u0000') },
);

const clientCommand: fc.Arbitrary<ClientCommand> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('emit' as const),
      namespace: fc.constantFrom(...ALL_NAMESPACES),
      event: eventName,
      args: fc.oneof({ weight: 1, arbitrary: fc.constant<unknown[]>([]) }, { weight: 6, arbitrary: fc.oneof(requestLike, anyValue).map((payload): unknown[] => [payload]) }, { weight: 1, arbitrary: fc.array(anyValue, { minLength: 2, maxLength: 3 }) }),
      withAck: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      namespace: fc.constantFrom(...ALL_NAMESPACES),
      event: fc.constantFrom(...CLIENT_EVENT_NAMES, 'disconnect', 'newListener', 'unknown-event'),
      levels: fc.integer({ min: 33, max: 25_000 }),
      binary: fc.boolean(),
    }),
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Contract checks

function expectContractError(error: unknown, context: string): void {
  expect(error, context).toMatchObject({ code: expect.any(String) as string, status: expect.any(Number) as number, message: expect.any(String) as string });
  const { code, status } = error as WireError;
  expect(ERROR_CODES, context).toContain(code);
  expect(code, context).not.toBe('INTERNAL');
  expect(status, context).toBe(ERROR_STATUS[code]);
}

function expectContractAnswer(answer: unknown, context: string): void {
  expect(typeof answer === 'object' && answer !== null, context).toBe(true);
  const envelope = answer as { ok?: unknown; data?: unknown; error?: unknown };
  if (envelope.ok === true) {
    expect(Object.keys(envelope).sort(), context).toEqual(['data', 'ok']);
    return;
  }
  expect(envelope.ok, context).toBe(false);
  expectContractError(envelope.error, context);
}

/** Writes an EVENT packet as Socket.IO would, straight to the connection (no ack id: the answer is an `error` event). */
function emitRaw(socket: Socket, namespace: string, event: string, payloadJson: string, buffers: Buffer[] = []): void {
  const type = buffers.length > 0 ? `5${buffers.length}-` : '2';
  socket.io.engine.write(`${type}${namespace},[${JSON.stringify(event)},${payloadJson}]`);
  for (const buffer of buffers) socket.io.engine.write(buffer);
}

/** Enough to tell runs apart in an assertion message; fast-check prints the whole counterexample on failure. */
const describeCommand = (command: ClientCommand) => `${command.kind} ${JSON.stringify(command.event)} on ${command.namespace}${command.kind === 'emit' ? (command.withAck ? ' with ack' : ' without ack') : ` (${command.levels} levels)`}`;

// ---------------------------------------------------------------------------------------------------------------
// Engine payloads: a valid event of each kind with at least one defect, so that every one is malformed

type EngineKind = 'quote' | 'trade' | 'book' | 'session' | 'order' | 'position' | 'portfolio' | 'licence' | 'compliance';

interface EngineCase {
  transport: 'nats' | 'redis';
  subject: string;
  body: string | Uint8Array;
}

const now = () => Date.now();
const badTs = fc.constantFrom<unknown>(1e308, -1, 0, -1_700_000_000_000, 1_700_000_000, 1_700_000_000_000_000, 946_684_799_999, 'DELAY', '2026-01-01T00:00:00Z', null, {}, [], true).map((ts) => (ts === 'DELAY' ? now() + 3 * 86_400_000 : ts));
const badDecimal = fc.constantFrom<unknown>('-1', -0.5, '-0', '-0.0001', 'abc', '', '1e5', 1e308, '1,5', '9'.repeat(30), null, {}, [], true, '∞', 'NaN', ' 1');
const badString = fc.constantFrom<unknown>('', 'x'.repeat(200), {}, [], true, null);
const badEnum = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom<unknown>(null, 1, {}, [], 'BUY', 'Open'));
/** A value that is none of `allowed`, in any case: engine enums are read without regard to case (`BUY` is `buy`). */
const notIn = (allowed: readonly string[]) => badEnum.filter((value) => typeof value !== 'string' || !allowed.some((entry) => entry.toLowerCase() === value.toLowerCase()));
/** Malformed for a decimal that may be negative (order quantities, P&L): anything but a plain decimal. */
const badSignedDecimal = badDecimal.filter((value) => !(typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e21) && !(typeof value === 'string' && /^-\d/.test(value)));
const deepJson = fc.integer({ min: 40, max: 30_000 }).map((levels) => ({ deep: levels }));

/** Each kind: its subject (the instruments and accounts the watching clients hold), its valid base, its defects. */
const ENGINE_KINDS: Record<EngineKind, { subject: string; base: () => Record<string, unknown>; defects: Record<string, fc.Arbitrary<unknown>> }> = {
  quote: {
    subject: 'md.quote.NASDAQ.AAPL',
    base: () => ({ bid: '1', ask: '2', bidSize: '3', askSize: '4', last: '666.01', lastSize: '1', volume: '10', ts: now() }),
    defects: { bid: badDecimal, ask: badDecimal, bidSize: badDecimal, askSize: badDecimal, last: badDecimal, lastSize: badDecimal, volume: badDecimal, open: badDecimal.filter((v) => v !== null), ts: badTs },
  },
  trade: {
    subject: 'md.trade.NASDAQ.AAPL',
    base: () => ({ price: '10', size: '1', side: 'buy', tradeId: 'T-666', ts: now() }),
    defects: { price: badDecimal, size: badDecimal, side: notIn(['buy', 'sell']), tradeId: badString, ts: badTs },
  },
  book: {
    subject: 'md.book.NASDAQ.AAPL',
    base: () => ({ type: 'snapshot', bids: [['10', '1']], asks: [['11', '1']], ts: now() }),
    defects: {
      type: notIn(['snapshot', 'delta']),
      bids: fc.constantFrom<unknown>([['10', '-1']], [['-10', '1']], [['10']], ['x'], [['a', '1']], 'x', {}, 7, Array.from({ length: 1_001 }, () => ['1', '1'])),
      asks: fc.constantFrom<unknown>([['11', '-0']], [[null, '1']], [[{}, []]], true),
      ts: badTs,
    },
  },
  session: { subject: 'md.session.NASDAQ', base: () => ({ status: 'HALTED', ts: now() }), defects: { status: notIn(['PRE_OPEN', 'OPEN', 'CLOSED', 'HALTED']), ts: badTs } },
  order: {
    subject: 'acct.ACC-1001.order',
    base: () => ({ orderId: 'O-666', clientOrderId: 'c-666', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '1', filledQuantity: '0', leavesQuantity: '1', price: '10', ts: now() }),
    defects: { orderId: badString, symbol: badString, side: notIn(['buy', 'sell']), status: notIn(['pending_new', 'new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired']), execType: notIn(['new', 'trade', 'canceled', 'replaced', 'rejected', 'expired', 'pending_new', 'pending_cancel']), quantity: badSignedDecimal, price: badSignedDecimal.filter((v) => v !== null), seq: fc.constantFrom<unknown>(-1, 1.5, 'x', 2 ** 60, {}), ts: badTs },
  },
  position: {
    subject: 'acct.ACC-1001.position',
    base: () => ({ symbol: 'NASDAQ:AAPL', quantity: '1', avgPrice: '1', marketPrice: '1', marketValue: '1', unrealizedPnl: '0', realizedPnl: '0', dayPnl: '0', ts: now() }),
    defects: { symbol: badString, quantity: badSignedDecimal, dayPnl: fc.constantFrom<unknown>('abc', {}, [], null, 1e308), ts: badTs },
  },
  portfolio: {
    subject: 'acct.ACC-1001.portfolio',
    base: () => ({ currency: 'USD', equity: '1', cash: '1', buyingPower: '1', marketValue: '1', dayPnl: '0', totalPnl: '0', ts: now() }),
    defects: { currency: fc.constantFrom<unknown>('', 'DOLLARS-US', {}, null), equity: fc.constantFrom<unknown>('abc', {}, null, 1e308), ts: badTs },
  },
  // A valid one would revoke the bystander's licence (and disconnect it): a leak cannot go unnoticed.
  licence: {
    subject: 'licence.changed',
    base: () => ({ userId: 'bystander', revoked: true, ts: now() }),
    defects: { ts: badTs, revoked: fc.constantFrom<unknown>('yes', 1, {}, []), userId: badString, tenant: fc.constant('acme-capital'), licence: fc.constantFrom<unknown>({ tier: 'x' }, 'revoked') },
  },
  compliance: {
    subject: 'compliance.screen',
    base: () => ({ instrument: 'NASDAQ:AAPL', board: 'AAOIFI', status: 'non_compliant', ts: now() }),
    defects: { instrument: fc.constantFrom<unknown>('AAPL', '', {}, null), board: fc.constantFrom<unknown>('', {}, 'x'.repeat(100)), status: notIn(['compliant', 'non_compliant']), reasons: fc.constantFrom<unknown>(['nope'], 'debt', [{}]), version: fc.constantFrom<unknown>(7, '', 'v'.repeat(100)), ts: badTs },
  },
};

/** JSON text of `value` with `levels` of nesting put in place of a field, without recursing to build or print it. */
const withDeepField = (json: string, field: string, levels: number) => json.replace(/}$/, `,${JSON.stringify(field)}:${'['.repeat(levels)}1${']'.repeat(levels)}}`);

const POLLUTION_JSON = ['"__proto__":{"polluted":true,"bid":"999"}', '"constructor":{"prototype":{"polluted":true}}', '"prototype":{"polluted":true}'];

const malformedJson: fc.Arbitrary<{ subject: string; body: string }> = fc
  .constantFrom(...(Object.keys(ENGINE_KINDS) as EngineKind[]))
  .chain((kind) => {
    const { subject, defects } = ENGINE_KINDS[kind];
    const fields = Object.keys(defects);
    return fc.record({
      kind: fc.constant(kind),
      subject: fc.constant(subject),
      // One to three defects, each a field set to a value that is malformed for it, or removed when required.
      defects: fc.uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: 3 }).chain((chosen) => fc.tuple(...chosen.map((field) => fc.tuple(fc.constant(field), fc.oneof({ weight: 4, arbitrary: defects[field] }, { weight: 1, arbitrary: deepJson }))))),
      pollution: fc.subarray(POLLUTION_JSON),
    });
  })
  .map(({ kind, subject, defects, pollution: extra }) => {
    const payload = ENGINE_KINDS[kind].base();
    const deep: [string, number][] = [];
    for (const [field, value] of defects) {
      if (typeof value === 'object' && value !== null && 'deep' in value) {
        delete payload[field];
        deep.push([field, (value as { deep: number }).deep]);
      } else if (value === null && field === 'ts') delete payload.ts;
      else payload[field] = value;
    }
    let json = JSON.stringify(payload);
    for (const [field, levels] of deep) json = withDeepField(json, field, levels);
    if (extra.length > 0) json = json.replace(/}$/, `,${extra.join(',')}}`);
    return { subject, body: json };
  });

/** Not JSON objects at all: garbage bytes, truncated text, scalars, deep arrays, very large bodies. */
const garbage: fc.Arbitrary<{ subject: string; body: string | Uint8Array }> = fc.record({
  subject: fc.constantFrom(...Object.values(ENGINE_KINDS).map((k) => k.subject), 'md.quote.NASDAQ.NOPE', 'md.book.X.Y', 'acct.ACC-9999.order', 'md.session.__proto__'),
  body: fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.constantFrom('', 'null', 'true', '1e308', '"quote"', '[]', '{', '{"bid":', '{"ts":1}', '{"__proto__":{"polluted":true}}', '\u0000\u0001', 'x'.repeat(300_000)),
    fc.integer({ min: 100, max: 60_000 }).map((levels) => `${'['.repeat(levels)}${']'.repeat(levels)}`),
    fc.integer({ min: 100, max: 30_000 }).map((levels) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`),
  ),
});

const engineCase: fc.Arbitrary<EngineCase> = fc
  .tuple(fc.constantFrom<'nats' | 'redis'>('nats', 'redis'), fc.oneof({ weight: 3, arbitrary: malformedJson }, { weight: 1, arbitrary: garbage }))
  .map(([transport, { subject, body }]) => ({ transport, subject, body }));

/** What an engine may answer an order command with (§7.3): answers and refusals, well-formed or not, and garbage. */
const engineReply: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.record(
          {
            orderId: fc.oneof(fc.constantFrom<unknown>('O-1', '', 7, null, {}, [], 'x'.repeat(5_000)), fc.string({ maxLength: 20 })),
            status: fc.oneof(fc.constantFrom<unknown>(...ORDER_STATUSES, 'NEW', '', 1, null, {}), fc.string({ maxLength: 12 })),
            orderIds: fc.oneof(fc.array(fc.constantFrom<unknown>('O-1', 'O-2', '', 7, null, 'a b', 'x'.repeat(100)), { maxLength: 5 }), fc.constantFrom<unknown>('O-1', null, {})),
            code: fc.constantFrom<unknown>('UNKNOWN_SYMBOL', 'INVALID_REQUEST', 'ENGINE_TIMEOUT', 'INTERNAL', 'NOPE', '', 42, null, {}, ['RATE_LIMITED'], 'x'.repeat(500)),
            message: fc.constantFrom<unknown>('refused', '', 9, null, {}, 'm'.repeat(5_000)),
          },
          { requiredKeys: [] },
        ),
        fc.subarray(POLLUTION_JSON),
      )
      .map(([reply, extra]) => (extra.length > 0 ? JSON.stringify(reply).replace(/}$/, `${Object.keys(reply).length > 0 ? ',' : ''}${extra.join(',')}}`) : JSON.stringify(reply))),
  },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"new"', '{', 'x'.repeat(300_000), '{"__proto__":{"orderId":"O-9","status":"new"}}') },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 20_000 }).map((levels) => `{"orderId":"O-1","status":"new","extra":${'['.repeat(levels)}${']'.repeat(levels)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 20_000 }).map((levels) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`) },
);

// ---------------------------------------------------------------------------------------------------------------

describe('fuzz: hostile client events and engine payloads against a real gateway', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let natsPublisher: NatsConnection;
  let redisPublisher: Redis;
  let bystander: NamespaceSocket<'/market-data'>;
  let heartbeat: NodeJS.Timeout;
  /** Every good quote the heartbeat published, by its `last`: what the bystander may receive and nothing else. */
  const published = new Map<string, QuoteData>();
  const arrivals: number[] = [];
  const bystanderMessages: MdMessage[] = [];
  const watchers: { namespace: string; socket: Socket; events: unknown[] }[] = [];
  const bystanderErrors: unknown[] = [];
  const bystanderSessions: unknown[] = [];

  beforeAll(async () => {
    [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
    gateway = await GatewayProcess.start({
      ENGINE_TRANSPORT: 'nats,redis',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      // Per-user request limits well above what the fuzz sends, so that it reaches validation rather than RATE_LIMITED.
      RATE_LIMIT_REQUESTS: '1000000/1m',
      RATE_LIMIT_REQUEST_BURST: '100000/1s',
      RATE_LIMIT_EVENTS: 'subscribe=100000/1m,order:submit=100000/1m',
      RATE_LIMIT_CANCELS: '100000/1m',
      RATE_LIMIT_BLOCK_AFTER: 'off',
      ORDER_TIMEOUT_MS: '1000',
    });
    natsPublisher = await connect({ servers: nats.url });
    redisPublisher = new Redis(redis.url);

    bystander = (await connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub: 'bystander', lic: FULL_LICENCE }) } })).socket;
    bystander.on('error', (error: unknown) => bystanderErrors.push(error));
    const subscribed = await request(bystander, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote', 'trade', 'book'] });
    expect(subscribed.ok).toBe(true);
    // Good quotes over NATS every 50 ms, a third of them carrying prototype-pollution keys that must not pass.
    let n = 0;
    heartbeat = setInterval(() => {
      n++;
      const data: QuoteData = { bid: '189.50', ask: '189.52', bidSize: '300', askSize: '200', last: `189.${String(n).padStart(6, '0')}`, lastSize: '10', volume: String(1_000 + n) };
      published.set(data.last, data);
      const json = JSON.stringify({ ...data, ts: Date.now() });
      natsPublisher.publish('md.quote.NASDAQ.AAPL', n % 3 === 0 ? json.replace(/}$/, `,${POLLUTION_JSON.join(',')}}`) : json);
    }, HEARTBEAT_MS);
    bystander.on('md', (messages: MdMessage[]) => {
      arrivals.push(Date.now());
      bystanderMessages.push(...messages);
    });
    await waitFor('the bystander receives quotes', () => (bystanderMessages.length > 0 ? true : undefined));
    bystander.on('session', (session: unknown) => bystanderSessions.push(session));

    const watcherToken = await hsToken({ sub: 'watcher', accounts: ['ACC-1001'], lic: FULL_LICENCE });
    for (const [namespace, event] of [
      [NAMESPACES.orders, 'order'],
      [NAMESPACES.positions, 'position'],
      [NAMESPACES.portfolio, 'portfolio'],
    ] as const) {
      const { socket } = await connectClient(gateway.url, namespace, { auth: { token: watcherToken } });
      expect((await request(socket, 'subscribe', { accounts: ['ACC-1001'] })).ok).toBe(true);
      watchers.push({ namespace, socket, events: collect(socket, event) });
    }
  }, 60_000);

  afterAll(async () => {
    clearInterval(heartbeat);
    bystander.close();
    for (const watcher of watchers) watcher.socket.close();
    await natsPublisher.close();
    redisPublisher.disconnect();
    await gateway.stop();
    await Promise.all([nats.stop(), redis.stop()]);
  });

  /** The largest gap between quotes the bystander received from `since` to now, now included. */
  function largestQuoteGap(since: number): number {
    const times = [since, ...arrivals.filter((t) => t > since), Date.now()];
    let largest = 0;
    for (let i = 1; i < times.length; i++) largest = Math.max(largest, (times[i] ?? 0) - (times[i - 1] ?? 0));
    return largest;
  }

  it(
    'answers every client event on every namespace with the contract, never INTERNAL, and keeps the connection',
    async () => {
      const token = await hsToken({ sub: 'fuzzer', accounts: ['ACC-1001'], lic: FULL_LICENCE });
      const sockets = new Map<string, NamespaceSocket>();
      const errorEvents: unknown[] = [];
      for (const namespace of ALL_NAMESPACES) {
        const { socket } = await connectClient(gateway.url, namespace, { auth: { token } });
        socket.on('error', (error: unknown) => errorEvents.push(error));
        sockets.set(namespace, socket);
      }
      const started = Date.now();
      try {
        await fc.assert(
          fc.asyncProperty(clientCommand, async (command) => {
            const context = describeCommand(command);
            const socket = sockets.get(command.namespace);
            if (!socket) throw new Error(`no socket for ${command.namespace}`);
            if (command.kind === 'raw') {
              const answer = nextEvent<unknown>(socket, 'error', ANSWER_TIMEOUT_MS);
              const nesting = `${'['.repeat(command.levels)}${command.binary ? '{"_placeholder":true,"num":0}' : '1'}${']'.repeat(command.levels)}`;
              emitRaw(socket, command.namespace, command.event, nesting, command.binary ? [Buffer.from('x')] : []);
              const error = await answer;
              expectContractError(error, context);
              expect((error as WireError).code, context).toBe('INVALID_REQUEST');
            } else if (command.withAck) {
              expectContractAnswer(await unchecked(socket).timeout(ANSWER_TIMEOUT_MS).emitWithAck(command.event, ...command.args), context);
            } else {
              unchecked(socket).emit(command.event, ...command.args);
            }
            expect(socket.connected, context).toBe(true);
            for (const error of errorEvents.splice(0)) expectContractError(error, `error event after ${context}`);
          }),
          runSettings(CLIENT_RUNS),
        );
        // Requests sent without an ack are answered (if at all) by now; every connection still answers.
        for (const socket of sockets.values()) {
          expect(socket.connected).toBe(true);
          expectContractAnswer(await request(socket, 'ping', {}), 'ping after the fuzz');
        }
        await sleep(200);
        for (const error of errorEvents) expectContractError(error, 'late error event');
        expect(largestQuoteGap(started)).toBeLessThanOrEqual(MAX_QUOTE_GAP_MS);
        expect(gateway.process.output).not.toMatch(/"level":"(error|fatal)"/);
      } finally {
        for (const socket of sockets.values()) socket.close();
      }
    },
    CLIENT_TIMEOUT_MS,
  );

  it(
    'drops every malformed engine event on every subject, over NATS and Redis, and no client sees one',
    async () => {
      const malformedBefore = await totalMalformed();
      const started = Date.now();
      const messagesBefore = bystanderMessages.length;
      await fc.assert(
        fc.asyncProperty(engineCase, async ({ transport, subject, body }) => {
          if (transport === 'nats') {
            natsPublisher.publish(subject, body);
            await natsPublisher.flush();
          } else {
            await redisPublisher.publish(subject, typeof body === 'string' ? body : Buffer.from(body));
          }
        }),
        runSettings(ENGINE_RUNS),
      );
      await sleep(500); // whatever the gateway would (wrongly) pass on has arrived by now

      // Nothing malformed reached anyone: the bystander got exactly the good quotes, and the watchers nothing.
      const received = bystanderMessages.slice(messagesBefore);
      expect(received.length).toBeGreaterThan(0);
      for (const message of received) {
        expect(message.stream).toBe('quote:NASDAQ:AAPL');
        const data = message.data as QuoteData;
        expect(data).toEqual(published.get(data.last));
      }
      expect(bystanderSessions).toEqual([]);
      for (const watcher of watchers) {
        expect(watcher.events, watcher.namespace).toEqual([]);
        expect(watcher.socket.connected, watcher.namespace).toBe(true);
      }
      expect(bystanderErrors).toEqual([]);
      expect(bystander.connected).toBe(true);
      expect(largestQuoteGap(started)).toBeLessThanOrEqual(MAX_QUOTE_GAP_MS);
      expect(await totalMalformed()).toBeGreaterThan(malformedBefore);
      expect(gateway.process.output).not.toMatch(/"level":"(error|fatal)"/);
      for (const line of gateway.process.output.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line) as unknown, line.slice(0, 200)).not.toThrow();
    },
    ENGINE_TIMEOUT_MS,
  );

  it(
    'answers order commands with the contract whatever the engine replies, and keeps the connection',
    async () => {
      const { socket } = await connectClient(gateway.url, NAMESPACES.orders, { auth: { token: await hsToken({ sub: 'fuzz-trader', accounts: ['ACC-1001'], lic: FULL_LICENCE }) } });
      const errorEvents = collect<unknown>(socket, 'error');
      let reply: string | Uint8Array = '';
      const responder = natsPublisher.subscribe('engine.order.*', { callback: (_error, msg) => void msg.respond(reply) });
      const started = Date.now();
      let n = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.constantFrom('order:submit', 'order:cancel', 'order:cancel-all', 'order:amend'), engineReply, async (command, body) => {
            reply = body;
            n++;
            // A new clientOrderId (requestId) every time: a repeated one is answered from memory without asking the engine.
            const payload = {
              'order:submit': { clientOrderId: `fz-${started}-${n}`, account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '100', price: '189.40' },
              'order:cancel': { account: 'ACC-1001', orderId: `O-${n}` },
              'order:cancel-all': { requestId: `fz-${started}-${n}`, account: 'ACC-1001', instrument: 'NASDAQ:AAPL' },
              'order:amend': { clientOrderId: `fz-${started}-${n}`, account: 'ACC-1001', orderId: `O-${n}`, price: '189.30' },
            }[command];
            const answer = (await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck(command, payload)) as {
              ok?: unknown;
              data?: { orderId?: unknown; status?: unknown; orderIds?: unknown };
              error?: unknown;
            };
            if (answer.ok === true) {
              // Only a well-formed engine answer may pass, and it passes as the contract says.
              if (command === 'order:cancel-all') {
                expect(Array.isArray(answer.data?.orderIds)).toBe(true);
                for (const id of answer.data?.orderIds as unknown[]) expect(typeof id === 'string' && ORDER_ID_PATTERN.test(id)).toBe(true);
              } else expect(ORDER_STATUSES).toContain(answer.data?.status);
              if (command === 'order:submit' || command === 'order:amend') expect(typeof answer.data?.orderId === 'string' && answer.data.orderId.length > 0).toBe(true);
            } else {
              // INTERNAL is the contract's answer to an engine code outside it or to an unreadable reply (§7.3).
              expect(answer.ok).toBe(false);
              const { code, status } = answer.error as WireError;
              expect(ERROR_CODES).toContain(code);
              expect(status).toBe(ERROR_STATUS[code]);
            }
            expect(socket.connected).toBe(true);
          }),
          runSettings(REPLY_RUNS),
        );
        expect(errorEvents).toEqual([]);
        expectContractAnswer(await request(socket, 'ping', {}), 'ping after the replies');
        expect(largestQuoteGap(started)).toBeLessThanOrEqual(MAX_QUOTE_GAP_MS);
        expect(gateway.process.output).not.toMatch(/"level":"(error|fatal)"/);
        for (const line of gateway.process.output.split('\n').filter((l) => l.trim() !== '')) {
          expect(() => JSON.parse(line) as unknown, line.slice(0, 200)).not.toThrow();
          expect(line.length, line.slice(0, 200)).toBeLessThan(4_096);
        }
      } finally {
        responder.unsubscribe();
        socket.close();
      }
    },
    REPLY_TIMEOUT_MS,
  );

  async function totalMalformed(): Promise<number> {
    const text = await gateway.metrics();
    return text
      .split('\n')
      .filter((line) => line.startsWith('tradewire_engine_events_malformed_total{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }
});
