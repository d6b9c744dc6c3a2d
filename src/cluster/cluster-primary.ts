import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { errorSummary, METRICS, type Logger } from '#libs/observability';
import { TrustedProxies } from '#libs/rate-limit';
import type { AppConfig } from '../config/index.js';
import { metricsServer, type MetricsText } from '../http/metrics-endpoint.js';
import { securityHeaders } from '../http/security-headers.js';
import { AcceptBalance, type AcceptCommand } from './accept-balance.js';
import { isWorkerToPrimary, workerEnvironment, type PrimaryToWorker, type WorkerToPrimary } from './cluster-messages.js';

/** How long the primary waits for its workers beyond their own deadline (SHUTDOWN_TIMEOUT_MS) before it kills them. */
const SHUTDOWN_MARGIN_MS = 2_000;

interface WorkerState {
  slot: number;
  generation: number;
  /** Started: the application is up, its relay port open. */
  ready: boolean;
  /** Listening on PORT too. */
  serving: boolean;
  nodeId?: string;
  relayPort?: number;
}

/**
 * The primary of `WORKERS` > 1: it forks the workers, each a complete gateway (src/cluster/cluster-worker.ts), and
 * watches over them; it serves no request itself.
 *
 * **Connections.** The workers listen on PORT together and each accepts connections itself from the one socket the
 * primary opened (Node's cluster in `SCHED_NONE`: the kernel gives each connection to whichever worker accepts
 * first, so a busy worker takes fewer). Nothing passes through the primary. Whichever accepts first is not evenly,
 * though: each worker reports its connection count, and one more than WORKER_CONNECTION_SLACK above the least loaded
 * stops accepting until the others caught up (accept-balance.ts, accept-gate.ts). Socket.IO's HTTP long-polling is a series
 * of requests that must all reach the worker holding the session, and so is a polling client's websocket upgrade:
 * session ids name their worker, and a worker relays another's over loopback (src/cluster/session-relay.ts).
 * Measured against the alternatives (bench/RESULTS.md, docs/operations.md §6): @socket.io/sticky in the primary reads
 * every connection's first bytes and hands the socket over by IPC, one at a time per worker, each waiting for the
 * worker's acknowledgement; its two workers spent 1.8x the CPU per new connection of one process, these 1.3-1.5x.
 * SO_REUSEPORT would balance in the kernel as SCHED_NONE does, and Node 20's net cannot set it. Node's default round
 * robin hands connections over by IPC as sticky does, and is not sticky. No Socket.IO adapter is set up between the
 * workers: no emit needs a broadcast beyond the process (engine events are emitted by each replica to its own
 * sockets, operator actions go through Redis, src/fleet).
 *
 * **Metrics.** Each worker's series carry a `worker` label (its slot); a worker's `/metrics` asks the primary, which
 * gathers every worker's with prom-client's AggregatorRegistry and adds its own (`tradewire_cluster_*`), so a scrape
 * is complete whichever worker accepted it. METRICS_PORT, when set, is served by the primary itself.
 *
 * **Workers that die** are replaced in their slot (a new node id, `-r<n>`), the others serve on meanwhile; a worker
 * that dies before it is ready (a start failure) stops the machine with exit code 1, as a single process would.
 *
 * **SIGTERM / SIGINT** drain every worker at once (each runs the graceful drain of src/lifecycle and stops accepting
 * after DRAIN_DELAY_MS); the primary exits once they all have: 0 when every one drained cleanly, else 1 (killed after
 * SHUTDOWN_TIMEOUT_MS plus a margin).
 */
export function runClusterPrimary(config: AppConfig, logger: Logger): void {
  new ClusterPrimary(config, logger).start();
}

class ClusterPrimary {
  private readonly workers = new Map<number, WorkerState>();
  private metricsPortServer: Server | undefined;
  /** Every worker of the start has been ready once: the port is open, and a replacement serves as soon as it is ready. */
  private started = false;
  private stopping: { exitCode: number } | undefined;
  private readonly aggregator = new AggregatorRegistry();
  private readonly ownMetrics = new Registry();
  private readonly restarts: Counter;
  private readonly acceptPauses: Counter;
  /** Which workers accept on PORT, by cluster worker id. */
  private readonly balance: AcceptBalance<number>;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {
    this.restarts = new Counter({ name: METRICS.clusterWorkerRestarts, help: 'Worker processes that died (or exited unasked) and were replaced', registers: [this.ownMetrics] });
    this.acceptPauses = new Counter({ name: METRICS.clusterAcceptPauses, help: 'Times a worker stopped accepting on PORT because it held more connections than the least loaded worker plus WORKER_CONNECTION_SLACK', registers: [this.ownMetrics] });
    this.balance = new AcceptBalance(config.workerConnectionSlack);
    const workers = this.workers;
    new Gauge({
      name: METRICS.clusterWorkers,
      help: 'Worker processes of this machine, by state (starting, or ready: serving on PORT)',
      labelNames: ['state'],
      registers: [this.ownMetrics],
      collect(this: Gauge<'state'>) {
        const serving = [...workers.values()].filter((worker) => worker.serving).length;
        this.set({ state: 'ready' }, serving);
        this.set({ state: 'starting' }, workers.size - serving);
      },
    });
  }

