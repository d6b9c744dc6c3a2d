import type { DeliveryCounters, DeliveryRecorder, GatewayMetrics } from '#libs/observability';
import { connectionHasRoom, DEFLATED, disconnectSlowClient, NOT_DEFLATED, writePacket, type PacketSendOptions } from './connection-backpressure.js';
import { engineConnectionOf, type EngineConnection, type GatewaySocket } from './gateway-socket.js';
import { eventPacketPrefix } from './socket-packet.js';

/**
 * Updates a 'latest' stream keeps for its unthrottled subscribers (`throttleMs` 0 means every update); one further
 * behind than this gets the latest state only.
 */
const LATEST_BACKLOG = 64;

/**
 * Throttled flushes are due on a 5 ms grid. Clients that subscribed at different moments (a resubscribe storm spread
 * over a second or two) would otherwise each have their own timer phase: hundreds of separate timer wake-ups per
 * interval, each a loop turn of its own. On the grid, the clients due within the same 5 ms share one timer run; a
 * flush is at most 5 ms later than its interval, never earlier.
 */
const FLUSH_GRID_MS = 5;

/** How a stream's pending updates combine while a client waits for its next flush. */
export type MergeMode =
  /** Each update is the full state (quotes): only the latest is kept. */
  | 'latest'
  /** Every update matters (trades, book deltas): all are kept, in order. */
  | 'all';

/** What a stream does when a client falls further behind it than the stream keeps. */
export type OverflowMode =
  /** Skip the oldest updates: the client sees the gap in `seq` (trades). */
  | 'drop-oldest'
  /** Skip them all and send a fresh snapshot instead (books). */
  | 'resync';

export interface StreamKind {
  merge: MergeMode;
  overflow: OverflowMode;
}

export const STREAM_KINDS = {
  /** Full state per update: conflated to the latest when throttled or behind. */
  state: { merge: 'latest', overflow: 'drop-oldest' },
  /** Events that all count (trades): batched, never conflated; a client too far behind sees a seq gap. */
  events: { merge: 'all', overflow: 'drop-oldest' },
  /** Deltas against a snapshot (books): a client too far behind gets a fresh snapshot. */
  deltas: { merge: 'all', overflow: 'resync' },
} as const satisfies Record<string, StreamKind>;

/**
 * When a client stops keeping up: frames (engine.io) or bytes (its WebSocket) still queued on its connection before the
 * next flush is held back; updates
 * a stream keeps for clients that are behind; and how long a client may stay behind before it is disconnected
 * (SLOW_CLIENT).
 */
export interface SlowClientPolicy {
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  maxPendingPerStream: number;
  graceMs: number;
  recheckMs: number;
}

export const DEFAULT_SLOW_CLIENT_POLICY: SlowClientPolicy = { maxQueuedFrames: 16, maxQueuedBytes: 65_536, maxPendingPerStream: 256, graceMs: 10_000, recheckMs: 50 };

/** What the fan-out reports (GatewayMetrics provides it); per frame through a recorder resolved once. */
export type FanoutMetrics = Pick<GatewayMetrics, 'subscriptionsChanged' | 'deliveryRecorder' | 'slowClient'>;

/**
 * An update serialized only when a client first needs it, then kept: a quote stream at thousands of updates per second
 * whose subscribers are all throttled sends one in hundreds, so serializing each on arrival was most of its cost.
 */
export type LazyJson = () => string;

export interface StreamFanoutOptions {
  namespace: string;
  event: string;
  metrics: FanoutMetrics;
  slowClients?: SlowClientPolicy;
  /** Called when a client fell so far behind a 'resync' stream that it needs a fresh snapshot of it. */
  resnapshot?: (socket: GatewaySocket, stream: string) => void;
  /** The usage counters of a socket's user, looked up once per socket. */
  usage?: (socket: GatewaySocket) => DeliveryCounters | undefined;
  /**
   * Whether permessage-deflate may compress this fan-out's frames (where a client negotiated it). Each frame would be
   * deflated once per receiving client, so market data goes out uncompressed unless WS_COMPRESSION=all. Default false.
   */
  deflate?: boolean;
}

