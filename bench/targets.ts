import { join } from 'node:path';
import type { ClientKind } from './loadgen/bench-client.js';
import { benchScript, PROJECT_ROOT } from './lib/paths.js';
import type { CheckedReferenceFiles, ReferenceFiles } from './lib/universe.js';

export const TARGET_NAMES = ['gateway', 'gateway-base', 'gateway-checked', 'gateway-redis', 'gateway-workers', 'raw-ws', 'socketio-rooms', 'socketio-loop'] as const;
/** Targets run only when named: `all` leaves them out. */
export const ON_REQUEST_TARGETS: readonly TargetName[] = ['gateway-base', 'gateway-redis', 'gateway-workers'];
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
  /**
   * Takes `POST /admin/notice` from an admin-role token and sends every connection the `system` notice (the gateway):
   * the capacity scenario then measures how long a notice takes to reach every client. Baselines have no admin API.
   */
  adminNotice?: boolean;
  /** Scenarios this target takes part in (all when absent). */
  scenarios?: readonly string[];
  /** Starts a throwaway redis-server for the target (settings.redisUrl). */
  needsRedis?: boolean;
  /** Claims every client token of this target carries. */
  tokenClaims?: Record<string, unknown>;
  /** Conflates quotes to the subscriber's throttleMs (the gateway); the baselines send every update. */
  conflates?: boolean;
  /** Node flags the server runs with (the gateway: the same as `npm start` and the Docker image). */
  nodeArgs?: readonly string[];
  /**
   * The server may run on every core, not only the server core (the load side keeps its own): for the WORKERS
   * comparison, whose two targets both get this so that one is measured against the other on the same cores.
   */
  everyCore?: boolean;
}

/** The gateway's production Node flags (package.json `start`, docker/Dockerfile). */
const GATEWAY_NODE_ARGS = ['--max-semi-space-size=32'];

