import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Histogram } from '../lib/histogram.js';
import { benchScript } from '../lib/paths.js';
import { type CoreLayout, requirePid, spawnNode, stopProcess } from '../lib/processes.js';
import type { ClientSettings } from './bench-client.js';
import type { ClientSpec, ConnectResult, MeasureResult, NoticeResult, SubscribeResult, WorkerCommand, WorkerReply } from './loadgen-protocol.js';

type CommandBody = WorkerCommand extends infer C ? (C extends WorkerCommand ? Omit<C, 'id'> : never) : never;

/** Merged results of all workers. Histograms are merged, counts summed, rates summed per worker window. */
export interface PoolConnectResult {
  attempted: number;
  connected: number;
  failures: Record<string, number>;
  handshake: Histogram;
  elapsedMs: number;
  loopDelayP99Ms: number;
}

export interface PoolSubscribeResult {
  clients: number;
  accepted: number;
  rejected: number;
  failures: Record<string, number>;
  latency: Histogram;
}

export interface PoolMeasureResult {
  windowSeconds: number;
  framesPerSecond: number;
  updatesPerSecond: number;
  ordersPerSecond: number;
  frames: number;
  updates: number;
  snapshots: number;
  orders: number;
  mdLatency: Histogram;
  orderLatency: Histogram;
  disconnects: number;
  loopDelayP99Ms: number;
}

