import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchScript, PROJECT_ROOT } from './lib/paths.js';
import { type CoreLayout, requirePid, spawnNode, stopProcess } from './lib/processes.js';
import type { ReferenceFiles } from './lib/universe.js';

/**
 * The engine side of a scenario, from one of two sources that take the same flags:
 * - `simulator`: the project's simulator CLI (dist/src/simulator/simulate.cli.js), the gateway's own load source;
 * - `direct`: bench/engine-publisher.cli.ts, the harness's in-house NATS publisher, which also reports exact counts.
 * The simulator publishes through `@tradewire/publisher` (checked, batched); the direct publisher stays on the raw
 * NATS client on purpose, as the reference the library is measured against (bench/publisher-throughput.ts).
 * `auto` picks the simulator when it has been built.
 */
export type EngineSource = 'simulator' | 'direct';
export type EngineSourceOption = EngineSource | 'auto';

const SIMULATOR_CLI = join(PROJECT_ROOT, 'dist', 'src', 'simulator', 'simulate.cli.js');

export function resolveEngineSource(option: EngineSourceOption): EngineSource {
  if (option !== 'auto') return option;
  return existsSync(SIMULATOR_CLI) ? 'simulator' : 'direct';
}

export interface EngineLoadOptions {
  source: EngineSource;
  natsUrl: string;
  quoteRate: number;
  instruments: number;
  orderRate: number;
  accounts: number;
  durationSeconds: number;
  /** Market-data channels published (the simulator source only): `quote` unless given. */
  channels?: readonly ('quote' | 'trade' | 'book')[];
  /**
   * A skewed universe (the direct publisher only): the first `instruments` each get `ratePerInstrument` quotes/s, and
   * `quoteRate` is spread over the instruments after them.
   */
  hot?: { instruments: number; ratePerInstrument: number };
  referenceFiles: ReferenceFiles;
  layout: CoreLayout;
  logFile: string;
}

export interface PublishedCounts {
  quotes: number;
  orders: number;
  atMs: number;
}

export interface EngineLoad {
  source: EngineSource;
  pid: number;
  /**
   * What has been published so far. The direct publisher counts exactly; for the simulator the nominal rates times
   * the elapsed time stand in.
   */
  mark(): Promise<PublishedCounts>;
  stop(): Promise<void>;
}

export function startEngineLoad(options: EngineLoadOptions): EngineLoad {
  const script = options.source === 'simulator' ? SIMULATOR_CLI : benchScript('engine-publisher.cli.js');
  if (!existsSync(script)) throw new Error(`engine load source not built: ${script}`);
  const args = [
    '--transport', 'nats',
    '--url', options.natsUrl,
    '--rate', String(options.quoteRate),
    '--instruments', String(options.instruments),
    '--channels', (options.channels ?? ['quote']).join(','),
    '--accounts', String(options.accounts),
    '--order-rate', String(options.orderRate),
    '--duration', String(options.durationSeconds),
    '--instruments-file', options.referenceFiles.instrumentsFile,
    '--accounts-file', options.referenceFiles.accountsFile,
  ];
  if (options.hot) {
    if (options.source !== 'direct') throw new Error('a skewed engine load (hot instruments) needs the direct publisher');
    args.push('--hot', String(options.hot.instruments), '--hot-rate', String(options.hot.ratePerInstrument));
  }
  const child = spawnNode(script, args, {
    cpus: options.layout.loadCpus,
    layout: options.layout,
    logFile: options.logFile,
    ipc: options.source === 'direct',
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const startedAt = Date.now();
  // The publisher's last word: after it has exited, `mark` answers with its final counts.
  let finalCounts: PublishedCounts | undefined;
  child.on('message', (message: { type?: string } & PublishedCounts) => {
    if (message.type === 'done') finalCounts = { quotes: message.quotes, orders: message.orders, atMs: message.atMs };
  });
  // A send racing the child's exit must not crash the harness; `mark` reports it instead.
  child.on('error', () => undefined);
  const mark = async (): Promise<PublishedCounts> => {
    if (options.source !== 'direct') return nominalCounts(options, startedAt);
    if (child.connected) return askCounts(child);
    if (finalCounts) return finalCounts;
    throw new Error(`engine publisher exited early (${child.exitCode ?? child.signalCode}); see ${options.logFile}`);
  };
  return { source: options.source, pid: requirePid(child, 'engine load'), mark, stop: () => stopProcess(child, 3_000) };
}

function askCounts(child: ChildProcess): Promise<PublishedCounts> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error('engine publisher did not answer'));
    }, 5_000);
    const onMessage = (message: { type?: string } & PublishedCounts): void => {
      if (message.type !== 'mark') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve({ quotes: message.quotes, orders: message.orders, atMs: message.atMs });
    };
    child.on('message', onMessage);
    child.send({ type: 'mark' });
  });
}

function nominalCounts(options: EngineLoadOptions, startedAt: number): PublishedCounts {
  const seconds = Math.min((Date.now() - startedAt) / 1000, options.durationSeconds);
  const hotRate = options.hot ? options.hot.instruments * options.hot.ratePerInstrument : 0;
  return { quotes: Math.round((options.quoteRate + hotRate) * seconds), orders: Math.round(options.orderRate * seconds), atMs: Date.now() };
}
