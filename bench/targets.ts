import { join } from 'node:path';
import type { ClientKind } from './loadgen/bench-client.js';
import { benchScript, PROJECT_ROOT } from './lib/paths.js';
import type { ReferenceFiles } from './lib/universe.js';

export const TARGET_NAMES = ['gateway', 'raw-ws', 'socketio-rooms', 'socketio-loop'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
export const BASELINE_NAMES: readonly TargetName[] = ['raw-ws', 'socketio-rooms', 'socketio-loop'];

/** A server the bench can measure: how to start it, how its clients talk to it, where its engine-event count is. */
export interface TargetSpec {
  name: TargetName;
  description: string;
  script: string;
  /** The Socket.IO targets use the client chosen with --client; the raw-ws baseline has its own. */
  speaksSocketIo: boolean;
  /** Counter of engine events consumed, in the target's /metrics. */
  engineEventsMetric: string;
  /** Baselines are the harness's own children and exit when its IPC channel closes; the gateway is not. */
  ownedByHarness: boolean;
  /** How long SIGTERM may take before SIGKILL. Baselines hold no state; a saturated one would only drain its backlog. */
  stopGraceMs: number;
  env(settings: TargetSettings): NodeJS.ProcessEnv;
  /**
   * Extra environment for the slow-client scenario: how long a client may stay behind before it is dropped. Baselines
   * have no slow-client policy and return nothing.
   */
  slowClientEnv(graceMs: number): NodeJS.ProcessEnv;
  /** Counter of slow clients disconnected (series labelled `action="disconnected"`); absent from the baselines. */
  slowClientMetric?: string;
}

export interface TargetSettings {
  port: number;
  natsUrl: string;
  jwtSecret: string;
  referenceFiles: ReferenceFiles;
}

const baselineEnv = (settings: TargetSettings): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  PORT: String(settings.port),
  NATS_URL: settings.natsUrl,
  JWT_SECRET: settings.jwtSecret,
  NODE_ID: 'bench',
  BENCH_MAX_LIFETIME_S: '7200',
});

export const TARGETS: Record<TargetName, TargetSpec> = {
  gateway: {
    name: 'gateway',
    description: 'Tradewire gateway (dist/src/main.js)',
    script: join(PROJECT_ROOT, 'dist', 'src', 'main.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'tradewire_engine_events_total',
    ownedByHarness: false,
    stopGraceMs: 5_000,
    env: (settings) => ({
      PATH: process.env.PATH,
      PORT: String(settings.port),
      ENGINE_TRANSPORT: 'nats',
      NATS_URL: settings.natsUrl,
      JWT_SECRET: settings.jwtSecret,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      SIMULATOR: 'off',
      NODE_ID: 'bench',
      INSTRUMENTS_FILE: settings.referenceFiles.instrumentsFile,
      ACCOUNTS_FILE: settings.referenceFiles.accountsFile,
      // No load balancer to drain from: shut down at once between scenarios.
      DRAIN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '3000',
    }),
    slowClientEnv: (graceMs) => ({ SLOW_CLIENT_GRACE_MS: String(graceMs) }),
    slowClientMetric: 'tradewire_slow_client_events_total',
  },
  'raw-ws': {
    name: 'raw-ws',
    description: 'baseline (a): bare ws, pre-serialised frame per update to the stream’s subscribers',
    script: benchScript('baselines/raw-ws.server.js'),
    speaksSocketIo: false,
    engineEventsMetric: 'bench_engine_events_total',
    ownedByHarness: true,
    stopGraceMs: 500,
    env: baselineEnv,
    slowClientEnv: () => ({}),
  },
  'socketio-rooms': {
    name: 'socketio-rooms',
    description: "baseline (b): plain Socket.IO, io.to(stream).emit('md', [msg]) per update",
    script: benchScript('baselines/socketio-rooms.server.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'bench_engine_events_total',
    ownedByHarness: true,
    stopGraceMs: 500,
    env: baselineEnv,
    slowClientEnv: () => ({}),
  },
  'socketio-loop': {
    name: 'socketio-loop',
    description: 'baseline (c): Socket.IO, every update tested against every socket’s subscription set',
    script: benchScript('baselines/socketio-loop.server.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'bench_engine_events_total',
    ownedByHarness: true,
    stopGraceMs: 500,
    env: baselineEnv,
    slowClientEnv: () => ({}),
  },
};

export function clientKindFor(target: TargetSpec, socketIoClient: Exclude<ClientKind, 'raw-ws'>): ClientKind {
  return target.speaksSocketIo ? socketIoClient : 'raw-ws';
}
