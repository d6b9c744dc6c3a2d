import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { MD_CHANNELS, type MdChannel } from '#libs/contracts';
import { AccountDirectory } from '#libs/auth';
import { InstrumentCatalog } from '../market-data/instrument-catalog.js';
import { TradewirePublisher } from '#libs/publisher';
import { MarketSimulator } from './market-simulator.js';

const USAGE = `Publishes simulated engine events into NATS or Redis (the benchmarks' load source).

  npm run simulate -- --transport nats --url nats://127.0.0.1:4222 --rate 5000

  --transport nats|redis        where to publish (default nats)
  --url URL                     broker URL (default nats://127.0.0.1:4222 or redis://127.0.0.1:6379)
  --rate N                      market-data events per second (default 1000)
  --channels quote,trade,book   which market-data channels (default all three)
  --instruments N               use the first N instruments of the reference data (default all)
  --instruments-file PATH       reference data (default data/instruments.json)
  --accounts N                  the first N accounts of the accounts file get order flow (default 3)
  --accounts-file PATH          (default data/accounts.json)
  --order-rate N                order events per second (default 5)
  --duration S                  stop after S seconds (default: run until interrupted)
  --seed N                      PRNG seed, for repeatable load (default 42)
  --tick-ms N                   publish every N ms (default 1: a real feed is not released in 10 ms bursts)
  --md-seq                      number market-data events per subject (seq), so that the gateway sees lost events
  --control                     read feed faults from stdin, one command a line, for trying feed health:
                                  quiet EXCHANGE:SYMBOL      stop publishing the instrument
                                  resume EXCHANGE:SYMBOL     publish it again
                                  gap EXCHANGE:SYMBOL [N]    skip N seq numbers (default 5; needs --md-seq)
                                  halt EXCHANGE              publish md.session.EXCHANGE HALTED
                                  open EXCHANGE              publish md.session.EXCHANGE OPEN
                                each answered on stdout with "ok <command>" (after a broker flush) or "error <why>"`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transport: { type: 'string', default: 'nats' },
      url: { type: 'string' },
      rate: { type: 'string', default: '1000' },
      channels: { type: 'string', default: MD_CHANNELS.join(',') },
      instruments: { type: 'string' },
      'instruments-file': { type: 'string', default: 'data/instruments.json' },
      accounts: { type: 'string', default: '3' },
      'accounts-file': { type: 'string', default: 'data/accounts.json' },
      'order-rate': { type: 'string', default: '5' },
      duration: { type: 'string' },
      seed: { type: 'string', default: '42' },
      'tick-ms': { type: 'string', default: '1' },
      'md-seq': { type: 'boolean', default: false },
      control: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const channels = values.channels.split(',').filter((c): c is MdChannel => (MD_CHANNELS as readonly string[]).includes(c));
  const catalog = InstrumentCatalog.fromFile(resolve(values['instruments-file']));
  const instruments = values.instruments ? catalog.all().slice(0, Number(values.instruments)) : catalog.all();
  const directory = AccountDirectory.fromFile(resolve(values['accounts-file']));
  const accounts = directory.allAccounts().slice(0, Number(values.accounts));

  if (values.transport !== 'nats' && values.transport !== 'redis') throw new Error(`--transport must be nats or redis, not ${values.transport}`);
  // Through the publisher library, as any internal service would: checked events, batched writes; over Redis account
  // events also go into the gateway's account log, so none is lost while no replica runs.
  const publisher = await TradewirePublisher.connect(
    values.transport === 'redis'
      ? { redis: { url: values.url ?? 'redis://127.0.0.1:6379' } }
      : { nats: { servers: (values.url ?? 'nats://127.0.0.1:4222').split(','), connectOptions: { name: 'tradewire-simulator' } } },
  );

  const simulator = new MarketSimulator(
    instruments,
    { rate: Number(values.rate), channels, accounts, orderRate: Number(values['order-rate']), bookDepth: 25, seed: Number(values.seed), mdSeq: values['md-seq'] },
    publisher,
  );
  simulator.start(Number(values['tick-ms']));
  const startedAt = Date.now();
  const report = setInterval(() => {
    process.stderr.write(`simulator: ${simulator.published} events in ${((Date.now() - startedAt) / 1000).toFixed(0)} s\n`);
  }, 10_000);
  const stop = async (): Promise<void> => {
    clearInterval(report);
    simulator.stop();
    await publisher.flush().catch((error: unknown) => process.stderr.write(`simulator: ${String(error)}\n`));
    await publisher.close();
    process.stderr.write(`simulator: published ${simulator.published} events\n`);
    process.exit(0);
  };
  if (values.control) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      const answer = control(simulator, line.trim());
      // Answered once the broker has what was published before it: a test may act on "ok" at once.
      if (!answer.startsWith('ok')) process.stdout.write(`${answer}\n`);
      else {
        publisher.flush().then(
          () => process.stdout.write(`${answer}\n`),
          (error: unknown) => process.stdout.write(`error ${line.trim()}: ${String(error)}\n`),
        );
      }
    });
  }
  if (values.duration) setTimeout(() => void stop(), Number(values.duration) * 1000);
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

/** One `--control` command (see USAGE): `ok <command>` or `error <why>`. */
function control(simulator: MarketSimulator, line: string): string {
  const [command, target, count] = line.split(/\s+/);
  if (!target) return `error ${line}: expected a command and an instrument or exchange`;
  let known = true;
  if (command === 'quiet') known = simulator.quiet(target);
  else if (command === 'resume') known = simulator.resume(target);
  else if (command === 'gap') known = simulator.skipSeq(target, count === undefined ? 5 : Number(count));
  else if (command === 'halt') simulator.session(target, 'HALTED');
  else if (command === 'open') simulator.session(target, 'OPEN');
  else return `error ${line}: unknown command ${command ?? ''}`;
  return known ? `ok ${line}` : `error ${line}: ${target} is not a simulated instrument`;
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator failed: ${String(error)}\n`);
  process.exit(1);
});