export interface PoolNoticeResult {
  clients: number;
  closedBefore: number;
  received: number;
  disconnected: number;
  /** POST sent → receipt, µs. */
  delay: Histogram;
  loopDelayP99Ms: number;
}

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(readonly process: ChildProcess) {
    process.on('message', (reply: WorkerReply) => {
      const entry = this.pending.get(reply.id);
      if (!entry) return;
      this.pending.delete(reply.id);
      if (reply.ok) entry.resolve(reply.result);
      else entry.reject(new Error(`load-generator worker: ${reply.error}`));
    });
    process.once('exit', (code, signal) => {
      for (const entry of this.pending.values()) entry.reject(new Error(`load-generator worker exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  send<T>(command: CommandBody, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load-generator worker: '${command.type}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.process.send({ ...command, id });
    });
  }
}

/**
 * The orchestrator's handle on the load-generator processes. Clients are dealt round-robin, so each worker opens its
 * share at its share of the rate and all workers together produce the scenario's rate and mix.
 */
export class LoadgenPool {
  private constructor(private readonly workers: Worker[]) {}

  static start(count: number, layout: CoreLayout, runDir: string, name: string): LoadgenPool {
    const workers = Array.from({ length: count }, (_, i) => {
      const child = spawnNode(benchScript('loadgen/loadgen.worker.js'), [], {
        cpus: layout.loadCpus,
        layout,
        logFile: join(runDir, `${name}.loadgen-${i}.log`),
        ipc: true,
      });
      return new Worker(child);
    });
    return new LoadgenPool(workers);
  }

  get pids(): number[] {
    return this.workers.map((w) => requirePid(w.process, 'load-generator worker'));
  }

  async connect(options: {
    baseUrl: string;
    namespace: string;
    client: ClientSettings;
    jwtSecret: string;
    clients: ClientSpec[];
    ratePerSecond: number;
    localAddresses: string[];
    /** Handshakes in flight at once over all workers (0 or absent: no limit, open loop); dealt evenly. */
    maxPending?: number;
  }): Promise<PoolConnectResult> {
    const shares = this.deal(options.clients);
    const ratePerWorker = options.ratePerSecond / this.workers.length;
    const maxPending = options.maxPending ? Math.max(1, Math.ceil(options.maxPending / this.workers.length)) : 0;
    // A limited connect runs slower than the rate asks when the server falls behind: allow it three times as long.
    const expectedMs = (options.clients.length / options.ratePerSecond) * 1000 * (maxPending ? 3 : 1);
    const results = await Promise.all(
      this.workers.map((worker, i) =>
        worker.send<ConnectResult>({ type: 'connect', ...options, clients: shares[i], ratePerSecond: ratePerWorker, timeoutMs: 20_000, maxPending }, expectedMs + 60_000),
      ),
    );
    return {
      attempted: sum(results.map((r) => r.attempted)),
      connected: sum(results.map((r) => r.connected)),
      failures: mergeCounts(results.map((r) => r.failures)),
      handshake: Histogram.from(results.map((r) => r.handshake)),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      loopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
    };
  }

  async subscribeMarketData(universe: string[], perClient: number, throttleMs: number, concurrency?: number): Promise<PoolSubscribeResult> {
    return this.mergeSubscribe(
      await Promise.all(
        this.workers.map((w) => w.send<SubscribeResult>({ type: 'subscribe-md', universe, perClient, throttleMs, timeoutMs: 30_000, concurrency }, 120_000)),
      ),
    );
  }

  async subscribeAccounts(): Promise<PoolSubscribeResult> {
    return this.mergeSubscribe(await Promise.all(this.workers.map((w) => w.send<SubscribeResult>({ type: 'subscribe-accounts', timeoutMs: 30_000 }, 120_000))));
  }

  /** Every worker starts recording when each of its clients receives the operator notice carrying `message`. */
  async noticeArm(message: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.send({ type: 'notice-arm', message }, 30_000)));
  }

  /**
   * Waits until every connected client has the notice or `timeoutMs` after `sentAt` (the POST, epoch ms), and merges
   * when each received it.
   */
  async noticeCollect(sentAt: number, timeoutMs: number): Promise<PoolNoticeResult> {
    const results = await Promise.all(
      this.workers.map((w) => w.send<NoticeResult>({ type: 'notice-collect', sentAt, deadline: sentAt + timeoutMs }, timeoutMs + 30_000)),
    );
    return {
      clients: sum(results.map((r) => r.clients)),
      closedBefore: sum(results.map((r) => r.closedBefore)),
      received: sum(results.map((r) => r.received)),
      disconnected: sum(results.map((r) => r.disconnected)),
      delay: Histogram.from(results.map((r) => r.delay)),
      loopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
    };
  }

  async measureStart(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.send({ type: 'measure-start' }, 30_000)));
  }

  async measureStop(): Promise<PoolMeasureResult> {
    const results = await Promise.all(this.workers.map((w) => w.send<MeasureResult>({ type: 'measure-stop' }, 60_000)));
    // Each worker timed its own window; a rate is the sum of each worker's count over its own window.
    const rate = (pick: (r: MeasureResult) => number): number => sum(results.map((r) => (r.windowMs > 0 ? (pick(r) * 1000) / r.windowMs : 0)));
    return {
      windowSeconds: Math.max(...results.map((r) => r.windowMs)) / 1000,
      framesPerSecond: rate((r) => r.frames),
      updatesPerSecond: rate((r) => r.updates),
      ordersPerSecond: rate((r) => r.orders),
      frames: sum(results.map((r) => r.frames)),
      updates: sum(results.map((r) => r.updates)),
      snapshots: sum(results.map((r) => r.snapshots)),
      orders: sum(results.map((r) => r.orders)),
      mdLatency: Histogram.from(results.map((r) => r.mdLatency)),
      orderLatency: Histogram.from(results.map((r) => r.orderLatency)),
      disconnects: sum(results.map((r) => r.disconnects)),
      loopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
    };
  }

  /** Closes every client; the workers stay up for the next `connect`. */
  async closeClients(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.send({ type: 'close' }, 15_000)));
  }

  /**
   * Ends the worker processes; the kernel closes their sockets. No polite close first: a worker that fell behind would
   * have to chew through seconds of backlog before it even read the request.
   */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => stopProcess(w.process, 1_000)));
  }

  private deal(clients: ClientSpec[]): ClientSpec[][] {
    const shares: ClientSpec[][] = this.workers.map(() => []);
    clients.forEach((client, i) => shares[i % this.workers.length].push(client));
    return shares;
  }

  private mergeSubscribe(results: SubscribeResult[]): PoolSubscribeResult {
    return {
      clients: sum(results.map((r) => r.clients)),
      accepted: sum(results.map((r) => r.accepted)),
      rejected: sum(results.map((r) => r.rejected)),
      failures: mergeCounts(results.map((r) => r.failures)),
      latency: Histogram.from(results.map((r) => r.latency)),
    };
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mergeCounts(counts: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const record of counts) for (const [key, value] of Object.entries(record)) merged[key] = (merged[key] ?? 0) + value;
  return merged;
}
