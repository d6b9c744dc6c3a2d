import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as contracts from '#libs/contracts';
import { makeBenchQuote } from './lib/bench-quotes.js';

/**
 * What the engine event validators of libs/contracts cost per event, in nanoseconds: `validateQuote` (the gateway's
 * ingest) and `quoteProblem` (the publisher's check) on the quotes an engine sends, `validateOrder` on order events,
 * and `JSON.stringify` of the same quote as a same-run yardstick. One process, no I/O.
 *
 * `--base PATH` also measures another build's libs/contracts (its `dist/libs/contracts/index.js`, built from another
 * commit), rounds alternated with this build's so that both see the same machine: an A/B of a validator change.
 *
 *   node dist/bench/validator-cost.js --rounds 15
 *   node dist/bench/validator-cost.js --rounds 15 --base ../other-checkout/dist/libs/contracts/index.js
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    events: { type: 'string', default: '300000' },
    base: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const events = Number(values.events);

type Check = (payload: unknown) => unknown;
interface Build {
  validateQuote: Check;
  validateOrder: Check;
  quoteProblem?: Check;
}

const QUOTES = 1_000;
const now = Date.now();
/** The bench engine's quotes, as bench/publisher-throughput.ts publishes them. */
const quotes = Array.from({ length: QUOTES }, (_, n) => makeBenchQuote(n, 100 + (n % 50) + (n % 7) / 100, now));
const orders = quotes.map((quote, n) => ({
  orderId: `O-${n}`,
  clientOrderId: `c-${n}`,
  symbol: 'NASDAQ:AAPL',
  side: n % 2 === 0 ? 'buy' : 'sell',
  type: 'limit',
  status: 'partially_filled',
  execType: 'trade',
  quantity: '500',
  filledQuantity: '200',
  leavesQuantity: '300',
  price: quote.bid,
  avgPrice: quote.last,
  ts: now,
}));

/** Nanoseconds per call of `check` over the sample, `events` calls; the results are kept so nothing is optimized out. */
let sink = 0;
function nsPerCall(check: Check, sample: readonly object[]): number {
  const started = performance.now();
  for (let n = 0; n < events; n++) if (check(sample[n % QUOTES]) !== null) sink++;
  return ((performance.now() - started) * 1e6) / events;
}

const builds: [string, Build][] = [['this build', contracts]];
if (values.base) builds.push(['base', (await import(pathToFileURL(resolve(values.base)).href)) as Build]);
const figures = new Map<string, number[]>();
const record = (name: string, ns: number) => figures.set(name, [...(figures.get(name) ?? []), ns]);
for (let round = -1; round < rounds; round++) {
  // Round -1 warms every function up (JIT) and is not counted; then builds alternate which goes first.
  const turn = round % 2 === 0 ? builds : [...builds].reverse();
  for (const [name, build] of turn) {
    const quote = nsPerCall(build.validateQuote, quotes);
    const order = nsPerCall(build.validateOrder, orders);
    const problem = build.quoteProblem ? nsPerCall(build.quoteProblem, quotes) : undefined;
    if (round < 0) continue;
    record(`${name}: validateQuote`, quote);
    record(`${name}: validateOrder`, order);
    if (problem !== undefined) record(`${name}: quoteProblem`, problem);
  }
  const stringify = nsPerCall((quote) => JSON.stringify(quote), quotes);
  if (round >= 0) record('JSON.stringify(quote)', stringify);
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const summary = Object.fromEntries(
  [...figures].map(([name, xs]) => {
    const s = sorted(xs);
    return [name, { medianNs: Math.round(s[Math.floor(s.length / 2)]), minNs: Math.round(s[0]), maxNs: Math.round(s[s.length - 1]) }];
  }),
);
/** This build over the base within each round (they ran back to back), for each function both have: median and spread. */
const againstBase = Object.fromEntries(
  ['validateQuote', 'validateOrder'].map((fn) => {
    const mine = figures.get(`this build: ${fn}`) ?? [];
    const base = figures.get(`base: ${fn}`) ?? [];
    const ratios = sorted(mine.map((ns, i) => ns / base[i]).filter((ratio) => Number.isFinite(ratio)));
    const round3 = (x: number | undefined) => (x === undefined ? undefined : Number(x.toFixed(3)));
    return [fn, { median: round3(ratios[Math.floor(ratios.length / 2)]), min: round3(ratios[0]), max: round3(ratios[ratios.length - 1]) }];
  }),
);
console.log(JSON.stringify({ rounds, events, ns: summary, ...(values.base ? { timeAgainstBase: againstBase } : {}), sink: sink > 0 }, null, 1));