/**
 * One stream's recent updates, serialized once and shared by every subscriber: a ring of the last `capacity` updates. `head` counts every update ever published; a subscriber's cursor says how far it has read.
 */
class StreamCell {
  readonly parts: (string | LazyJson)[] = [];
  readonly stamps: number[] = [];
  head = 0;
  readonly capacity: number;
  readonly subscribers = new Set<Subscriber>();
  /**
   * Subscribers that parked (nothing pending anywhere) since this stream's last update: the next update schedules
   * their flush. Waking a subscriber only clears its flag; the entries it leaves in its other streams' lists are
   * skipped and dropped when those streams next publish (or compacted), so parking and waking cost no set upkeep.
   */
  parked: Subscriber[] = [];

  constructor(
    readonly stream: string,
    readonly kind: StreamKind,
    maxPending: number,
  ) {
    this.capacity = kind.merge === 'latest' ? Math.min(LATEST_BACKLOG, maxPending) : maxPending;
  }

  push(json: string | LazyJson, ts: number): void {
    const index = this.head % this.capacity;
    this.parts[index] = json;
    this.stamps[index] = ts;
    this.head++;
  }
}

class StreamSlot {
  /** The cell's head when this client last took (or skipped) its updates. */
  cursor: number;
  /** A snapshot waiting to go out ahead of any update. */
  snapshot: string | undefined;
  snapshotTs = 0;
  lastSentAt = 0;
  constructor(
    readonly cell: StreamCell,
    public throttleMs: number,
  ) {
    this.cursor = cell.head;
  }

  get pending(): boolean {
    return this.snapshot !== undefined || this.cursor < this.cell.head;
  }
}

class Subscriber {
  readonly slots = new Map<string, StreamSlot>();
  parked = false;
  removed = false;
  queuedForImmediate = false;
  timer: NodeJS.Timeout | undefined;
  timerDueAt = Number.POSITIVE_INFINITY;
  /** When the client fell behind (0: it keeps up). */
  behindSince = 0;
  recheck: NodeJS.Timeout | undefined;
  constructor(
    readonly socket: GatewaySocket,
    readonly connection: EngineConnection,
    readonly usage: DeliveryCounters | undefined,
  ) {}
}

/**
 * The market-data fan-out core of one namespace: which sockets want which streams, and the per-client batching.
 *
 * An engine event costs the same whatever the number of subscribers: its update is serialized once by the caller and
 * stored in the stream's cell; only subscribers that were idle (parked) are told. Each client then reads what is new
 * in its streams when its own flush comes (at most once per `throttleMs` per stream, or on the next event-loop turn
 * with throttle 0), and gets one `md` frame (a JSON array joined from the shared serialized parts) written straight to
 * the engine.io connection: no per-client serialization, no Nest pipeline. A client with throttled streams keeps
 * polling its cells once per interval while data flows, and parks when a poll finds nothing.
 *
 * A client that stops reading never slows the others: once frames pile up on its connection it gets nothing more until
 * they drain, and its streams simply move on without it. When it reads again it gets the latest quote, the trades the
 * stream still holds (a `seq` gap marks what it missed) and a fresh snapshot of books it fell too far behind; still
 * behind after the grace period, it is disconnected with SLOW_CLIENT.
 */
export class StreamFanout {
  private readonly cells = new Map<string, StreamCell>();
  private readonly subscribersBySocket = new Map<string, Subscriber>();
  private immediateQueue: Subscriber[] = [];
  private immediateScheduled = false;
  private readonly framePrefix: string;
  private readonly namespace: string;
  private readonly event: string;
  private readonly metrics: FanoutMetrics;
  private readonly delivery: DeliveryRecorder;
  private readonly sendOptions: PacketSendOptions;
  private readonly slowClients: SlowClientPolicy;
  private readonly resnapshot: (socket: GatewaySocket, stream: string) => void;
  private readonly usage: (socket: GatewaySocket) => DeliveryCounters | undefined;