  start(): void {
    // Each worker accepts from the listening socket itself; none is handed over by the primary (see above).
    cluster.schedulingPolicy = cluster.SCHED_NONE;
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
    this.workers.set(worker.id, { slot, generation, ready: false, serving: false });
  }

  private onMessage(worker: Worker, message: WorkerToPrimary): void {
    const state = this.workers.get(worker.id);
    if (!state) return;
    switch (message.type) {
      case 'tradewire:worker-ready':
        state.ready = true;
        state.nodeId = message.nodeId;
        state.relayPort = message.relayPort;
        this.logger.info({ worker: state.slot, workerNode: message.nodeId, workerPid: worker.process.pid }, 'worker ready');
        this.announcePeers();
        if (this.stopping) return;
        if (this.started) this.answer(worker, { type: 'tradewire:serve' });
        else if ([...this.workers.values()].every((each) => each.ready)) this.serve();
        return;
      case 'tradewire:worker-serving':
        state.serving = true;
        return;
      case 'tradewire:worker-load':
        if (state.serving && !this.stopping) this.tell(this.balance.report(worker.id, { connections: message.connections, accepting: message.accepting }));
        return;
      case 'tradewire:metrics-request':
        this.machineMetrics().then(
          (metrics) => this.answer(worker, { type: 'tradewire:metrics-answer', requestId: message.requestId, ...metrics }),
          (error: unknown) => this.answer(worker, { type: 'tradewire:metrics-failed', requestId: message.requestId, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
    }
  }

  private tell(commands: AcceptCommand<number>[]): void {
    for (const { worker: id, accept } of commands) {
      const worker = cluster.workers?.[id];
      if (!worker) continue;
      if (!accept) this.acceptPauses.inc();
      this.answer(worker, { type: 'tradewire:accept', accept });
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

  /** Every worker of the start is ready: all open the port together (and the primary METRICS_PORT). */
  private serve(): void {
    this.started = true;
    const { port, metrics } = this.config;
    if (metrics.port !== undefined) {
      const server = metricsServer(metrics.token, securityHeaders(new TrustedProxies(this.config.rateLimits.trustedProxies)), () => this.machineMetrics());
      server.once('error', (error) => this.cannotListen(metrics.port, error));
      server.listen(metrics.port, '0.0.0.0');
      this.metricsPortServer = server;
    }
    for (const worker of this.connectedWorkers()) this.answer(worker, { type: 'tradewire:serve' });
    const nodes = [...this.workers.values()].map((worker) => worker.nodeId);
    this.logger.info({ port, metricsPort: metrics.port, workers: this.workers.size, nodes }, 'gateway ready: every worker serves');
  }

  /** Tells every worker where each ready worker takes the requests of its sessions. */
  private announcePeers(): void {
    const relayPorts: Record<string, number> = {};
    for (const worker of this.workers.values()) if (worker.ready && worker.relayPort !== undefined) relayPorts[String(worker.slot)] = worker.relayPort;
    for (const worker of this.connectedWorkers()) this.answer(worker, { type: 'tradewire:peers', relayPorts });
  }

  private connectedWorkers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && worker.isConnected());
  }

  private cannotListen(port: number | undefined, error: Error): void {
    this.logger.fatal({ port, err: errorSummary(error) }, 'cannot listen');
    this.stop('cannot listen', 1);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const state = this.workers.get(worker.id);
    if (!state) return;
    this.workers.delete(worker.id);
    // The others take every new connection until the balance is known again (its replacement starts with none).
    if (!this.stopping) this.tell(this.balance.remove(worker.id));
    // Requests for its sessions are no longer relayed: the workers answer them as unknown sessions.
    this.announcePeers();
    const details = { worker: state.slot, workerNode: state.nodeId, workerPid: worker.process.pid, code, signal };
    if (this.stopping) {
      // Asked to stop: a clean drain exits 0; SIGTERM's default action is fine too (a worker still starting had no
      // drain to run yet).
      if (code !== 0 && signal !== 'SIGTERM') this.stopping.exitCode = 1;
      this.logger.info(details, 'worker stopped');
      if (this.workers.size === 0) this.exit();
      return;
    }
    // One that never served failed to start (reference data, the engine, PORT taken …): a replacement would too.
    if (!state.serving) {
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
    // Each keeps serving for DRAIN_DELAY_MS (readiness 503, for the load balancer to notice), then stops accepting.
    this.signalWorkers('SIGTERM');
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
    this.metricsPortServer?.close();
    this.logger.info({ exitCode }, 'stopped');
    this.logger.flush();
    process.exit(exitCode);
  }
}
