import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mdSubject } from '#libs/contracts';
import { TradewirePublisher } from '#libs/publisher';
import { makeBenchQuote } from './lib/bench-quotes.js';
import { coreLayout, pinSelfToLoadCpus } from './lib/processes.js';
import { startNatsServer } from './lib/nats-server.js';

/**
 * How fast `@tradewire/publisher` publishes quotes over NATS against the raw NATS client doing the same, in the same
 * process and run, variants alternated so that all see the same machine. Each round publishes `--events` quotes over
 * `--instruments` instruments as fast as it can, then flushes; the figure is events per second to the flush.
 *
 * Variants: `raw` is the NATS client as its documentation shows it, `JSON.stringify` and `publish(subject, string)`
 * (the baseline); `raw-bytes` is the client given bytes from `Buffer.from`, as the library does, so that the
 * library's own cost shows apart from its encoding; `library` is `publisher.quote` with the gateway's check of every
 * quote (the default), and `library-unchecked` the same with `validate: false`.
 *
 *   node dist/bench/publisher-throughput.js --rounds 7 --events 200000
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    events: { type: 'string', default: '200000' },
    instruments: { type: 'string', default: '500' },
  },
});
const rounds = Number(values.rounds);
const events = Number(values.events);
const instruments = Array.from({ length: Number(values.instruments) }, (_, i) => ({ exchange: 'BENCH', symbol: `S${String(i).padStart(5, '0')}` }));
const subjects = instruments.map((i) => mdSubject('quote', i.exchange, i.symbol));
const keys = instruments.map((i) => `${i.exchange}:${i.symbol}`);

const VARIANTS = ['raw', 'raw-bytes', 'library', 'library-unchecked'] as const;
type Variant = (typeof VARIANTS)[number];

/** One round's figures: events per second of wall time, and per CPU-second of this process (user + system). */
interface RoundFigures {
  perSecond: number;
  perCpuSecond: number;
}

async function round(variant: Variant, nats: NatsConnection, checked: TradewirePublisher, unchecked: TradewirePublisher): Promise<RoundFigures> {
  let price = 100;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let n = 0; n < events; n++) {
    price += ((n * 2654435761) % 7) / 100 - 0.03;
    if (price < 1) price = 100;
    const i = n % subjects.length;
    const quote = makeBenchQuote(n, price);
    if (variant === 'raw') nats.publish(subjects[i], JSON.stringify(quote));
    else if (variant === 'raw-bytes') nats.publish(subjects[i], Buffer.from(JSON.stringify(quote)));
    else (variant === 'library' ? checked : unchecked).quote(keys[i], quote);
    // Yield now and then, as a real publisher does, so that the client writes while we produce.
    if (n % 5_000 === 4_999) await new Promise((resolve) => setImmediate(resolve));
  }
  if (variant === 'raw' || variant === 'raw-bytes') await nats.flush();
  else await (variant === 'library' ? checked : unchecked).flush();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: events / wallSeconds, perCpuSecond: events / ((cpu.user + cpu.system) / 1e6) };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const layout = coreLayout();
pinSelfToLoadCpus(layout);
const runDir = mkdtempSync(join(tmpdir(), 'tradewire-publisher-bench-'));
const server = await startNatsServer(runDir, 'publisher', layout);
const nats = await connect({ servers: server.url, name: 'bench-raw' });
const checked = await TradewirePublisher.connect({ nats: { servers: server.url } });
const unchecked = await TradewirePublisher.connect({ nats: { servers: server.url } }, { validate: false });
const results: Record<Variant, RoundFigures[]> = { raw: [], 'raw-bytes': [], library: [], 'library-unchecked': [] };
try {
  // One warm-up round each (JIT), not counted.
  for (const variant of VARIANTS) await round(variant, nats, checked, unchecked);
  for (let r = 0; r < rounds; r++) {
    // Alternate the order round by round so neither variant always runs first.
    const order: Variant[] = r % 2 === 0 ? [...VARIANTS] : [...VARIANTS].reverse();
    for (const variant of order) results[variant].push(await round(variant, nats, checked, unchecked));
  }
} finally {
  await nats.drain();
  await checked.close();
  await unchecked.close();
  await server.stop();
  rmSync(runDir, { recursive: true, force: true });
}
const round3 = (x: number) => Number(x.toFixed(3));
const figure = (variant: Variant, key: keyof RoundFigures) => median(results[variant].map((r) => r[key]));
/**
 * A variant's figure over a baseline's within each round (the variants of one round ran back to back, so they saw the
 * same machine): the median over the rounds, and the lowest and highest, the spread to read on a shared machine where
 * whole rounds swing with other load.
 */
const roundRatio = (variant: Variant, baseline: Variant, key: keyof RoundFigures) => {
  const ratios = results[variant].map((r, i) => r[key] / results[baseline][i][key]);
  return { median: round3(median(ratios)), min: round3(Math.min(...ratios)), max: round3(Math.max(...ratios)) };
};
const against = (baseline: Variant, key: keyof RoundFigures) => Object.fromEntries(VARIANTS.filter((v) => v !== baseline).map((v) => [v, roundRatio(v, baseline, key)]));
const summary = {
  events,
  rounds,
  // Wall time: what a publisher gets on this machine now. CPU time: what it costs, less sensitive to other load.
  perSecond: Object.fromEntries(VARIANTS.map((v) => [v, Math.round(figure(v, 'perSecond'))])),
  perCpuSecond: Object.fromEntries(VARIANTS.map((v) => [v, Math.round(figure(v, 'perCpuSecond'))])),
  ratioToRaw: { wall: against('raw', 'perSecond'), cpu: against('raw', 'perCpuSecond') },
  ratioToRawBytes: { wall: against('raw-bytes', 'perSecond'), cpu: against('raw-bytes', 'perCpuSecond') },
  // What the check costs: the library against itself unchecked.
  checkedToUnchecked: { wall: roundRatio('library', 'library-unchecked', 'perSecond'), cpu: roundRatio('library', 'library-unchecked', 'perCpuSecond') },
  perRound: Object.fromEntries(VARIANTS.map((v) => [v, results[v].map((r) => Math.round(r.perSecond))])),
};
console.log(JSON.stringify(summary, null, 1));