  constructor(options: StreamFanoutOptions) {
    this.namespace = options.namespace;
    this.event = options.event;
    this.metrics = options.metrics;
    this.slowClients = options.slowClients ?? DEFAULT_SLOW_CLIENT_POLICY;
    this.resnapshot = options.resnapshot ?? (() => undefined);
    this.usage = options.usage ?? (() => undefined);
    this.framePrefix = eventPacketPrefix(this.namespace, this.event) + '[';
    this.delivery = this.metrics.deliveryRecorder(this.namespace, this.event);
    this.sendOptions = options.deflate ? DEFLATED : NOT_DEFLATED;
  }

  /** Adds (or re-throttles) a socket's subscription. Returns false when it already existed. */
  subscribe(socket: GatewaySocket, stream: string, throttleMs: number, kind: StreamKind): boolean {
    let subscriber = this.subscribersBySocket.get(socket.id);
    if (!subscriber) {
      subscriber = new Subscriber(socket, engineConnectionOf(socket), this.usage(socket));
      this.subscribersBySocket.set(socket.id, subscriber);
    }
    const existing = subscriber.slots.get(stream);
    if (existing) {
      existing.throttleMs = throttleMs;
      return false;
    }
    let cell = this.cells.get(stream);
    if (!cell) {
      cell = new StreamCell(stream, kind, this.slowClients.maxPendingPerStream);
      this.cells.set(stream, cell);
    }
    subscriber.slots.set(stream, new StreamSlot(cell, throttleMs));
    cell.subscribers.add(subscriber);
    if (subscriber.slots.size === 1) this.park(subscriber);
    else if (subscriber.parked) this.parkOn(cell, subscriber);
    this.metrics.subscriptionsChanged(this.namespace, 1);
    return true;
  }

  unsubscribe(socket: GatewaySocket, stream: string): boolean {
    const subscriber = this.subscribersBySocket.get(socket.id);
    const slot = subscriber?.slots.get(stream);
    if (!subscriber || !slot) return false;
    subscriber.slots.delete(stream);
    const cell = slot.cell;
    cell.subscribers.delete(subscriber);
    if (cell.subscribers.size === 0) this.cells.delete(stream);
    this.metrics.subscriptionsChanged(this.namespace, -1);
    return true;
  }

  /** Forgets a socket entirely (disconnect). */
  removeSocket(socket: GatewaySocket): void {
    const subscriber = this.subscribersBySocket.get(socket.id);
    if (!subscriber) return;
    for (const stream of [...subscriber.slots.keys()]) this.unsubscribe(socket, stream);
    clearTimeout(subscriber.timer);
    clearTimeout(subscriber.recheck);
    subscriber.removed = true;
    subscriber.parked = false;
    this.subscribersBySocket.delete(socket.id);
  }

  isSubscribed(socket: GatewaySocket, stream: string): boolean {
    return this.subscribersBySocket.get(socket.id)?.slots.has(stream) ?? false;
  }

  streamsOf(socket: GatewaySocket): string[] {
    return [...(this.subscribersBySocket.get(socket.id)?.slots.keys() ?? [])];
  }

  /** The throttle of a socket's subscription, or undefined when it has none of that stream. */
  throttleOf(socket: GatewaySocket, stream: string): number | undefined {
    return this.subscribersBySocket.get(socket.id)?.slots.get(stream)?.throttleMs;
  }

  subscriptionCount(socket: GatewaySocket): number {
    return this.subscribersBySocket.get(socket.id)?.slots.size ?? 0;
  }

  hasSubscribers(stream: string): boolean {
    return this.cells.has(stream);
  }

