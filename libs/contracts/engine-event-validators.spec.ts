import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bookProblem,
  orderProblem,
  portfolioProblem,
  positionProblem,
  quoteProblem,
  sessionProblem,
  toDecimal,
  tradeProblem,
  validateBook,
  validateOrder,
  validatePortfolio,
  validatePosition,
  validateQuote,
  validateSession,
  validateTrade,
  type Validated,
} from '#libs/contracts';

/**
 * The validators' hand-written decimal scan against the contract's decimal as a regular expression (docs/protocol.md
 * §7: up to 24 integer and 18 fraction digits), and each kind's allocation-free check (`<kind>Problem`, what the
 * publisher runs) against its validator (what the gateway runs): the same verdict and the same reason whatever the
 * payload, and an accepted event always normalized into the contract's form. Behaviour of the validators themselves is specified in libs/realtime/engine-event-validators.spec.ts.
 */
const CONTRACT_DECIMAL = /^-?\d{1,24}(\.\d{1,18})?$/;
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);

describe('the decimal scan', () => {
  it('accepts exactly the strings the contract pattern matches', () => {
    const decimalish = fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', '+', 'e', ' ', '٣', '\n', 'x'), maxLength: 48 });
    const digits = (max: number) => fc.string({ unit: fc.constantFrom('0', '5', '9'), minLength: 0, maxLength: max });
    const nearTheLimits = fc.tuple(fc.boolean(), digits(26), fc.option(digits(20), { nil: undefined })).map(([minus, integer, fraction]) => `${minus ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}`);
    fc.assert(
      fc.property(fc.oneof(decimalish, nearTheLimits, fc.string()), (text) => {
        expect(toDecimal(text)).toBe(CONTRACT_DECIMAL.test(text) ? text : null);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a JSON number as the text JavaScript prints for it, and refuses what prints with an exponent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(1e21, 1e-7, 123456789012345680000, 0.000001, -0)), (value) => {
        const printed = String(value);
        expect(toDecimal(value)).toBe(Number.isFinite(value) && CONTRACT_DECIMAL.test(printed) ? printed : null);
      }),
      { numRuns: RUNS },
    );
  });
});

/** Values a field may carry, from right to every kind of wrong. */
const fieldValue = fc.oneof(
  fc.constantFrom<unknown>('1', '0', '189.50', '-1', '-0', '1e5', '', ' 1', '1.', '.5', 'x', 'BUY', 'buy', 'Sell', 'limit', 'STOP_LIMIT', 'partially_filled', 'New', 'Trade', 'snapshot', 'DELTA', 'OPEN', 'pre_open', 'USD', 'T-1'),
  fc.constantFrom<unknown>(0, 1, -1, 1.5, -0.5, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, [], {}, ['1', '2'], [['1', '2']], [['1', '-2']], [['1']], [[1, 2, 3]]),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 120, maxLength: 1_100 }),
);

/** A valid event of each kind, and a payload made from it by changing, adding or removing some fields. */
function mutations(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const fields = [...Object.keys(valid), 'seq', 'open', 'high', 'low', 'prevClose', 'price', 'avgPrice', 'reason', 'extra'];
  const ts = fc.constantFrom<unknown>(Date.now(), Date.UTC(2000, 0, 1), 0, -1, 1e308, Date.now() + 2 * 86_400_000, '1748856600101', 7, 41, 2 ** 60);
  const change = fc.tuple(fc.constantFrom(...fields), fc.oneof(fieldValue, ts));
  return fc.oneof(
    fc.array(change, { maxLength: 4 }).map((changes) => {
      const payload: Record<string, unknown> = { ...valid };
      for (const [field, value] of changes) {
        if (value === undefined) delete payload[field];
        else payload[field] = value;
      }
      return payload;
    }),
    fieldValue,
  );
}

const ts = Date.now();

interface Kind {
  valid: Record<string, unknown>;
  problem: (payload: unknown) => string | null;
  validate: (payload: unknown) => Validated<unknown>;
  /** Where the validated value keeps the event's fields. */
  fieldsOf: (value: never) => Record<string, unknown>;
  /** The fields that are decimals, and the enums with the contract's spellings. */
  decimals: string[];
  enums: Record<string, readonly string[]>;
}

