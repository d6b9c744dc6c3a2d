import type { HistogramSnapshot } from '../lib/histogram.js';
import type { BenchUser } from '../lib/tokens.js';
import type { ClientSettings } from './bench-client.js';

/** One client a worker opens: its index in the whole scenario (which seeds its subscriptions) and its identity. */
export interface ClientSpec extends BenchUser {
  index: number;
}

/** Orchestrator → load-generator worker. Every command is answered by exactly one `WorkerReply` with its id. */
export type WorkerCommand =
  | {
      type: 'connect';
      id: number;
      baseUrl: string;
      namespace: string;
      client: ClientSettings;
      jwtSecret: string;
      clients: ClientSpec[];
      /** This worker's share of the scenario's connection rate. */
      ratePerSecond: number;
      localAddresses: string[];
      timeoutMs: number;
      /**
       * At most this many of this worker's handshakes in flight (0: no limit, open loop). When the server falls behind,
       * the next client waits for one to finish and the schedule starts again from then, instead of piling more
       * attempts onto full accept queues.
       */
      maxPending: number;
    }
  | {
      type: 'subscribe-md';
      id: number;
      universe: string[];
      perClient: number;
      throttleMs: number;
      timeoutMs: number;
      /** Requests in flight at once (default 200); the storm scenario sends every client's at the same instant. */
      concurrency?: number;
    }
  | { type: 'subscribe-accounts'; id: number; timeoutMs: number }
  /** From now on, record when each held client receives the operator notice carrying `message`. */
  | { type: 'notice-arm'; id: number; message: string }
  /** Wait until every held client still connected has it, or until `deadline` (epoch ms); `sentAt`: the POST, epoch ms. */
  | { type: 'notice-collect'; id: number; sentAt: number; deadline: number }
  | { type: 'measure-start'; id: number }
  | { type: 'measure-stop'; id: number }
  | { type: 'close'; id: number };

export type WorkerReply = { type: 'reply'; id: number; ok: true; result: unknown } | { type: 'reply'; id: number; ok: false; error: string };

export interface ConnectResult {
  attempted: number;
  connected: number;
  /** Failure reason (the refusal's code where the server gave one) → count. */
  failures: Record<string, number>;
  /** Start of the WebSocket connect → `welcome`, in µs. */
  handshake: HistogramSnapshot;
  elapsedMs: number;
  /** The worker's own event-loop delay p99 while connecting, in ms (see MeasureResult). */
  loopDelayP99Ms: number;
}

export interface SubscribeResult {
  clients: number;
  /** Streams (market data) or accounts the server accepted. */
  accepted: number;
  rejected: number;
  /** Rejection or failure code → count. */
  failures: Record<string, number>;
  /** Request → ack, in µs. */
  latency: HistogramSnapshot;
}

export interface MeasureResult {
  windowMs: number;
  frames: number;
  updates: number;
  snapshots: number;
  orders: number;
  /** Engine `ts` → client receipt, in µs. */
  mdLatency: HistogramSnapshot;
  orderLatency: HistogramSnapshot;
  /** Clients the server dropped during the window. */
  disconnects: number;
  /** The worker's own event-loop delay p99 in ms: high values mean the load generator, not the server, fell behind. */
  loopDelayP99Ms: number;
}

export interface NoticeResult {
  /** Clients the worker held and still had open when the notice was armed. */
  clients: number;
  /** Clients that had been welcomed but were closed again before the notice was armed (e.g. a server's ping timeout). */
  closedBefore: number;
  received: number;
  /** Held clients whose connection closed between arming and collecting. */
  disconnected: number;
  /** POST sent → the client's receipt, in µs, of the clients that received it (a receipt stamped before the POST counts as 0). */
  delay: HistogramSnapshot;
  /** The worker's own event-loop delay p99 while the notice arrived, in ms: receipt times include it. */
  loopDelayP99Ms: number;
}