  /**
   * Stores one update of `stream` for its subscribers, serialized (or serialized on first use, once, when lazy); `ts` is
   * the engine time, for latency.
   */
  publish(stream: string, messageJson: string | LazyJson, ts: number): void {
    const cell = this.cells.get(stream);
    if (!cell) return;
    cell.push(messageJson, ts);
    if (cell.parked.length === 0) return;
    const parked = cell.parked;
    cell.parked = [];
    const now = Date.now();
    for (const subscriber of parked) {
      // Skipped: woken by another stream since it parked here, or no longer subscribed to this one.
      const slot = subscriber.parked ? subscriber.slots.get(stream) : undefined;
      if (!slot || slot.cell !== cell) continue;
      subscriber.parked = false;
      this.schedule(subscriber, slot.throttleMs === 0 ? now : slot.lastSentAt + slot.throttleMs, now);
    }
  }

  /**
   * Queues a snapshot for one socket, replacing any update of that stream still waiting for it (an update older than
   * the snapshot would be stale), and flushes it on the next turn whatever the throttle.
   */
  sendSnapshot(socket: GatewaySocket, stream: string, messageJson: string, ts: number): void {
    const subscriber = this.subscribersBySocket.get(socket.id);
    const slot = subscriber?.slots.get(stream);
    if (!subscriber || !slot) return;
    slot.snapshot = messageJson;
    slot.snapshotTs = ts;
    slot.cursor = slot.cell.head;
    subscriber.parked = false;
    const now = Date.now();
    this.schedule(subscriber, now, now);
  }

  private park(subscriber: Subscriber): void {
    subscriber.parked = true;
    for (const slot of subscriber.slots.values()) this.parkOn(slot.cell, subscriber);
  }

  private parkOn(cell: StreamCell, subscriber: Subscriber): void {
    cell.parked.push(subscriber);
    // A quiet stream collects an entry every time one of its subscribers parks: keep only the still-parked ones.
    if (cell.parked.length > 2 * cell.subscribers.size + 16) cell.parked = [...new Set(cell.parked.filter((s) => s.parked && cell.subscribers.has(s)))];
  }

  private schedule(subscriber: Subscriber, dueAt: number, now: number): void {
    if (dueAt <= now) {
      if (subscriber.queuedForImmediate) return;
      subscriber.queuedForImmediate = true;
      this.immediateQueue.push(subscriber);
      if (!this.immediateScheduled) {
        this.immediateScheduled = true;
        setImmediate(this.flushImmediateQueue);
      }
    } else {
      const gridDueAt = Math.ceil(dueAt / FLUSH_GRID_MS) * FLUSH_GRID_MS;
      if (gridDueAt >= subscriber.timerDueAt) return;
      clearTimeout(subscriber.timer);
      subscriber.timerDueAt = gridDueAt;
      subscriber.timer = setTimeout(() => this.flushSubscriber(subscriber), gridDueAt - now);
    }
  }

  private readonly flushImmediateQueue = (): void => {
    const queue = this.immediateQueue;
    this.immediateQueue = [];
    this.immediateScheduled = false;
    for (const subscriber of queue) {
      subscriber.queuedForImmediate = false;
      this.flushSubscriber(subscriber);
    }
  };

  /** True when the client may be written to now; otherwise it is behind and a recheck (or the disconnect) is armed. */
  private keepsUp(subscriber: Subscriber, now: number): boolean {
    const connection = subscriber.connection;
    if (connectionHasRoom(connection, this.slowClients)) {
      subscriber.behindSince = 0;
      return true;
    }
    if (subscriber.behindSince === 0) {
      subscriber.behindSince = now;
      this.metrics.slowClient(this.namespace, 'behind');
    } else if (now - subscriber.behindSince > this.slowClients.graceMs) {
      this.metrics.slowClient(this.namespace, 'disconnected');
      const socket = subscriber.socket;
      this.removeSocket(socket);
      disconnectSlowClient(socket, `more than ${this.slowClients.graceMs} ms behind the stream`);
      return false;
    }
    subscriber.recheck ??= setTimeout(() => {
      subscriber.recheck = undefined;
      this.flushSubscriber(subscriber);
    }, this.slowClients.recheckMs);
    return false;
  }

