import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccountDirectory } from '#libs/auth';
import { DEMO_LICENCE } from '#libs/licensing';
import { mintDevelopmentToken } from '../simulator/dev-token.js';
import { checkHaproxyConfig, DOCKER_HEALTH_CHECK, HAPROXY_BINARY, renderHaproxyConfig, type HealthCheckTiming } from './haproxy-config.js';
import { PROJECT_ROOT } from './project-root.js';
import { answersOk, portAccepts, ServiceProcess, type ServiceExit } from './service-process.js';

const HOST = '127.0.0.1';
const GATEWAY_SCRIPT = join(PROJECT_ROOT, 'dist', 'src', 'main.js');
const SIMULATOR_SCRIPT = join(PROJECT_ROOT, 'dist', 'src', 'simulator', 'simulate.cli.js');
const MAKE_CERTIFICATE = join(PROJECT_ROOT, 'docker', 'tls', 'make-self-signed.sh');
/** How long a replica may take to become ready: a cold start on a busy 2-core machine takes several seconds. */
const REPLICA_START_TIMEOUT_MS = 60_000;
/**
 * The `reconnectInMs` a draining replica gives its clients. They come back at a random moment inside it, and their
 * market data must be flowing again within 2 s of the disconnect: the window, a handshake and a resubscribe must fit.
 */
const CLUSTER_RECONNECT_WINDOW_MS = 1_000;

export interface LocalFleetOptions {
  /** Gateway replicas, one process each. */
  replicas: number;
  /** Where HAProxy listens (plain HTTP, TLS, its statistics page) and the first replica's port (the others follow); 0: any free port. */
  ports: { http: number; https: number; stats: number; firstReplica: number };
  /** An existing Redis and NATS (JetStream enabled) instead of throwaway ones. */
  redisUrl?: string;
  natsUrl?: string;
  /** `simulator`: the project's engine simulator publishes into the fleet's broker; `none`: an engine of your own does. */
  engine: 'simulator' | 'none';
  /** The simulator's market-data events per second (default 500). */
  simulatorRate?: number;
  /** HAProxy's readiness checks: docker/haproxy.cfg's unless given. The replicas' drain is sized from them. */
  healthCheck?: HealthCheckTiming;
  /** The environment every replica starts from (JWT settings, LOG_LEVEL, limits …); the fleet adds its own to it. */
  baseEnv: NodeJS.ProcessEnv;
  /** Logs, the certificate and the HAProxy configuration: kept. By default a fresh temporary directory, removed at stop. */
  runDir?: string;
  /** Where the fleet says what it does; nothing by default. */
  log?: (line: string) => void;
}

export interface ReplicaState {
  name: string;
  port: number;
  url: string;
  pid: number | undefined;
  /** 1 for the first process on this port, 2 after its first restart, … */
  generation: number;
  running: boolean;
}

/** One replica's turn in a rolling restart; times in ms from the SIGTERM. */
export interface ReplicaRestart {
  name: string;
  /** How the old process ended; null if it was not running. */
  exit: ServiceExit | null;
  /** HAProxy took it out of the pool (its readiness answered 503), before it told its clients to leave. */
  outOfPoolMs: number | null;
  /** The old process had drained its clients and exited. */
  drainedMs: number;
  /** The new process answered ready. */
  readyMs: number;
  /** HAProxy had it back in the pool. */
  inPoolMs: number;
}

interface Replica {
  name: string;
  port: number;
  process: ServiceProcess | null;
  generation: number;
  /** Set while the fleet itself stops or restarts it, so that its exit is not reported as a crash. */
  expectedExit: boolean;
}

/**
 * A fleet on this machine, without Docker: several gateway replicas behind Debian's HAProxy configured from
 * docker/haproxy.cfg (rendered by haproxy-config.ts, TLS with a self-signed certificate made by docker/tls's script),
 * with a throwaway redis-server and nats-server -js unless given, and the engine simulator. What `npm run cluster`
 * runs and what the rolling-restart end-to-end test drives.
 */
