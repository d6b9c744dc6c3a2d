import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { Socket } from 'node:net';
import { setupMaster } from '@socket.io/sticky';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { errorSummary, METRICS, type Logger } from '#libs/observability';
import { TrustedProxies } from '#libs/rate-limit';
import type { AppConfig } from '../config/index.js';
import { metricsServer, type MetricsText } from '../http/metrics-endpoint.js';
import { securityHeaders } from '../http/security-headers.js';
import { isStickyMessage, isWorkerToPrimary, workerEnvironment, type PrimaryToWorker, type WorkerToPrimary } from './cluster-messages.js';

/** How long the primary waits for its workers beyond their own deadline (SHUTDOWN_TIMEOUT_MS) before it kills them. */
const SHUTDOWN_MARGIN_MS = 2_000;

interface WorkerState {
  slot: number;
  generation: number;
  ready: boolean;
  nodeId?: string;
}

/**
 * The primary of `WORKERS` > 1: it owns PORT and hands every connection to a worker process, each a complete gateway
 * (src/cluster/cluster-worker.ts). It serves no request itself.
 *
 * **Stickiness.** Socket.IO's HTTP long-polling is a series of requests that must all reach the worker holding the
 * session. @socket.io/sticky does that in the primary: it reads the first bytes of each connection, sends a request
 * with a known `sid` to the worker that owns that session and any other to the worker with the fewest sessions, and
 * passes the socket itself to that worker (a request with a body stays with the primary, which relays it). Of the
 * other ways: SO_REUSEPORT balances connections by address and port in the kernel, so a polling client's next request
 * lands on any worker (websocket-only clients would be fine, polling ones and dashboards behind proxies that block
 * websockets would not), and Node 20's net.listen has no reusePort anyway; Node's own cluster balancing (round robin)
 * is not sticky either; a load balancer in front of one port per worker is a second product to run on every host.
 * No Socket.IO adapter is set up between the workers: no emit needs a broadcast beyond the process (engine events are
 * emitted by each replica to its own sockets, operator actions go through Redis, src/fleet), as between replicas.
 *
 * **Metrics.** Each worker's series carry a `worker` label (its slot); a worker's `/metrics` asks the primary, which
 * gathers every worker's with prom-client's AggregatorRegistry and adds its own (`tradewire_cluster_*`), so a scrape
 * is complete whichever worker the balancer gave it to. METRICS_PORT, when set, is served by the primary itself.
 *
 * **Workers that die** are replaced in their slot (a new node id, `-r<n>`), the others serve on meanwhile; a worker
 * that dies before it is ready (a start failure) stops the machine with exit code 1, as a single process would.
 *
 * **SIGTERM / SIGINT** drain every worker at once (each runs the graceful drain of src/lifecycle); the port closes
 * after DRAIN_DELAY_MS, when the workers stop taking connections, and the primary exits once they all have: 0 when
 * every one drained cleanly, else 1 (killed after SHUTDOWN_TIMEOUT_MS plus a margin).
 */
export function runClusterPrimary(config: AppConfig, logger: Logger): void {
  new ClusterPrimary(config, logger).start();
}

class ClusterPrimary {
  private readonly workers = new Map<number, WorkerState>();
  private readonly server = createServer();
  private metricsPortServer: Server | undefined;
  private listening = false;
  private stopping: { exitCode: number } | undefined;
  private readonly aggregator = new AggregatorRegistry();
  private readonly ownMetrics = new Registry();
  private readonly restarts: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {
    this.restarts = new Counter({ name: METRICS.clusterWorkerRestarts, help: 'Worker processes that died (or exited unasked) and were replaced', registers: [this.ownMetrics] });
    const workers = this.workers;
    new Gauge({
      name: METRICS.clusterWorkers,
      help: 'Worker processes of this machine, by state (starting, ready)',
      labelNames: ['state'],
      registers: [this.ownMetrics],
      collect(this: Gauge<'state'>) {
        const ready = [...workers.values()].filter((worker) => worker.ready).length;
        this.set({ state: 'ready' }, ready);
        this.set({ state: 'starting' }, workers.size - ready);
      },
    });
  }

