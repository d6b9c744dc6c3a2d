import cluster from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, register } from 'prom-client';
import type { Server as SocketIoServer } from 'socket.io';
import { METRICS } from '#libs/observability';
import type { WorkerIdentity } from '../config/index.js';
import type { MetricsSource, MetricsText } from '../http/metrics-endpoint.js';
import { addListenerOf } from '../http/accepting.js';
import { AcceptGate } from './accept-gate.js';
import { isPrimaryToWorker, workerIdentityFromEnvironment, type PrimaryToWorker, type WorkerToPrimary } from './cluster-messages.js';
import { routeSessionsToTheirWorker } from './session-relay.js';

/** How often a worker tells the primary its connections, when they changed (accept-balance.ts). */
const LOAD_REPORT_EVERY_MS = 250;

/** Longer than prom-client's own 5 s for gathering every worker's metrics in the primary. */
const METRICS_ANSWER_TIMEOUT_MS = 6_000;

/**
 * This process as a worker of the gateway's cluster (`WORKERS` > 1, src/cluster/cluster-primary.ts): a complete
 * gateway (engine interest, seats lease, node-registry entry of its own) that accepts connections on PORT itself,
 * beside the other workers, and relays to its peers what belongs to their Socket.IO sessions (session-relay.ts).
 */
export class ClusterWorker {
  private static instance: ClusterWorker | null | undefined;

