import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { accountSubject, type EngineQuote, mdSubject } from '#libs/contracts';
import { sleep } from './lib/clock.js';
import type { AccountRef, InstrumentRef } from './lib/universe.js';

/**
 * The bench's own engine: publishes quotes and order events straight to NATS at fixed rates. It takes the same flags
 * as the project's simulator CLI (including --instruments-file / --accounts-file), so the harness can use either as its
 * load source; this one exists so the harness does not depend on the simulator, and it reports exactly how many
 * events it published, which the delivery figures use.
 *
 * Quotes go round-robin over the first `--instruments` instruments (every instrument gets the same rate); with
 * `--hot N --hot-rate R` the first N of them get R quotes/s each on top, and `--rate` is spread over the rest (a
 * skewed universe: a few names take most of the flow). Orders
 * round-robin over the first `--accounts` accounts. `ts` is `Date.now()`, whole milliseconds, as an engine sends it.
 */
const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'nats' },
    url: { type: 'string' },
    rate: { type: 'string', default: '0' },
    instruments: { type: 'string', default: '0' },
    channels: { type: 'string', default: 'quote' },
    accounts: { type: 'string', default: '0' },
    'order-rate': { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    hot: { type: 'string', default: '0' },
    'hot-rate': { type: 'string', default: '0' },
    'instruments-file': { type: 'string', default: 'data/instruments.json' },
    'accounts-file': { type: 'string', default: 'data/accounts.json' },
  },
});

if (values.transport !== 'nats' || !values.url) throw new Error('engine-publisher: --transport nats --url <nats url> required');
const quoteRate = Number(values.rate);
const orderRate = Number(values['order-rate']);
const durationMs = Number(values.duration) * 1000;
const hotCount = Number(values.hot);
const hotRate = Number(values['hot-rate']) * hotCount;
const instruments = readList<InstrumentRef>(values['instruments-file']).slice(0, Number(values.instruments));
const accounts = readList<AccountRef>(values['accounts-file']).slice(0, Number(values.accounts));
if (quoteRate > 0 && instruments.length === 0) throw new Error('engine-publisher: quotes need --instruments-file and --instruments');
if (orderRate > 0 && accounts.length === 0) throw new Error('engine-publisher: orders need --accounts-file and --accounts');

function readList<T>(file: string): T[] {
  return JSON.parse(readFileSync(file, 'utf8')) as T[];
}

const quoteSubjects = instruments.map((i) => mdSubject('quote', i.exchange, i.symbol));
const prices = instruments.map((i) => Number(i.refPrice) || 100);
const volumes = instruments.map(() => 0);
const orderSubjects = accounts.map((a) => accountSubject(a.account, 'order'));
const published = { quotes: 0, orders: 0 };
/** Quotes of each kind so far, for pacing: hot ones round-robin over the first `hotCount` instruments, the rest after. */
const paced = { hot: 0, other: 0 };
const otherCount = Math.max(0, quoteSubjects.length - hotCount);
if (quoteRate > 0 && hotCount > 0 && otherCount === 0) throw new Error('engine-publisher: --rate with --hot needs instruments beyond the hot ones');

function quotePayload(i: number): string {
  // A small random walk, so consecutive quotes differ as real ones do.
  prices[i] *= 1 + (Math.random() - 0.5) * 0.0004;
  const mid = prices[i];
  const lastSize = 1 + Math.floor(Math.random() * 500);
  volumes[i] += lastSize;
  const quote: EngineQuote = {
    bid: (mid - 0.01).toFixed(2),
    ask: (mid + 0.01).toFixed(2),
    bidSize: String(100 + Math.floor(Math.random() * 900)),
    askSize: String(100 + Math.floor(Math.random() * 900)),
    last: mid.toFixed(2),
    lastSize: String(lastSize),
    volume: String(volumes[i]),
    ts: Date.now(),
  };
  return JSON.stringify(quote);
}

function orderPayload(n: number): string {
  const instrument = instruments[n % Math.max(1, instruments.length)];
  return JSON.stringify({
    orderId: `O-${n}`,
    clientOrderId: `C-${n}`,
    symbol: instrument ? `${instrument.exchange}:${instrument.symbol}` : 'BENCH:S00000',
    side: n % 2 ? 'sell' : 'buy',
    type: 'limit',
    status: 'new',
    execType: 'new',
    quantity: '100',
    filledQuantity: '0',
    leavesQuantity: '100',
    price: '10.00',
    ts: Date.now(),
  });
}

const nats = await connect({ servers: values.url, name: 'bench-engine-publisher' });
process.on('message', (message: { type?: string }) => {
  if (message.type === 'mark') process.send?.({ type: 'mark', ...published, atMs: Date.now() });
});
process.on('disconnect', () => process.exit(0));

// Pacing by a running total rather than per-tick quotas: after a slow tick the next one catches up, so the average
// rate holds; a burst is capped at 50 ms worth, so a stalled publisher does not dump seconds of backlog at once.
const started = performance.now();
while (performance.now() - started < durationMs) {
  const elapsedSeconds = (performance.now() - started) / 1000;
  if (hotCount > 0) {
    const hotDue = Math.min(Math.floor(hotRate * elapsedSeconds) - paced.hot, Math.ceil(hotRate * 0.05));
    for (let k = 0; k < hotDue; k++) {
      const i = paced.hot++ % hotCount;
      published.quotes++;
      nats.publish(quoteSubjects[i], quotePayload(i));
    }
  }
  const quotesDue = Math.min(Math.floor(quoteRate * elapsedSeconds) - paced.other, Math.ceil(quoteRate * 0.05));
  for (let k = 0; k < quotesDue; k++) {
    const i = hotCount + (paced.other++ % (hotCount > 0 ? otherCount : quoteSubjects.length));
    published.quotes++;
    nats.publish(quoteSubjects[i], quotePayload(i));
  }
  const ordersDue = Math.min(Math.floor(orderRate * elapsedSeconds) - published.orders, Math.ceil(orderRate * 0.05));
  for (let k = 0; k < ordersDue; k++) {
    const n = published.orders++;
    nats.publish(orderSubjects[n % orderSubjects.length], orderPayload(n));
  }
  await sleep(1);
}
await nats.drain();
process.send?.({ type: 'done', ...published, atMs: Date.now() });
console.log(JSON.stringify({ published }));
process.disconnect?.();
