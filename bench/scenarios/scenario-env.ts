import type { ChildProcess } from 'node:child_process';
import { NAMESPACES } from '#libs/contracts';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineLoad, type EngineLoadOptions, type EngineSource, startEngineLoad } from '../engine-load.js';
import { sleep } from '../lib/clock.js';
import { maxMetric, scrapeExposition, sumMetric } from '../lib/metrics.js';
import { processTree } from '../lib/proc-stats.js';
import { type NatsServer, startNatsServer } from '../lib/nats-server.js';
import { freePort, requirePid, spawnNode, stopProcess, waitForHttpOk } from '../lib/processes.js';
import { benchAccounts, benchInstruments, instrumentId, writeCheckedReferenceFiles, writeReferenceFiles } from '../lib/universe.js';
import { type RedisServer, startRedisServer } from '../lib/redis-server.js';
import type { ClientSettings } from '../loadgen/bench-client.js';
import { LoadgenPool } from '../loadgen/loadgen-pool.js';
import type { ScenarioName } from '../options.js';
import { clientKindFor, type TargetSettings, type TargetSpec } from '../targets.js';
import type { RunContext } from './scenario.js';

/** One scrape of the server's /metrics; NaN for what it does not expose. */
export interface ServerSample {
  engineEvents: number;
  heapBytes: number;
  /**
   * The V8 young generation's committed size (`new` space): up to 2 × `--max-semi-space-size` (the gateway runs with
   * 32 MB), grown by bursts of allocation such as thousands of handshakes, and part of RSS whatever a connection holds.
   */
  youngGenerationBytes: number;
  /**
   * Worst event-loop stall since the previous scrape, in ms. prom-client (and the baselines, which mimic it) reset
   * the loop-delay histogram on every scrape and sample every 10 ms, which the figure leaves out.
   */
  loopLagMaxMs: number;
}

export interface ServerUnderTest {
  /** The server's process and those it started (a cluster's workers): what CPU and memory figures count. */
  pids: number[];
  baseUrl: string;
  sample(): Promise<ServerSample>;
  /** With --heap-snapshots: writes a heap snapshot of the server as `<label>.heapsnapshot` in the scenario's folder. */
  heapSnapshot?(label: string): Promise<string>;
}

const HEAP_METRIC = 'nodejs_heap_size_used_bytes';
/** prom-client's per-space gauge (the baselines expose the same series). */
const YOUNG_GENERATION_METRIC = 'nodejs_heap_space_size_total_bytes{space="new"}';
const LOOP_LAG_MAX_METRIC = 'nodejs_eventloop_lag_max_seconds';
/** prom-client's default eventLoopMonitoringPrecision; the baselines use the same. */
const LOOP_LAG_RESOLUTION_MS = 10;

