import cluster from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import { setupWorker } from '@socket.io/sticky';
import { AggregatorRegistry, register } from 'prom-client';
import type { Server as SocketIoServer } from 'socket.io';
import type { WorkerIdentity } from '../config/index.js';
import type { MetricsSource, MetricsText } from '../http/metrics-endpoint.js';
import { isPrimaryToWorker, isStickyMessage, workerIdentityFromEnvironment, type PrimaryToWorker, type WorkerToPrimary } from './cluster-messages.js';

/** Longer than prom-client's own 5 s for gathering every worker's metrics in the primary. */
const METRICS_ANSWER_TIMEOUT_MS = 6_000;

type SendHandle = Parameters<NodeJS.MessageListener>[1];

/**
 * This process as a worker of the gateway's cluster (`WORKERS` > 1, src/cluster/cluster-primary.ts): a complete
 * gateway (engine interest, seats lease, node-registry entry of its own) that gets its connections from the primary,
 * which owns PORT and hands each one to a worker with @socket.io/sticky.
 *
 * Made before anything else in the worker (main.ts), because the primary may hand it a connection as soon as it
 * runs: those are held until the gateway can serve them (`serve`).
 */
export class ClusterWorker {
  private static instance: ClusterWorker | null | undefined;

  /** Connections handed over before the gateway could take them, in the order they came. */
  private readonly held: { message: unknown; handle: SendHandle }[] = [];
  private readonly hold = (message: unknown, handle: SendHandle) => {
    if (isStickyMessage(message)) this.held.push({ message, handle });
  };
  private readonly metricsRequests = new Map<number, { resolve: (metrics: MetricsText) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private lastMetricsRequest = 0;

  /** The worker of this process; undefined unless the gateway's own primary forked it. */
  static inThisProcess(): ClusterWorker | undefined {
    if (ClusterWorker.instance === undefined) {
      const identity = cluster.isWorker ? workerIdentityFromEnvironment(process.env) : undefined;
      ClusterWorker.instance = identity ? new ClusterWorker(identity) : null;
    }
    return ClusterWorker.instance ?? undefined;
  }

  private constructor(readonly identity: WorkerIdentity) {
    process.on('message', this.hold);
    process.on('message', (message: unknown) => {
      if (isPrimaryToWorker(message)) this.metricsAnswered(message);
    });
    // Every series of this worker carries its slot, so that the primary's gathering keeps each worker's apart
    // (prom-client's AggregatorRegistry sums series whose labels are equal) and a scrape shows each worker.
    register.setDefaultLabels({ worker: String(identity.slot) });
    // Made in a worker, prom-client's aggregator answers the primary's requests for this registry's metrics.
    new AggregatorRegistry();
    // The primary is gone (killed, crashed): nobody hands this worker connections any more, and none will replace it.
    // It drains its clients (they reconnect elsewhere) and exits, rather than serving on as an orphan.
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
   * Takes connections from the primary into the application's HTTP server and Socket.IO, then those held so far.
   *
   * The server also listens on a loopback port of its own, never announced: Node arms an HTTP server's header and
   * request timeouts (slow-loris protection) only once it listens, and the connections handed over by the primary
   * would otherwise have none.
   */
  async serve(httpServer: HttpServer, io: SocketIoServer): Promise<void> {
    await new Promise<void>((resolveListening, rejectListening) => {
      httpServer.once('error', rejectListening);
      httpServer.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
        httpServer.off('error', rejectListening);
        resolveListening();
      });
    });
    setupWorker(io);
    process.off('message', this.hold);
    for (const { message, handle } of this.held.splice(0)) process.emit('message', message, handle);
  }

  /** Tells the primary this worker serves: it now gets its share of new connections. */
  announceReady(nodeId: string): void {
    this.send({ type: 'tradewire:worker-ready', nodeId });
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

  private metricsAnswered(answer: PrimaryToWorker): void {
    const request = this.metricsRequests.get(answer.requestId);
    if (!request) return;
    this.metricsRequests.delete(answer.requestId);
    clearTimeout(request.timer);
    if (answer.type === 'tradewire:metrics-answer') request.resolve({ contentType: answer.contentType, text: answer.text });
    else request.reject(new Error(answer.error));
  }

  private send(message: WorkerToPrimary, done: (error: Error | null) => void = () => undefined): void {
    if (!process.send || !process.connected) return done(new Error('the cluster primary cannot be reached'));
    process.send(message, undefined, {}, done);
  }
}