  /** The other workers' relay ports by slot, as the primary last told them. */
  private relayPorts = new Map<number, number>();
  private serveOnPort: (() => void) | undefined;
  private servingAsked = false;
  private relayPort: number | undefined;
  private sessions: { httpServer: HttpServer; io: SocketIoServer } | undefined;
  /** This worker's listener on PORT, once serving. */
  private gate: AcceptGate | undefined;
  private lastLoad: { connections: number; accepting: boolean } | undefined;
  /** A listener on PORT that failed (to open again, or an accept). */
  private listenerErrors: (error: Error) => void = () => undefined;
  private readonly metricsRequests = new Map<number, { resolve: (metrics: MetricsText) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private lastMetricsRequest = 0;
  private readonly relayed = new Counter({
    name: METRICS.clusterRelayed,
    help: "Socket.IO requests and websocket upgrades of another worker's session that this worker passed on to it",
    labelNames: ['kind'],
  });

  /** The worker of this process; undefined unless the gateway's own primary forked it. */
  static inThisProcess(): ClusterWorker | undefined {
    if (ClusterWorker.instance === undefined) {
      const identity = cluster.isWorker ? workerIdentityFromEnvironment(process.env) : undefined;
      ClusterWorker.instance = identity ? new ClusterWorker(identity) : null;
    }
    return ClusterWorker.instance ?? undefined;
  }

  private constructor(readonly identity: WorkerIdentity) {
    process.on('message', (message: unknown) => {
      if (isPrimaryToWorker(message)) this.fromPrimary(message);
    });
    // Every series of this worker carries its slot, so that the primary's gathering keeps each worker's apart
    // (prom-client's AggregatorRegistry sums series whose labels are equal) and a scrape shows each worker.
    register.setDefaultLabels({ worker: String(identity.slot) });
    // Made in a worker, prom-client's aggregator answers the primary's requests for this registry's metrics.
    new AggregatorRegistry();
    // The primary is gone (killed, crashed): nothing replaces this worker if it dies, nothing gathers its metrics or
    // tells it about its peers. It drains its clients (they reconnect elsewhere) and exits rather than serve on alone.
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }

  /**
   * After the application's shutdown hooks are in place: a second SIGTERM or SIGINT (a terminal's Ctrl-C reaches the
   * whole process group and the primary passes SIGTERM on; systemd signals every process of the unit) must not
   * end the drain that the first one started, which is what Node does to a signal nobody listens to any more.
   */
  keepDrainingOnRepeatedSignals(): void {
    const ignore = () => undefined;
    process.on('SIGTERM', ignore);
    process.on('SIGINT', ignore);
  }

  /**
   * Once Socket.IO is attached to the application's server: its sessions are named after this worker, requests for
   * other workers' sessions are relayed to them, and the server listens on a loopback port of this worker's own (never
   * announced beyond the machine) for the requests the other workers relay here. PORT comes later (`serve`).
   */
  async routeSessions(httpServer: HttpServer, io: SocketIoServer): Promise<void> {
    routeSessionsToTheirWorker(
      httpServer,
      io,
      this.identity.slot,
      (slot) => this.relayPorts.get(slot),
      (kind) => this.relayed.inc({ kind }),
    );
    await new Promise<void>((resolveListening, rejectListening) => {
      httpServer.once('error', rejectListening);
      // exclusive: a port of this worker's own, not one shared through the primary as PORT is.
      httpServer.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
        httpServer.off('error', rejectListening);
        resolveListening();
      });
    });
    this.relayPort = (httpServer.address() as AddressInfo).port;
    this.sessions = { httpServer, io };
  }

  /**
   * Tells the primary this worker is ready, then accepts on PORT when the primary says so: at start once every worker
   * is ready, so that the port opens on all of them together; a worker that replaces one at once. From then on the
   * worker reports its connections, and stops and resumes accepting as the primary balances the workers.
   */
  async serve(nodeId: string, port: number, onListenerError: (error: Error) => void): Promise<void> {
    const sessions = this.sessions;
    if (this.relayPort === undefined || !sessions) throw new Error('routeSessions first: the relay port is not open');
    const asked = new Promise<void>((resolveAsked) => {
      this.serveOnPort = resolveAsked;
      if (this.servingAsked) resolveAsked();
    });
    this.send({ type: 'tradewire:worker-ready', nodeId, relayPort: this.relayPort });
    await asked;
    this.listenerErrors = onListenerError;
    const gate = new AcceptGate(sessions.httpServer, port, '0.0.0.0', onListenerError, () => this.reportLoad());
    await gate.set(true);
    this.gate = gate;
    addListenerOf(sessions.httpServer, () => gate.stop());
    this.send({ type: 'tradewire:worker-serving' });
    this.reportLoad();
    setInterval(() => this.reportLoad(true), LOAD_REPORT_EVERY_MS).unref();
  }

  /** Tells the primary what this worker holds; `onlyIfChanged`: unless it told the same last time. */
  private reportLoad(onlyIfChanged = false): void {
    if (!this.gate || !this.sessions) return;
    const connections = this.sessions.io.engine.clientsCount;
    const accepting = this.gate.accepting;
    if (onlyIfChanged && this.lastLoad?.connections === connections && this.lastLoad.accepting === accepting) return;
    this.lastLoad = { connections, accepting };
    this.send({ type: 'tradewire:worker-load', connections, accepting });
  }

  /** `/metrics` of every worker of the machine, as the primary gathers them. */
  readonly machineMetrics: MetricsSource = () =>
    new Promise<MetricsText>((resolve, reject) => {
      const requestId = ++this.lastMetricsRequest;
      const timer = setTimeout(() => {
        this.metricsRequests.delete(requestId);
        reject(new Error(`the cluster primary did not answer within ${METRICS_ANSWER_TIMEOUT_MS} ms`));
      }, METRICS_ANSWER_TIMEOUT_MS);
      this.metricsRequests.set(requestId, { resolve, reject, timer });
      this.send({ type: 'tradewire:metrics-request', requestId }, (error) => {
        if (!error) return;
        clearTimeout(timer);
        this.metricsRequests.delete(requestId);
        reject(error);
      });
    });

  private fromPrimary(message: PrimaryToWorker): void {
    switch (message.type) {
      case 'tradewire:peers':
        this.relayPorts = new Map(Object.entries(message.relayPorts).map(([slot, port]) => [Number(slot), port]));
        return;
      case 'tradewire:serve':
        this.servingAsked = true;
        this.serveOnPort?.();
        return;
      case 'tradewire:accept':
        this.gate?.set(message.accept).catch((error: unknown) => this.listenerErrors(error instanceof Error ? error : new Error(String(error))));
        return;
      case 'tradewire:metrics-answer':
      case 'tradewire:metrics-failed': {
        const request = this.metricsRequests.get(message.requestId);
        if (!request) return;
        this.metricsRequests.delete(message.requestId);
        clearTimeout(request.timer);
        if (message.type === 'tradewire:metrics-answer') request.resolve({ contentType: message.contentType, text: message.text });
        else request.reject(new Error(message.error));
        return;
      }
    }
  }

  private send(message: WorkerToPrimary, done: (error: Error | null) => void = () => undefined): void {
    if (!process.send || !process.connected) return done(new Error('the cluster primary cannot be reached'));
    process.send(message, undefined, {}, done);
  }
}