export class LocalFleet {
  private readonly replicaList: Replica[] = [];
  private services: ServiceProcess[] = [];
  private haproxy: ServiceProcess | null = null;
  private simulator: ServiceProcess | null = null;
  private restarting: Promise<ReplicaRestart[]> | null = null;
  private stopping: Promise<void> | null = null;
  private ownsRunDir = false;

  private constructor(
    private readonly options: LocalFleetOptions,
    readonly runDir: string,
    private readonly healthCheck: HealthCheckTiming,
  ) {}

  /** Plain HTTP and TLS through HAProxy, and its statistics page. */
  urls = { http: '', https: '', stats: '' };
  redisUrl = '';
  natsUrl = '';
  /** The self-signed certificate of the TLS listener (PEM, without its key): what a client is told to trust. */
  certificate = '';
  /** The HAProxy configuration in use (docker/haproxy.cfg rendered). */
  haproxyConfigFile = '';
  /** A token for the dashboard, when the fleet signs with a secret it made itself (else: bring your own). */
  dashboardToken: string | undefined;
  /** How long each replica reports not ready before it tells its clients to leave: HAProxy's time to notice, and one check more. */
  drainDelayMs = 0;
  private replicaEnv: NodeJS.ProcessEnv = {};
  private shutdownTimeoutMs = 0;