  start(): void {
    // Buffers cross the IPC channel as buffers (the first bytes of a connection that @socket.io/sticky passes on).
    cluster.setupPrimary({ serialization: 'advanced' });
    setupMaster(this.server, { loadBalancingMethod: 'least-connection' });
    cluster.on('message', (worker, message: unknown) => {
      if (isWorkerToPrimary(message)) this.onMessage(worker, message);
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    process.on('SIGTERM', () => this.stop('SIGTERM', 0));
    process.on('SIGINT', () => this.stop('SIGINT', 0));
    // logrotate signals the process it knows, the primary: each worker reopens its audit file (AUDIT_LOG).
    if (this.config.audit.kind === 'file') process.on('SIGHUP', () => this.signalWorkers('SIGHUP'));
    this.logger.info({ workers: this.config.workers, port: this.config.port }, 'starting workers');
    for (let slot = 1; slot <= this.config.workers; slot++) this.fork(slot, 0);
  }

  private fork(slot: number, generation: number): void {
    const worker = cluster.fork(workerEnvironment({ slot, generation }));
    stopReadingWhatIsHandedOver(worker);
    this.workers.set(worker.id, { slot, generation, ready: false });
    // @socket.io/sticky gives a new connection to the worker with the fewest sessions, counted in `clientsCount` on
    // the worker object. A worker still starting counts as full, so that connections go to those that serve; at its
    // start nobody waits, since the port opens once every worker is ready. (Connections handed to a starting worker
    // anyway, when none is ready, are held until it serves: ClusterWorker.)
    Object.assign(worker, { clientsCount: Number.MAX_SAFE_INTEGER });
  }

  private onMessage(worker: Worker, message: WorkerToPrimary): void {
    const state = this.workers.get(worker.id);
    if (!state) return;
    switch (message.type) {
      case 'tradewire:worker-ready':
        state.ready = true;
        state.nodeId = message.nodeId;
        Object.assign(worker, { clientsCount: 0 });
        this.logger.info({ worker: state.slot, workerNode: message.nodeId, workerPid: worker.process.pid }, 'worker ready');
        if (!this.listening && !this.stopping && [...this.workers.values()].every((each) => each.ready)) this.listen();
        return;
      case 'tradewire:metrics-request':
        this.machineMetrics().then(
          (metrics) => this.answer(worker, { type: 'tradewire:metrics-answer', requestId: message.requestId, ...metrics }),
          (error: unknown) => this.answer(worker, { type: 'tradewire:metrics-failed', requestId: message.requestId, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
    }
  }

  private answer(worker: Worker, message: PrimaryToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  /** Every worker's series (gathered by prom-client, which fails the scrape if one does not answer in 5 s) and the primary's. */
  private async machineMetrics(): Promise<MetricsText> {
    const [workers, own] = await Promise.all([this.aggregator.clusterMetrics(), this.ownMetrics.metrics()]);
    return { contentType: this.aggregator.contentType, text: `${workers.trimEnd()}\n${own}` };
  }

  private listen(): void {
    this.listening = true;
    const { port, metrics } = this.config;
    if (metrics.port !== undefined) {
      const server = metricsServer(metrics.token, securityHeaders(new TrustedProxies(this.config.rateLimits.trustedProxies)), () => this.machineMetrics());
      server.once('error', (error) => this.cannotListen(metrics.port, error));
      server.listen(metrics.port, '0.0.0.0');
      this.metricsPortServer = server;
    }
    this.server.once('error', (error) => this.cannotListen(port, error));
    this.server.listen(port, '0.0.0.0', () => {
      const nodes = [...this.workers.values()].map((worker) => worker.nodeId);
      this.logger.info({ port, metricsPort: metrics.port, workers: this.workers.size, nodes }, 'gateway ready: every worker serves');
    });
  }

  private cannotListen(port: number | undefined, error: Error): void {
    this.logger.fatal({ port, err: errorSummary(error) }, 'cannot listen');
    this.stop('cannot listen', 1);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const state = this.workers.get(worker.id);
    if (!state) return;
    this.workers.delete(worker.id);
    const details = { worker: state.slot, workerNode: state.nodeId, workerPid: worker.process.pid, code, signal };
    if (this.stopping) {
      // Asked to stop: a clean drain exits 0; SIGTERM's default action is fine too (a worker still starting had no
      // drain to run yet).
      if (code !== 0 && signal !== 'SIGTERM') this.stopping.exitCode = 1;
      this.logger.info(details, 'worker stopped');
      if (this.workers.size === 0) this.exit();
      return;
    }
    if (!state.ready) {
      this.logger.fatal(details, 'worker failed to start: stopping the others');
      this.stop('a worker failed to start', 1);
      return;
    }
    this.logger.error(details, 'worker died: replacing it; the others serve on');
    this.restarts.inc();
    this.fork(state.slot, state.generation + 1);
  }

  private stop(reason: string, exitCode: number): void {
    if (this.stopping) {
      this.stopping.exitCode = Math.max(this.stopping.exitCode, exitCode);
      return;
    }
    this.stopping = { exitCode };
    this.logger.info({ reason, workers: this.workers.size }, 'stopping: every worker drains');
    this.signalWorkers('SIGTERM');
    // The workers keep serving for DRAIN_DELAY_MS (readiness 503, for the load balancer to notice), then stop taking
    // connections: so does the port.
    setTimeout(() => this.server.close(), this.config.drainDelayMs).unref();
    setTimeout(() => {
      this.logger.error({ timeoutMs: this.config.shutdownTimeoutMs, workers: this.workers.size }, 'workers did not stop in time: killing them');
      this.signalWorkers('SIGKILL');
      this.exit(1);
    }, this.config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS).unref();
    if (this.workers.size === 0) this.exit();
  }

  private signalWorkers(signal: NodeJS.Signals): void {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  }

  private exit(exitCode = this.stopping?.exitCode ?? 0): void {
    this.server.close();
    this.metricsPortServer?.close();
    this.logger.info({ exitCode }, 'stopped');
    this.logger.flush();
    process.exit(exitCode);
  }
}

/** The libuv handle under a net.Socket, which Node's types leave out: it reads the socket's file descriptor. */
interface ReadingHandle {
  readStop(): number;
}

/**
 * Makes the primary stop reading a socket the moment @socket.io/sticky hands it to `worker` (its first bytes read).
 *
 * Node sends a socket to another process without stopping its own reads: until the worker's acknowledgement comes
 * back (and while earlier handovers to that worker wait for theirs) the primary still reads the descriptor and throws
 * away what it reads (nodejs/node#8353). A client that writes as soon as the worker answers, as a websocket client
 * sends its namespace CONNECT after the `open` packet, then loses those bytes and waits forever: a few connections in
 * a thousand did, under load, before this. With reads stopped, they wait in the kernel for the worker.
 */
function stopReadingWhatIsHandedOver(worker: Worker): void {
  const send = worker.send.bind(worker) as (...args: unknown[]) => boolean;
  const handOver = (...args: unknown[]): boolean => {
    const [message, handle] = args;
    if (handle instanceof Socket && isStickyMessage(message)) (handle as unknown as { _handle?: ReadingHandle | null })._handle?.readStop();
    return send(...args);
  };
  worker.send = handOver;
}