/** Everything one scenario runs against one target: its own nats-server, server process and load generators. */
export interface ScenarioEnv {
  /** This scenario and target's folder under the run's: logs, reference files, profiles. */
  dir: string;
  nats: NatsServer;
  /** The target's own redis-server, for targets that need one. */
  redis: RedisServer | undefined;
  server: ServerUnderTest;
  pool: LoadgenPool;
  client: ClientSettings;
  localAddresses: string[];
  /** `EXCHANGE:SYMBOL` of every instrument in this scenario's universe, in reference-file order. */
  universe: string[];
  accounts: string[];
  /** Claims every client token of this target carries. */
  tokenClaims: Record<string, unknown> | undefined;
  startEngine(load: {
    quoteRate: number;
    instruments: number;
    orderRate: number;
    accounts: number;
    durationSeconds: number;
    hot?: EngineLoadOptions['hot'];
    /** Overrides the run's engine source (a skewed load needs the direct publisher). */
    source?: EngineSource;
  }): EngineLoad;
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
  sizes: { instruments: number; accounts: number; serverEnv?: NodeJS.ProcessEnv; dirSuffix?: string },
  body: (env: ScenarioEnv) => Promise<T>,
): Promise<T> {
  if (!existsSync(target.script)) throw new Error(`${target.name} is not built (${target.script} missing)`);
  const dir = join(context.runDir, `${scenario}-${target.name}${sizes.dirSuffix ?? ''}`);
  mkdirSync(dir, { recursive: true });
  const instruments = benchInstruments(sizes.instruments);
  const accounts = benchAccounts(sizes.accounts);
  const referenceFiles = writeReferenceFiles(dir, instruments, accounts);
  const checkedFiles = target.needsRedis ? writeCheckedReferenceFiles(dir, instruments) : undefined;
  const engineLoads: EngineLoad[] = [];
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let serverProcess: ChildProcess | undefined;
  let pool: LoadgenPool | undefined;
  try {
    nats = await startNatsServer(dir, 'nats', context.layout);
    if (target.needsRedis) redis = await startRedisServer(dir, 'redis', context.layout);
    const started = await startServer(context, target, dir, { natsUrl: nats.url, redisUrl: redis?.url, referenceFiles, checkedFiles }, sizes.serverEnv ?? {});
    serverProcess = started.process;
    pool = LoadgenPool.start(context.options.profile.workers, context.layout, dir, 'loadgen');
    const natsUrl = nats.url;
    return await body({
      dir,
      nats,
      redis,
      server: started.server,
      pool,
      client: { kind: clientKindFor(target, context.options.socketIoClient), offerDeflate: context.options.offerDeflate, compressAll: context.options.clientsCompressAll },
      localAddresses: sourceAddresses(context.options.sourceAddresses),
      universe: instruments.map(instrumentId),
      accounts: accounts.map((a) => a.account),
      tokenClaims: target.tokenClaims,
      startEngine: (load) => {
        const engine = startEngineLoad({
          ...load,
          source: load.source ?? context.engineSource,
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
    if (redis) await redis.stop();
  }
}

async function startServer(
  context: RunContext,
  target: TargetSpec,
  dir: string,
  settings: Omit<TargetSettings, 'port' | 'jwtSecret'>,
  extraEnv: NodeJS.ProcessEnv,
): Promise<{ process: ChildProcess; server: ServerUnderTest }> {
  const port = await freePort();
  const logFile = join(dir, `${target.name}.log`);
  const child = spawnNode(target.script, [], {
    cpus: target.everyCore ? `0-${context.layout.cores - 1}` : context.layout.serverCpus,
    layout: context.layout,
    logFile,
    ipc: target.ownedByHarness,
    env: { ...target.env({ ...settings, port, jwtSecret: context.jwtSecret }), ...extraEnv },
  }, [
    ...(target.nodeArgs ?? []),
    ...(context.options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
    ...(context.options.heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : []),
  ]);
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttpOk(`${baseUrl}/health/ready`, child, logFile, 60_000);
  } catch (error) {
    await stopProcess(child, target.stopGraceMs);
    throw error;
  }
  const metricsUrl = `${baseUrl}/metrics`;
  // Several worker processes each have their series (labelled `worker`): events and heap add up, stalls do not.
  const sample = async (): Promise<ServerSample> => {
    const exposition = await scrapeExposition(metricsUrl);
    return {
      engineEvents: sumMetric(exposition, target.engineEventsMetric),
      heapBytes: sumMetric(exposition, HEAP_METRIC),
      youngGenerationBytes: sumMetric(exposition, YOUNG_GENERATION_METRIC),
      loopLagMaxMs: Math.max(0, maxMetric(exposition, LOOP_LAG_MAX_METRIC) * 1000 - LOOP_LAG_RESOLUTION_MS),
    };
  };
  const pid = requirePid(child, target.name);
  // Of the process started (a cluster's primary; its workers are not signalled).
  const heapSnapshot = context.options.heapSnapshots ? (label: string) => takeHeapSnapshot(pid, dir, label) : undefined;
  // Read once ready: a cluster has started its workers by then.
  return { process: child, server: { pids: processTree(pid), baseUrl, sample, ...(heapSnapshot ? { heapSnapshot } : {}) } };
}

/**
 * Signals the server (started with --heapsnapshot-signal=SIGUSR2) and waits for the snapshot it writes into `dir`
 * to be complete (its size stops changing), then names it `<label>.heapsnapshot`.
 */
async function takeHeapSnapshot(pid: number, dir: string, label: string): Promise<string> {
  const written = () => new Set(readdirSync(dir).filter((name) => name.endsWith('.heapsnapshot')));
  const before = written();
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 300_000;
  let file: string | undefined;
  let size = -1;
  let steady = 0;
  while (steady < 3) {
    if (Date.now() > deadline) throw new Error(`no heap snapshot from pid ${pid} within 5 minutes`);
    await sleep(1_000);
    file ??= [...written()].find((name) => !before.has(name));
    if (!file) continue;
    const now = statSync(join(dir, file)).size;
    steady = now > 0 && now === size ? steady + 1 : 0;
    size = now;
  }
  const target = join(dir, `${label}.heapsnapshot`);
  renameSync(join(dir, file ?? ''), target);
  return target;
}

function sourceAddresses(count: number): string[] {
  return count > 1 ? Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`) : [];
}

/** Opens `count` authenticated `/market-data` clients (`bench-user-N`) at the profile's setup rate. */
export function connectMarketDataClients(context: RunContext, env: ScenarioEnv, count: number): ReturnType<LoadgenPool['connect']> {
  const clients = Array.from({ length: count }, (_, index) => ({ index, sub: `bench-user-${index}`, accounts: [], claims: env.tokenClaims }));
  return env.pool.connect({
    baseUrl: env.server.baseUrl,
    namespace: NAMESPACES.marketData,
    client: env.client,
    jwtSecret: context.jwtSecret,
    clients,
    ratePerSecond: context.options.profile.setupConnectRate,
    localAddresses: env.localAddresses,
  });
}