const SIDES = ['buy', 'sell'];
const KINDS: Record<string, Kind> = {
  quote: {
    valid: { bid: '1.0', ask: '1.1', bidSize: '10', askSize: '10', last: '1.05', lastSize: '1', volume: '100', ts },
    problem: quoteProblem,
    validate: validateQuote,
    fieldsOf: (value: { data: Record<string, unknown> }) => value.data,
    decimals: ['bid', 'ask', 'bidSize', 'askSize', 'last', 'lastSize', 'volume', 'open', 'high', 'low', 'prevClose'],
    enums: {},
  },
  trade: {
    valid: { price: '1', size: '2', side: 'buy', tradeId: 'T-1', ts },
    problem: tradeProblem,
    validate: validateTrade,
    fieldsOf: (value: { data: Record<string, unknown> }) => value.data,
    decimals: ['price', 'size'],
    enums: { side: SIDES },
  },
  book: {
    valid: { type: 'snapshot', bids: [['1', '2']], asks: [['1.1', '3']], ts },
    problem: bookProblem,
    validate: validateBook,
    // Levels flattened: `bids.0.0` is the first bid's price.
    fieldsOf: (value: { type: string; bids: string[][]; asks: string[][] }) => ({ type: value.type, ...Object.fromEntries([...value.bids, ...value.asks].flat().map((decimal, i) => [`level${i}`, decimal])) }),
    decimals: Array.from({ length: 8 }, (_, i) => `level${i}`),
    enums: { type: ['snapshot', 'delta'] },
  },
  session: {
    valid: { status: 'OPEN', ts },
    problem: sessionProblem,
    validate: validateSession,
    fieldsOf: (value: { status: string }) => ({ status: value.status }),
    decimals: [],
    enums: { status: ['PRE_OPEN', 'OPEN', 'CLOSED', 'HALTED'] },
  },
  order: {
    valid: { orderId: 'O', clientOrderId: 'C', symbol: 'NASDAQ:AAPL', side: 'buy', type: 'limit', status: 'new', execType: 'new', quantity: '1', filledQuantity: '0', leavesQuantity: '1', ts },
    problem: orderProblem,
    validate: validateOrder,
    fieldsOf: (value: { fields: Record<string, unknown> }) => value.fields,
    decimals: ['quantity', 'filledQuantity', 'leavesQuantity', 'price', 'avgPrice', 'lastFillPrice', 'lastFillQuantity'],
    enums: {
      side: SIDES,
      type: ['market', 'limit', 'stop', 'stop_limit'],
      status: ['pending_new', 'new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired'],
      execType: ['new', 'trade', 'canceled', 'replaced', 'rejected', 'expired', 'pending_new', 'pending_cancel'],
    },
  },
  position: {
    valid: { symbol: 'NASDAQ:AAPL', quantity: '1', avgPrice: '1', marketPrice: '1', marketValue: '1', unrealizedPnl: '0', realizedPnl: '0', dayPnl: '0', ts },
    problem: positionProblem,
    validate: validatePosition,
    fieldsOf: (value: { fields: Record<string, unknown> }) => value.fields,
    decimals: ['quantity', 'avgPrice', 'marketPrice', 'marketValue', 'unrealizedPnl', 'realizedPnl', 'dayPnl'],
    enums: {},
  },
  portfolio: {
    valid: { currency: 'USD', equity: '1', cash: '1', buyingPower: '1', marketValue: '0', dayPnl: '0', totalPnl: '0', ts },
    problem: portfolioProblem,
    validate: validatePortfolio,
    fieldsOf: (value: { fields: Record<string, unknown> }) => value.fields,
    decimals: ['equity', 'cash', 'buyingPower', 'marketValue', 'dayPnl', 'totalPnl'],
    enums: {},
  },
};

describe.each(Object.entries(KINDS))('the %s check', (_name, kind) => {
  it('passes the valid event', () => {
    expect(kind.problem(kind.valid)).toBeNull();
    expect(kind.validate(kind.valid)).toMatchObject({ ok: true });
  });

  it("gives the validator's verdict and reason, and what it passes normalizes into the contract's form", () => {
    fc.assert(
      fc.property(mutations(kind.valid), (payload) => {
        const verdict = kind.validate(payload);
        expect(kind.problem(payload)).toBe(verdict.ok ? null : verdict.reason);
        if (!verdict.ok) return;
        // Normalizing cannot fail: every field is a non-empty string, decimals as the contract writes them, enums in
        // its spelling. Nothing but the contract's fields is handed on.
        for (const [field, value] of Object.entries(kind.fieldsOf(verdict.value as never))) {
          expect(typeof value === 'string' && value.length > 0, field).toBe(true);
          if (kind.decimals.includes(field)) expect(value, field).toMatch(CONTRACT_DECIMAL);
          else if (field in kind.enums) expect(kind.enums[field], field).toContain(value);
        }
        expect(Object.keys(kind.fieldsOf(verdict.value as never))).not.toContain('extra');
      }),
      { numRuns: RUNS },
    );
  });
});
