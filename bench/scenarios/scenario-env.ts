import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineLoad, startEngineLoad } from '../engine-load.js';
import { scrapeMetric } from '../lib/metrics.js';
import { type NatsServer, startNatsServer } from '../lib/nats-server.js';
import { freePort, requirePid, spawnNode, stopProcess, waitForHttpOk } from '../lib/processes.js';
import { benchAccounts, benchInstruments, instrumentId, type ReferenceFiles, writeReferenceFiles } from '../lib/universe.js';
import type { ClientKind } from '../loadgen/bench-client.js';
import { LoadgenPool } from '../loadgen/loadgen-pool.js';
import type { ScenarioName } from '../options.js';
import { clientKindFor, type TargetSpec } from '../targets.js';
import type { RunContext } from './scenario.js';

export interface ServerUnderTest {
  pid: number;
  baseUrl: string;
  scrapeEngineEvents(): Promise<number>;
  scrapeHeapBytes(): Promise<number>;
}

/** Everything one scenario runs against one target: its own nats-server, server process and load generators. */
export interface ScenarioEnv {
  nats: NatsServer;
  server: ServerUnderTest;
  pool: LoadgenPool;
  clientKind: ClientKind;
  localAddresses: string[];
  /** `EXCHANGE:SYMBOL` of every instrument in this scenario's universe, in reference-file order. */
  universe: string[];
  accounts: string[];
  startEngine(load: { quoteRate: number; instruments: number; orderRate: number; accounts: number; durationSeconds: number }): EngineLoad;
}

/**
 * Starts a hermetic environment — a throwaway nats-server, the target on the server core, the load-generator workers
 * on the load cores, reference files naming the scenario's instruments and accounts — runs `body`, and tears it all
 * down whatever happens.
 */
export async function withScenarioEnv<T>(
  context: RunContext,
  scenario: ScenarioName,
  target: TargetSpec,
  sizes: { instruments: number; accounts: number },
  body: (env: ScenarioEnv) => Promise<T>,
): Promise<T> {
  if (!existsSync(target.script)) throw new Error(`${target.name} is not built (${target.script} missing)`);
  const dir = join(context.runDir, `${scenario}-${target.name}`);
  mkdirSync(dir, { recursive: true });
  const instruments = benchInstruments(sizes.instruments);
  const accounts = benchAccounts(sizes.accounts);
  const referenceFiles = writeReferenceFiles(dir, instruments, accounts);
  const engineLoads: EngineLoad[] = [];
  let nats: NatsServer | undefined;
  let serverProcess: ChildProcess | undefined;
  let pool: LoadgenPool | undefined;
  try {
    nats = await startNatsServer(dir, 'nats', context.layout);
    const started = await startServer(context, target, dir, nats.url, referenceFiles);
    serverProcess = started.process;
    pool = LoadgenPool.start(context.options.profile.workers, context.layout, dir, 'loadgen');
    const natsUrl = nats.url;
    return await body({
      nats,
      server: started.server,
      pool,
      clientKind: clientKindFor(target, context.options.socketIoClient),
      localAddresses: sourceAddresses(context.options.sourceAddresses),
      universe: instruments.map(instrumentId),
      accounts: accounts.map((a) => a.account),
      startEngine: (load) => {
        const engine = startEngineLoad({
          ...load,
          source: context.engineSource,
          natsUrl,
          referenceFiles,
          layout: context.layout,
          logFile: join(dir, `engine-${engineLoads.length}.log`),
        });
        engineLoads.push(engine);
        return engine;
      },
    });
  } finally {
    // Engine first, then the server, so that no backlog keeps flowing to clients that are closing.
    await Promise.allSettled(engineLoads.map((engine) => engine.stop()));
    if (serverProcess) await stopProcess(serverProcess, target.stopGraceMs);
    if (pool) await pool.stop().catch(() => undefined);
    if (nats) await nats.stop();
  }
}

async function startServer(
  context: RunContext,
  target: TargetSpec,
  dir: string,
  natsUrl: string,
  referenceFiles: ReferenceFiles,
): Promise<{ process: ChildProcess; server: ServerUnderTest }> {
  const port = await freePort();
  const logFile = join(dir, `${target.name}.log`);
  const child = spawnNode(target.script, [], {
    cpus: context.layout.serverCpus,
    layout: context.layout,
    logFile,
    ipc: target.ownedByHarness,
    env: target.env({ port, natsUrl, jwtSecret: context.jwtSecret, referenceFiles }),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${baseUrl}/health/ready`, child, logFile, 60_000);
  const metricsUrl = `${baseUrl}/metrics`;
  return {
    process: child,
    server: {
      pid: requirePid(child, target.name),
      baseUrl,
      scrapeEngineEvents: () => scrapeMetric(metricsUrl, target.engineEventsMetric),
      scrapeHeapBytes: () => scrapeMetric(metricsUrl, 'nodejs_heap_size_used_bytes'),
    },
  };
}

function sourceAddresses(count: number): string[] {
  return count > 1 ? Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`) : [];
}
