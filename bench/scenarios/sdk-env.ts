import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineLoad, type EngineLoadOptions, startEngineLoad } from '../engine-load.js';
import { type LoadBalancer, startLoadBalancer } from '../lib/haproxy.js';
import { type NatsServer, startNatsServer } from '../lib/nats-server.js';
import { cpus, loadavg } from 'node:os';
import { machineBusySeconds } from '../lib/proc-stats.js';
import { freePort, stopProcess, spawnNode, waitForHttpOk } from '../lib/processes.js';
import { benchInstruments, instrumentId, type ReferenceFiles, writeReferenceFiles } from '../lib/universe.js';
import { SdkWorker } from '../loadgen/sdk-worker.js';
import type { ScenarioName } from '../options.js';
import type { TargetSpec } from '../targets.js';
import type { RunContext } from './scenario.js';

/** A gateway replica on a fixed port, so that it can be restarted where the load balancer expects it. */
export interface Replica {
  port: number;
  baseUrl: string;
  process: ChildProcess;
  /** Starts it again on the same port (after it exited), and waits until it is ready. */
  restart(): Promise<void>;
}

/** What the SDK scenarios run in: nats-server, gateway replicas (optionally behind HAProxy), SDK workers, engine load. */
export interface SdkEnv {
  dir: string;
  universe: string[];
  replicas: Replica[];
  balancer?: LoadBalancer;
  worker(name: string): SdkWorker;
  startEngine(load: Pick<EngineLoadOptions, 'quoteRate' | 'instruments' | 'durationSeconds' | 'channels'>): EngineLoad;
  /**
   * Starts measuring how busy the whole machine is; the function returned describes it since then. The replicas and
   * workers come and go (restarts, one worker per client kind), so what is not theirs cannot be told apart reliably:
   * the machine's total and its load average say how shared it was.
   */
  machineLoad(): () => string;
}

export async function withSdkEnv<T>(
  context: RunContext,
  scenario: ScenarioName,
  target: TargetSpec,
  sizes: { instruments: number; replicas: number; balanced: boolean; maxConnections: number; serverEnv?: NodeJS.ProcessEnv },
  body: (env: SdkEnv) => Promise<T>,
): Promise<T> {
  if (!existsSync(target.script)) throw new Error(`${target.name} is not built (${target.script} missing)`);
  const dir = join(context.runDir, `${scenario}-${target.name}`);
  mkdirSync(dir, { recursive: true });
  const instruments = benchInstruments(sizes.instruments);
  const referenceFiles = writeReferenceFiles(dir, instruments, []);
  const replicas: Replica[] = [];
  const workers: SdkWorker[] = [];
  const engines: EngineLoad[] = [];
  let nats: NatsServer | undefined;
  let balancer: LoadBalancer | undefined;
  try {
    nats = await startNatsServer(dir, 'nats', context.layout);
    const natsUrl = nats.url;
    for (let i = 0; i < sizes.replicas; i++) replicas.push(await startReplica(context, target, dir, `replica-${i + 1}`, natsUrl, referenceFiles, sizes.serverEnv ?? {}));
    if (sizes.balanced) balancer = await startLoadBalancer(dir, replicas.map((replica) => replica.port), context.layout, sizes.maxConnections);
    return await body({
      dir,
      universe: instruments.map(instrumentId),
      replicas,
      balancer,
      worker: (name) => {
        const worker = SdkWorker.start(context.layout, dir, name);
        workers.push(worker);
        return worker;
      },
      machineLoad: () => {
        const busyAtStart = machineBusySeconds();
        const startedAt = performance.now();
        return () => {
          const seconds = (performance.now() - startedAt) / 1000;
          return `the machine's ${cpus().length} CPUs were ${Math.round(((machineBusySeconds() - busyAtStart) / seconds) * 100)}% busy (100% = one CPU; this bench's processes included), load average ${loadavg()[0].toFixed(1)}`;
        };
      },
      startEngine: (load) => {
        const engine = startEngineLoad({ ...load, orderRate: 0, accounts: 0, source: context.engineSource, natsUrl, referenceFiles, layout: context.layout, logFile: join(dir, `engine-${engines.length}.log`) });
        engines.push(engine);
        return engine;
      },
    });
  } finally {
    await Promise.allSettled(engines.map((engine) => engine.stop()));
    await Promise.allSettled(workers.map((worker) => worker.stop()));
    await Promise.allSettled(replicas.map((replica) => stopProcess(replica.process, target.stopGraceMs)));
    await balancer?.stop();
    await nats?.stop();
  }
}

async function startReplica(
  context: RunContext,
  target: TargetSpec,
  dir: string,
  name: string,
  natsUrl: string,
  referenceFiles: ReferenceFiles,
  extraEnv: NodeJS.ProcessEnv,
): Promise<Replica> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let starts = 0;
  const spawnReplica = async (): Promise<ChildProcess> => {
    const logFile = join(dir, `${name}-${++starts}.log`);
    const env = { ...target.env({ port, natsUrl, jwtSecret: context.jwtSecret, referenceFiles }), NODE_ID: `${name}-${starts}`, ...extraEnv };
    const child = spawnNode(target.script, [], { cpus: context.layout.serverCpus, layout: context.layout, logFile, env }, [...(target.nodeArgs ?? [])]);
    try {
      await waitForHttpOk(`${baseUrl}/health/ready`, child, logFile, 60_000);
    } catch (error) {
      await stopProcess(child, target.stopGraceMs);
      throw error;
    }
    return child;
  };
  const replica: Replica = {
    port,
    baseUrl,
    process: await spawnReplica(),
    restart: async () => {
      replica.process = await spawnReplica();
    },
  };
  return replica;
}