  private flushSubscriber(subscriber: Subscriber): void {
    if (subscriber.removed) return;
    const now = Date.now();
    if (subscriber.timerDueAt <= now + 1) {
      clearTimeout(subscriber.timer);
      subscriber.timer = undefined;
      subscriber.timerDueAt = Number.POSITIVE_INFINITY;
    }
    if (subscriber.parked || !this.keepsUp(subscriber, now)) return;
    let frame = this.framePrefix;
    let count = 0;
    let oldestTs = Number.POSITIVE_INFINITY;
    let nextDueAt = Number.POSITIVE_INFINITY;
    let pollAfter = Number.POSITIVE_INFINITY;
    for (const slot of subscriber.slots.values()) {
      if (slot.throttleMs > 0 && slot.throttleMs < pollAfter) pollAfter = slot.throttleMs;
      if (!slot.pending) continue;
      const dueAt = slot.lastSentAt + slot.throttleMs;
      // A timer may fire a millisecond early; treat "almost due" as due rather than arm a 1 ms timer.
      if (slot.snapshot === undefined && slot.throttleMs > 0 && dueAt > now + 1) {
        if (dueAt < nextDueAt) nextDueAt = dueAt;
        continue;
      }
      const cell = slot.cell;
      if (slot.snapshot !== undefined) {
        frame += count === 0 ? slot.snapshot : `,${slot.snapshot}`;
        count++;
        if (slot.snapshotTs < oldestTs) oldestTs = slot.snapshotTs;
        slot.snapshot = undefined;
      }
      if (slot.cursor < cell.head) {
        let from = slot.cursor;
        if (cell.kind.merge === 'latest' && (slot.throttleMs > 0 || cell.head - from > cell.capacity)) {
          from = cell.head - 1; // conflation: only the latest state matters
        } else if (cell.head - from > cell.capacity) {
          if (cell.kind.overflow === 'resync') {
            this.metrics.slowClient(this.namespace, 'resync');
            slot.cursor = cell.head;
            this.resnapshot(subscriber.socket, cell.stream); // queues a snapshot for the next turn
            continue;
          } else {
            this.metrics.slowClient(this.namespace, 'dropped');
            from = cell.head - cell.capacity;
          }
        }
        for (let i = from; i < cell.head; i++) {
          const index = i % cell.capacity;
          let part = cell.parts[index];
          if (typeof part === 'function') {
            part = part();
            cell.parts[index] = part;
          }
          frame += count === 0 ? part : `,${part}`;
          count++;
          const ts = cell.stamps[index];
          if (ts < oldestTs) oldestTs = ts;
        }
        slot.cursor = cell.head;
      }
      slot.lastSentAt = now;
    }
    if (nextDueAt < Number.POSITIVE_INFINITY) this.schedule(subscriber, nextDueAt, now);
    else if (count > 0 && pollAfter < Number.POSITIVE_INFINITY) this.schedule(subscriber, now + pollAfter, now);
    else if (!this.hasPending(subscriber)) this.park(subscriber);
    if (count === 0 || subscriber.connection.readyState !== 'open') return;
    frame += ']]';
    this.write(subscriber.connection, frame);
    if (subscriber.usage) {
      subscriber.usage.messages += count;
      subscriber.usage.bytes += frame.length;
    }
    this.delivery.sent(frame.length, 1);
    if (oldestTs < Number.POSITIVE_INFINITY) this.delivery.latency(Math.max(0, now - oldestTs) / 1000);
  }

  private write(connection: EngineConnection, packet: string): void {
    writePacket(connection, packet, this.sendOptions);
  }

  private hasPending(subscriber: Subscriber): boolean {
    for (const slot of subscriber.slots.values()) if (slot.pending) return true;
    return false;
  }
}