export interface TargetSettings {
  port: number;
  natsUrl: string;
  redisUrl?: string;
  jwtSecret: string;
  referenceFiles: ReferenceFiles;
  /** Written for targets that need them (gateway-checked). */
  checkedFiles?: CheckedReferenceFiles;
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

/**
 * BENCH_GATEWAY_ENV: space-separated `NAME=value` settings given to every gateway target on top of the bench's own, to
 * measure a configuration (e.g. `WS_PING_INTERVAL_MS=60000` for the 100,000-connection run); the run's notes name them.
 */
export function extraGatewayEnv(text = process.env.BENCH_GATEWAY_ENV ?? ''): Record<string, string> {
  const entries = text
    .split(' ')
    .filter((item) => item !== '')
    .map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_GATEWAY_ENV: '${item}' is not NAME=value`);
      return [item.slice(0, at), item.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

/** The gateway as the bench runs it: production mode, the NATS engine, the scenario's reference files. */
function gatewayEnv(settings: TargetSettings): NodeJS.ProcessEnv {
  return {
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
    // Thousands of load-generator clients connect from a handful of local addresses: no per-address limit.
    RATE_LIMIT_HANDSHAKES: 'off',
    // The slow-client scenario's stalled client watches every instrument the others do (hundreds of streams).
    RATE_LIMIT_MAX_SUBSCRIPTIONS: '0',
    // No load balancer to drain from: shut down at once between scenarios.
    DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...extraGatewayEnv(),
  };
}

/** The gateway on Redis (seats, limits, the fleet), with `workers` worker processes. */
function gatewayRedisEnv(settings: TargetSettings, workers: number): NodeJS.ProcessEnv {
  if (!settings.redisUrl) throw new Error('the WORKERS targets need a redis-server');
  return { ...gatewayEnv(settings), REDIS_URL: settings.redisUrl, WORKERS: String(workers) };
}

/** The gateway with the Redis that more than one worker needs, as `workers` worker processes, free to use every core. */
function workersTarget(name: 'gateway-redis' | 'gateway-workers', description: string, workers: number): TargetSpec {
  return {
    name,
    description,
    script: join(PROJECT_ROOT, 'dist', 'src', 'main.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'tradewire_engine_events_total',
    ownedByHarness: false,
    stopGraceMs: 5_000,
    scenarios: ['capacity', 'fanout'],
    nodeArgs: GATEWAY_NODE_ARGS,
    conflates: true,
    needsRedis: true,
    everyCore: true,
    adminNotice: true,
    env: (settings) => gatewayRedisEnv(settings, workers),
    slowClientEnv: (graceMs) => ({ SLOW_CLIENT_GRACE_MS: String(graceMs) }),
    slowClientMetric: 'tradewire_slow_client_events_total',
  };
}

export const TARGETS: Record<TargetName, TargetSpec> = {
  gateway: {
    name: 'gateway',
    description: 'Tradewire gateway (dist/src/main.js)',
    script: join(PROJECT_ROOT, 'dist', 'src', 'main.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'tradewire_engine_events_total',
    ownedByHarness: false,
    stopGraceMs: 5_000,
    nodeArgs: GATEWAY_NODE_ARGS,
    conflates: true,
    adminNotice: true,
    env: (settings) => gatewayEnv(settings),
    slowClientEnv: (graceMs) => ({ SLOW_CLIENT_GRACE_MS: String(graceMs) }),
    slowClientMetric: 'tradewire_slow_client_events_total',
  },
  // The gateway built from another commit, run exactly as `gateway`: with --repeat, the two alternate round by round,
  // so a change is measured against its predecessor under the same machine load (A/B). Not part of `all`.
  'gateway-base': {
    name: 'gateway-base',
    description: 'the gateway built from another commit (BENCH_BASE_GATEWAY: its dist/src/main.js), run as `gateway`',
    script: process.env.BENCH_BASE_GATEWAY ?? join(PROJECT_ROOT, 'BENCH_BASE_GATEWAY-not-set'),
    speaksSocketIo: true,
    engineEventsMetric: 'tradewire_engine_events_total',
    ownedByHarness: false,
    stopGraceMs: 5_000,
    // BENCH_BASE_NODE_ARGS (space-separated) A/Bs Node flags instead of a build: the same dist/src/main.js both sides.
    nodeArgs: process.env.BENCH_BASE_NODE_ARGS === undefined ? GATEWAY_NODE_ARGS : process.env.BENCH_BASE_NODE_ARGS.split(' ').filter((arg) => arg !== ''),
    conflates: true,
    adminNotice: true,
    env: (settings) => gatewayEnv(settings),
    slowClientEnv: (graceMs) => ({ SLOW_CLIENT_GRACE_MS: String(graceMs) }),
    slowClientMetric: 'tradewire_slow_client_events_total',
  },
  // The gateway with every check of issue 5 at its most expensive: the licence from a registry (wins over the token),
  // seats and rate limits in Redis, and every client Islamic-screened (the screen passes every bench instrument, so it
  // serves the same streams as `gateway`). Compared with `gateway` in the fan-out: what the checks cost.
  'gateway-checked': {
    name: 'gateway-checked',
    description: 'the gateway with a licence registry, compliance screening on every client, seats and rate limits in Redis',
    script: join(PROJECT_ROOT, 'dist', 'src', 'main.js'),
    speaksSocketIo: true,
    engineEventsMetric: 'tradewire_engine_events_total',
    ownedByHarness: false,
    stopGraceMs: 5_000,
    scenarios: ['fanout'],
    nodeArgs: GATEWAY_NODE_ARGS,
    conflates: true,
    adminNotice: true,
    needsRedis: true,
    tokenClaims: { compliance: { islamic: true, board: 'AAOIFI' } },
    env: (settings) => {
      if (!settings.checkedFiles || !settings.redisUrl) throw new Error('gateway-checked needs its reference files and a redis-server');
      return {
        ...gatewayEnv(settings),
        REDIS_URL: settings.redisUrl,
        LICENCE_REGISTRY: `file:${settings.checkedFiles.licenceRegistryFile}`,
        COMPLIANCE_FILE: settings.checkedFiles.complianceFile,
        // Checked in Redis on every connection, as in production, but high enough never to refuse the load generators.
        RATE_LIMIT_HANDSHAKES: '1000000/1m',
        RATE_LIMIT_MAX_SUBSCRIPTIONS: '1000000',
      };
    },
    slowClientEnv: (graceMs) => ({ SLOW_CLIENT_GRACE_MS: String(graceMs) }),
    slowClientMetric: 'tradewire_slow_client_events_total',
  },
  // WORKERS=2 against one worker process, both with the Redis that more than one worker needs and both free to use
  // every core: what a second worker buys on this machine, against its own baseline of the same run.
  'gateway-redis': workersTarget('gateway-redis', 'the gateway with REDIS_URL, one worker process, on every core: the baseline of gateway-workers', 1),
  // More workers than cores for connection counts past one process's file-descriptor limit (100,000 here).
  'gateway-workers': workersTarget(
    'gateway-workers',
    'the gateway with REDIS_URL and WORKERS=2 (BENCH_GATEWAY_WORKERS to change it) worker processes on one port, on every core',
    Number(process.env.BENCH_GATEWAY_WORKERS ?? 2),
  ),
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