  static async start(options: LocalFleetOptions): Promise<LocalFleet> {
    if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new Error(`replicas must be a whole number ≥ 1, not ${options.replicas}`);
    const ownsRunDir = options.runDir === undefined;
    const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), 'tradewire-cluster-'));
    mkdirSync(runDir, { recursive: true });
    const fleet = new LocalFleet(options, runDir, options.healthCheck ?? DOCKER_HEALTH_CHECK);
    fleet.ownsRunDir = ownsRunDir;
    try {
      await fleet.boot();
    } catch (error) {
      // Keep the logs of a failed start: the message says where they are.
      fleet.ownsRunDir = false;
      await fleet.stop();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${runDir})`, { cause: error });
    }
    return fleet;
  }

  get replicas(): ReplicaState[] {
    return this.replicaList.map((replica) => ({
      name: replica.name,
      port: replica.port,
      url: `http://${HOST}:${replica.port}`,
      pid: replica.process?.pid,
      generation: replica.generation,
      running: replica.process?.running ?? false,
    }));
  }

  private say(line: string): void {
    this.options.log?.(line);
  }

  private async boot(): Promise<void> {
    const { options } = this;
    const ports = {
      http: await portOrFree(options.ports.http, '--port'),
      https: await portOrFree(options.ports.https, '--tls-port'),
      stats: await portOrFree(options.ports.stats, '--stats-port'),
    };
    const replicaPorts: number[] = [];
    for (let i = 0; i < options.replicas; i++) {
      replicaPorts.push(options.ports.firstReplica === 0 ? await freePort() : await portOrFree(options.ports.firstReplica + i, '--replica-port'));
    }

    const certificateFile = join(this.runDir, 'tradewire.pem');
    await this.run('certificate', 'sh', [MAKE_CERTIFICATE, certificateFile]);
    const pem = readFileSync(certificateFile, 'utf8');
    const end = '-----END CERTIFICATE-----';
    this.certificate = `${pem.slice(0, pem.indexOf(end) + end.length)}\n`;

    this.redisUrl = options.redisUrl ?? (await this.startRedis());
    this.natsUrl = options.natsUrl ?? (await this.startNats());

    this.replicaEnv = this.environmentOfReplicas();
    for (const [i, port] of replicaPorts.entries()) {
      const replica: Replica = { name: `gateway-${i + 1}`, port, process: null, generation: 0, expectedExit: false };
      this.replicaList.push(replica);
      // One after the other: booting side by side on a busy 2-core machine can take longer than a start may.
      await this.startReplica(replica);
    }

    const config = renderHaproxyConfig({
      http: { host: HOST, port: ports.http },
      tls: { host: HOST, port: ports.https, certificateFile },
      stats: { host: HOST, port: ports.stats },
      backends: this.replicaList.map((replica) => ({ name: replica.name, host: HOST, port: replica.port })),
      healthCheck: this.healthCheck,
    });
    const checked = checkHaproxyConfig(config);
    if (checked.status !== 0) throw new Error(`haproxy -c refused the rendered configuration:\n${checked.output}`);
    this.haproxyConfigFile = join(this.runDir, 'haproxy.cfg');
    writeFileSync(this.haproxyConfigFile, config);
    this.urls = { http: `http://${HOST}:${ports.http}`, https: `https://${HOST}:${ports.https}`, stats: `http://${HOST}:${ports.stats}/stats` };
    // -db: in the foreground, so that the fleet owns the process.
    this.haproxy = this.service('haproxy', HAPROXY_BINARY, ['-db', '-f', this.haproxyConfigFile]);
    await this.haproxy.waitUntil('every replica in its pool', async () => [...(await this.poolStates()).values()].filter((state) => state === 'UP').length === this.replicaList.length, 30_000);

    if (options.engine === 'simulator') {
      const transport = String(this.replicaEnv.ENGINE_TRANSPORT).startsWith('redis') ? 'redis' : 'nats';
      const url = transport === 'redis' ? this.redisUrl : this.natsUrl;
      this.simulator = this.service('simulator', process.execPath, [SIMULATOR_SCRIPT, '--transport', transport, '--url', url, '--rate', String(options.simulatorRate ?? 500), '--accounts', '5', '--order-rate', '20']);
    }
    await this.mintDashboardToken();
  }

  /** What every replica gets on top of `baseEnv`: the fleet's addresses, its secret, and a drain sized to HAProxy's checks. */
  private environmentOfReplicas(): NodeJS.ProcessEnv {
    const base = this.options.baseEnv;
    const ownKeys = base.JWT_PUBLIC_KEY !== undefined || base.JWT_JWKS_URL !== undefined;
    // Every replica must verify the same tokens: one secret for the fleet (the gateway's own default is per process).
    const jwtSecret = ownKeys ? {} : { JWT_SECRET: base.JWT_SECRET ?? randomBytes(32).toString('hex') };
    // HAProxy needs up to `fall` failed checks, `interval` apart, to take a draining replica out; one interval more is
    // the margin. A client told to leave before that may be sent back to it, be refused and cost a retry.
    this.drainDelayMs = Number(base.DRAIN_DELAY_MS ?? this.healthCheck.intervalMs * (this.healthCheck.fall + 1));
    // The gateway caps its drain at half of SHUTDOWN_TIMEOUT_MS.
    this.shutdownTimeoutMs = Number(base.SHUTDOWN_TIMEOUT_MS ?? Math.max(10_000, this.drainDelayMs * 2 + 4_000));
    return {
      ...base,
      ...jwtSecret,
      NATS_URL: this.natsUrl,
      REDIS_URL: this.redisUrl,
      ENGINE_TRANSPORT: base.ENGINE_TRANSPORT ?? 'nats',
      // HAProxy is on this machine: its X-Forwarded-For and X-Forwarded-Proto are to be believed (HSTS over TLS).
      TRUSTED_PROXIES: base.TRUSTED_PROXIES ?? HOST,
      DRAIN_DELAY_MS: String(this.drainDelayMs),
      SHUTDOWN_TIMEOUT_MS: String(this.shutdownTimeoutMs),
      SHUTDOWN_RECONNECT_WINDOW_MS: base.SHUTDOWN_RECONNECT_WINDOW_MS ?? String(CLUSTER_RECONNECT_WINDOW_MS),
    };
  }

  private async mintDashboardToken(): Promise<void> {
    const secret = this.replicaEnv.JWT_SECRET;
    // A token is printed only when signed with the fleet's own throwaway secret, never with one the operator gave.
    if (secret === undefined || secret === this.options.baseEnv.JWT_SECRET) return;
    const accountsFile = this.replicaEnv.ACCOUNTS_FILE ?? join(PROJECT_ROOT, 'data', 'accounts.json');
    const accounts = AccountDirectory.fromFile(accountsFile).accountsOf('acme-capital');
    this.dashboardToken = await mintDevelopmentToken(secret, { tenant: 'acme-capital', accounts, licence: DEMO_LICENCE }, { issuer: this.replicaEnv.JWT_ISSUER, audience: this.replicaEnv.JWT_AUDIENCE });
  }

  private service(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): ServiceProcess {
    const service = ServiceProcess.start(name, join(this.runDir, `${name}.log`), command, args, { cwd: PROJECT_ROOT, env });
    this.services.push(service);
    return service;
  }

  /** A short-lived helper process that must succeed. */
  private async run(name: string, command: string, args: readonly string[]): Promise<void> {
    const helper = ServiceProcess.start(name, join(this.runDir, `${name}.log`), command, args, { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH } });
    const exit = await helper.exited;
    if (exit.code !== 0) throw new Error(`${name} failed (${exit.code ?? exit.signal}):\n${helper.logTail()}`);
  }

  private async startRedis(): Promise<string> {
    const port = await freePort();
    const redis = this.service('redis', 'redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no']);
    await redis.waitUntil(`redis-server on ${port}`, () => portAccepts(HOST, port), 15_000);
    return `redis://${HOST}:${port}`;
  }

  private async startNats(): Promise<string> {
    const port = await freePort();
    const store = join(this.runDir, 'jetstream');
    const nats = this.service('nats', 'nats-server', ['-a', HOST, '-p', String(port), '-js', '-sd', store]);
    await nats.waitUntil(`nats-server on ${port}`, () => portAccepts(HOST, port), 15_000);
    return `nats://${HOST}:${port}`;
  }

  private async startReplica(replica: Replica): Promise<void> {
    replica.generation++;
    replica.expectedExit = false;
    const env = { ...this.replicaEnv, PORT: String(replica.port), NODE_ID: replica.name, NODE_ADDRESS: `${HOST}:${replica.port}` };
    // As `npm start` runs it (docs/operations.md §10, "Node flags").
    const process_ = this.service(`${replica.name}.${replica.generation}`, process.execPath, ['--max-semi-space-size=32', GATEWAY_SCRIPT], env);
    replica.process = process_;
    void process_.exited.then((exit) => {
      if (!replica.expectedExit && !this.stopping) this.say(`${replica.name} exited unexpectedly (${exit.code ?? exit.signal}); see ${process_.logFile}. A rolling restart starts it again.`);
    });
    await process_.waitUntil(`${replica.name} ready on ${replica.port}`, () => answersOk(`http://${HOST}:${replica.port}/health/ready`), REPLICA_START_TIMEOUT_MS);
  }

  /** What HAProxy thinks of each replica, from its statistics page: `UP`, `DOWN`, `UP 1/2` (failing), `DOWN 1/2` (rising) … */
  async poolStates(): Promise<Map<string, string>> {
    const response = await fetch(`${this.urls.stats};csv`, { signal: AbortSignal.timeout(2_000) });
    const [header, ...rows] = (await response.text()).trim().split('\n');
    const columns = (header ?? '').replace(/^# /, '').split(',');
    const [proxy, server, status] = ['pxname', 'svname', 'status'].map((name) => columns.indexOf(name));
    const states = new Map<string, string>();
    for (const row of rows) {
      const cells = row.split(',');
      const name = cells[server] ?? '';
      if (cells[proxy] === 'gateways' && name !== 'FRONTEND' && name !== 'BACKEND') states.set(name, cells[status] ?? '');
    }
    return states;
  }

  private async waitForPool(name: string, inPool: boolean, timeoutMs: number): Promise<void> {
    const haproxy = this.haproxy;
    if (!haproxy) throw new Error('HAProxy is not running');
    const wanted = (state: string | undefined) => (inPool ? state === 'UP' : state?.startsWith('DOWN') === true);
    await haproxy.waitUntil(`HAProxy to ${inPool ? 'take back' : 'take out'} ${name}`, async () => wanted((await this.poolStates()).get(name)), timeoutMs);
  }

  /**
   * Restarts every replica, one at a time: waits until the others are in HAProxy's pool, SIGTERMs it (it reports not
   * ready, HAProxy takes it out, it tells its clients to reconnect within SHUTDOWN_RECONNECT_WINDOW_MS, they land on
   * the others), waits until it has drained and exited, starts it again on its port and waits until it is ready and
   * back in HAProxy's pool before the next. One at a time: a second call while one runs gets the same answer.
   */
  rollingRestart(): Promise<ReplicaRestart[]> {
    if (this.stopping) return Promise.reject(new Error('the fleet is stopping'));
    this.restarting ??= this.restartEach().finally(() => (this.restarting = null));
    return this.restarting;
  }

  private async restartEach(): Promise<ReplicaRestart[]> {
    const restarts: ReplicaRestart[] = [];
    // A check to fail and one to pass, with room for a replica slow to answer under load.
    const poolTimeoutMs = this.healthCheck.intervalMs * (Math.max(this.healthCheck.fall, this.healthCheck.rise) + 2) + 15_000;
    // A replica that is not running (it crashed) holds no clients: it comes back first, so that the others have room.
    const order = [...this.replicaList.filter((replica) => !replica.process?.running), ...this.replicaList.filter((replica) => replica.process?.running)];
    for (const replica of order) {
      if (this.stopping) throw new Error('the fleet is stopping');
      // Room for its clients: every other running replica in the pool (one that just came back may still be rising).
      for (const other of this.replicaList) if (other !== replica && other.process?.running) await this.waitForPool(other.name, true, poolTimeoutMs);
      this.say(`${replica.name}: draining`);
      const started = performance.now();
      const since = () => Math.round(performance.now() - started);
      const old = replica.process;
      let exit: ServiceExit | null = null;
      const pool: { outAtMs: number | null } = { outAtMs: null };
      if (old?.running) {
        replica.expectedExit = true;
        const exited = old.stop('SIGTERM', this.shutdownTimeoutMs + 5_000);
        // While it drains: when HAProxy takes it out (before its clients are told to leave, if the drain is long enough).
        const watch = (async () => {
          while (old.running && pool.outAtMs === null) {
            const state = await this.poolStates().catch(() => undefined);
            if (state?.get(replica.name)?.startsWith('DOWN')) pool.outAtMs = since();
            else await sleep(50);
          }
        })();
        exit = await exited;
        await watch;
      }
      const drainedMs = since();
      const outOfPoolMs = pool.outAtMs;
      if (outOfPoolMs !== null && outOfPoolMs > this.drainDelayMs) this.say(`${replica.name}: HAProxy took it out after ${outOfPoolMs} ms, later than its ${this.drainDelayMs} ms drain`);
      if (exit && exit.code !== 0) this.say(`${replica.name}: the old process ended with ${exit.code ?? exit.signal}, not 0 (see ${old?.logFile})`);
      await this.startReplica(replica);
      const readyMs = since();
      await this.waitForPool(replica.name, true, poolTimeoutMs);
      const restart: ReplicaRestart = { name: replica.name, exit, outOfPoolMs, drainedMs, readyMs, inPoolMs: since() };
      const out = outOfPoolMs === null ? '' : `out of HAProxy's pool at ${outOfPoolMs} ms, `;
      this.say(`${replica.name}: ${out}drained at ${drainedMs} ms, ready at ${readyMs} ms, back in HAProxy's pool at ${restart.inPoolMs} ms`);
      restarts.push(restart);
    }
    return restarts;
  }

  /**
   * Stops everything in order: the simulator, the replicas (each drains), HAProxy, then NATS and Redis. Removes the
   * run directory if the fleet made it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    await this.restarting?.catch(() => undefined);
    await this.simulator?.stop('SIGTERM', 5_000);
    for (const replica of this.replicaList) replica.expectedExit = true;
    await Promise.all(this.replicaList.map(async (replica) => replica.process?.stop('SIGTERM', this.shutdownTimeoutMs + 5_000)));
    await this.haproxy?.stop('SIGTERM', 5_000);
    // Whatever is left: the brokers, and anything a failed start left behind.
    await Promise.all(this.services.map((service) => service.stop('SIGTERM', 10_000)));
    if (this.ownsRunDir) rmSync(this.runDir, { recursive: true, force: true });
  }

  /** At once, without draining: for a second Ctrl-C. */
  kill(): void {
    ServiceProcess.killAll('SIGKILL');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** The port asked for, refused if something already listens there; 0: a free one. */
async function portOrFree(port: number, option: string): Promise<number> {
  if (port === 0) return freePort();
  if (await portAccepts(HOST, port)) throw new Error(`port ${port} is in use (choose another with ${option})`);
  return port;
}
