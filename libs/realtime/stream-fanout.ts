import { wireError, SERVER_EVENTS } from '#libs/contracts';
import type { GatewayMetrics } from '#libs/observability';
import { engineConnectionOf, type EngineConnection, type GatewaySocket } from './gateway-socket.js';
import { eventPacketPrefix } from './socket-packet.js';

/** How a stream's pending updates combine while a client waits for its next flush. */
export type MergeMode =
  /** Each update is the full state (quotes): only the latest is kept. */
  | 'latest'
  /** Every update matters (trades, book deltas): all are kept, in order. */
  | 'all';

/** What a stream does when a slow client's backlog of it overflows. */
export type OverflowMode =
  /** Drop the oldest pending updates: the client sees the gap in `seq` (trades). */
  | 'drop-oldest'
  /** Drop them all and send a fresh snapshot once the client catches up (books). */
  | 'resync';

/**
 * When a client stops keeping up: frames still queued on its connection before the next flush is held back; pending
 * updates kept per stream while held back; and how long it may stay behind before it is disconnected (SLOW_CLIENT).
 */
export interface SlowClientPolicy {
  maxQueuedFrames: number;
  maxPendingPerStream: number;
  graceMs: number;
  recheckMs: number;
}

export const DEFAULT_SLOW_CLIENT_POLICY: SlowClientPolicy = { maxQueuedFrames: 16, maxPendingPerStream: 256, graceMs: 10_000, recheckMs: 50 };

class StreamSlot {
  parts: string[] = [];
  /** The first part is a snapshot still waiting to go out: a 'latest' merge must not replace it. */
  snapshotPending = false;
  oldestTs = Number.POSITIVE_INFINITY;
  lastFlushAt = 0;
  dirty = false;
  /** Updates were dropped while the client was behind; a snapshot must go first when it catches up. */
  resyncPending = false;
  constructor(
    readonly stream: string,
    public throttleMs: number,
    readonly overflow: OverflowMode,
  ) {}
}

class Subscriber {
  readonly slots = new Map<string, StreamSlot>();
  dirtySlots: StreamSlot[] = [];
  queuedForImmediate = false;
  timer: NodeJS.Timeout | undefined;
  timerDueAt = Number.POSITIVE_INFINITY;
  /** When the client fell behind (0: it keeps up). While behind, its quotes conflate whatever its throttle. */
  behindSince = 0;
  recheck: NodeJS.Timeout | undefined;
  constructor(
    readonly socket: GatewaySocket,
    readonly connection: EngineConnection,
  ) {}
}

/**
 * The market-data fan-out core of one namespace: which sockets want which streams, and the per-client batching.
 *
 * Each update is serialized once by the caller and handed over as JSON. Each client's pending updates are flushed as
 * one `md` frame (a JSON array built by joining the serialized parts), written straight to the engine.io connection:
 * no per-client serialization, no Nest pipeline. Streams with `throttleMs` 0 flush on the next event-loop turn, so
 * whatever arrived in one turn still shares a frame; throttled streams flush at most once per interval per client.
 *
 * A client that stops reading never slows the others: once frames pile up on its connection, it gets nothing more
 * until they drain; meanwhile its quotes conflate to the latest, its trades keep the newest (a `seq` gap marks the
 * loss) and its books switch to a fresh snapshot; still behind after the grace period, it is disconnected with
 * SLOW_CLIENT.
 */
export class StreamFanout {
  private readonly subscribersByStream = new Map<string, Set<Subscriber>>();
  private readonly subscribersBySocket = new Map<string, Subscriber>();
  private immediateQueue: Subscriber[] = [];
  private immediateScheduled = false;
  private readonly framePrefix: string;

  constructor(
    private readonly namespace: string,
    private readonly event: string,
    private readonly metrics: GatewayMetrics,
    /** Called when a stream whose overflow mode is 'resync' needs a fresh snapshot for a client that caught up. */
    private readonly resnapshot: (socket: GatewaySocket, stream: string) => void = () => undefined,
    private readonly slowClients: SlowClientPolicy = DEFAULT_SLOW_CLIENT_POLICY,
  ) {
    this.framePrefix = eventPacketPrefix(namespace, event) + '[';
  }

  /** Adds (or re-throttles) a socket's subscription. Returns false when it already existed. */
  subscribe(socket: GatewaySocket, stream: string, throttleMs: number, overflow: OverflowMode = 'drop-oldest'): boolean {
    let subscriber = this.subscribersBySocket.get(socket.id);
    if (!subscriber) {
      subscriber = new Subscriber(socket, engineConnectionOf(socket));
      this.subscribersBySocket.set(socket.id, subscriber);
    }
    const existing = subscriber.slots.get(stream);
    if (existing) {
      existing.throttleMs = throttleMs;
      return false;
    }
    subscriber.slots.set(stream, new StreamSlot(stream, throttleMs, overflow));
    let set = this.subscribersByStream.get(stream);
    if (!set) {
      set = new Set();
      this.subscribersByStream.set(stream, set);
    }
    set.add(subscriber);
    this.metrics.subscriptionsChanged(this.namespace, 1);
    return true;
  }

  unsubscribe(socket: GatewaySocket, stream: string): boolean {
    const subscriber = this.subscribersBySocket.get(socket.id);
    const slot = subscriber?.slots.get(stream);
    if (!subscriber || !slot) return false;
    subscriber.slots.delete(stream);
    subscriber.dirtySlots = subscriber.dirtySlots.filter((s) => s !== slot);
    const set = this.subscribersByStream.get(stream);
    set?.delete(subscriber);
    if (set?.size === 0) this.subscribersByStream.delete(stream);
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
    this.subscribersBySocket.delete(socket.id);
  }

  isSubscribed(socket: GatewaySocket, stream: string): boolean {
    return this.subscribersBySocket.get(socket.id)?.slots.has(stream) ?? false;
  }

  streamsOf(socket: GatewaySocket): string[] {
    return [...(this.subscribersBySocket.get(socket.id)?.slots.keys() ?? [])];
  }

  subscriptionCount(socket: GatewaySocket): number {
    return this.subscribersBySocket.get(socket.id)?.slots.size ?? 0;
  }

  hasSubscribers(stream: string): boolean {
    return this.subscribersByStream.has(stream);
  }

  /** Queues one serialized update of `stream` for every subscriber; `ts` is the engine time, for latency. */
  publish(stream: string, messageJson: string, ts: number, merge: MergeMode): void {
    const subscribers = this.subscribersByStream.get(stream);
    if (!subscribers) return;
    const now = Date.now();
    for (const subscriber of subscribers) {
      const slot = subscriber.slots.get(stream);
      if (!slot) continue;
      if (slot.resyncPending) continue; // a snapshot will replace all of it
      const conflate = merge === 'latest' && (slot.throttleMs > 0 || subscriber.behindSince > 0);
      if (conflate && slot.parts.length > (slot.snapshotPending ? 1 : 0)) slot.parts[slot.parts.length - 1] = messageJson;
      else slot.parts.push(messageJson);
      if (slot.parts.length > this.slowClients.maxPendingPerStream) this.overflow(subscriber, slot);
      if (ts < slot.oldestTs) slot.oldestTs = ts;
      this.markDirty(subscriber, slot, now, false);
    }
  }

  /**
   * Queues a snapshot for one socket, ahead of any update of that stream still waiting for it (an update older
   * than the snapshot would be stale), and flushes it on the next turn whatever the throttle.
   */
  sendSnapshot(socket: GatewaySocket, stream: string, messageJson: string, ts: number): void {
    const subscriber = this.subscribersBySocket.get(socket.id);
    const slot = subscriber?.slots.get(stream);
    if (!subscriber || !slot) return;
    slot.parts = [messageJson];
    slot.snapshotPending = true;
    slot.resyncPending = false;
    slot.oldestTs = ts;
    this.markDirty(subscriber, slot, Date.now(), true);
  }

  private markDirty(subscriber: Subscriber, slot: StreamSlot, now: number, urgent: boolean): void {
    if (!slot.dirty) {
      slot.dirty = true;
      subscriber.dirtySlots.push(slot);
    }
    const dueAt = urgent || slot.throttleMs === 0 ? now : slot.lastFlushAt + slot.throttleMs;
    if (dueAt <= now) {
      if (urgent) slot.lastFlushAt = 0; // a snapshot goes out on the next turn whatever the throttle
      if (!subscriber.queuedForImmediate) {
        subscriber.queuedForImmediate = true;
        this.immediateQueue.push(subscriber);
        if (!this.immediateScheduled) {
          this.immediateScheduled = true;
          setImmediate(this.flushImmediateQueue);
        }
      }
    } else if (dueAt < subscriber.timerDueAt) {
      clearTimeout(subscriber.timer);
      subscriber.timerDueAt = dueAt;
      subscriber.timer = setTimeout(() => this.flushSubscriber(subscriber), dueAt - now);
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

  private overflow(subscriber: Subscriber, slot: StreamSlot): void {
    if (slot.overflow === 'resync') {
      slot.parts = [];
      slot.snapshotPending = false;
      slot.resyncPending = true;
      this.metrics.slowClient(this.namespace, 'resync');
    } else {
      const keep = slot.snapshotPending ? [slot.parts[0]] : [];
      slot.parts = [...keep, ...slot.parts.slice(slot.parts.length - this.slowClients.maxPendingPerStream + keep.length)];
      this.metrics.slowClient(this.namespace, 'dropped');
    }
  }

  /** True when the client may be written to now; otherwise it is behind and a recheck (or the disconnect) is armed. */
  private keepsUp(subscriber: Subscriber, now: number): boolean {
    if (subscriber.connection.writeBuffer.length < this.slowClients.maxQueuedFrames) {
      if (subscriber.behindSince > 0) {
        subscriber.behindSince = 0;
        // Caught up: books that overflowed get a fresh snapshot before anything else of theirs goes out.
        for (const slot of subscriber.slots.values()) if (slot.resyncPending) this.resnapshot(subscriber.socket, slot.stream);
      }
      return true;
    }
    if (subscriber.behindSince === 0) {
      subscriber.behindSince = now;
      this.metrics.slowClient(this.namespace, 'behind');
    } else if (now - subscriber.behindSince > this.slowClients.graceMs) {
      this.metrics.slowClient(this.namespace, 'disconnected');
      const socket = subscriber.socket;
      this.removeSocket(socket);
      socket.emit(SERVER_EVENTS.error, wireError('SLOW_CLIENT', `more than ${this.slowClients.graceMs} ms behind the stream`));
      socket.disconnect(true);
      return false;
    }
    subscriber.recheck ??= setTimeout(() => {
      subscriber.recheck = undefined;
      this.flushSubscriber(subscriber);
    }, this.slowClients.recheckMs);
    return false;
  }

  private flushSubscriber(subscriber: Subscriber): void {
    if (subscriber.timer && subscriber.timerDueAt <= Date.now()) {
      subscriber.timer = undefined;
      subscriber.timerDueAt = Number.POSITIVE_INFINITY;
    }
    if (subscriber.dirtySlots.length === 0 && subscriber.behindSince === 0) return;
    const now = Date.now();
    if (!this.keepsUp(subscriber, now)) return;
    if (subscriber.dirtySlots.length === 0) return;
    let frame = this.framePrefix;
    let count = 0;
    let oldestTs = Number.POSITIVE_INFINITY;
    let nextDueAt = Number.POSITIVE_INFINITY;
    const stillWaiting: StreamSlot[] = [];
    for (const slot of subscriber.dirtySlots) {
      const dueAt = slot.lastFlushAt + slot.throttleMs;
      // A timer may fire a millisecond early; treat "almost due" as due rather than arm a 1 ms timer.
      if (slot.throttleMs > 0 && dueAt > now + 1) {
        stillWaiting.push(slot);
        if (dueAt < nextDueAt) nextDueAt = dueAt;
        continue;
      }
      for (const part of slot.parts) {
        frame += count === 0 ? part : `,${part}`;
        count++;
      }
      if (slot.oldestTs < oldestTs) oldestTs = slot.oldestTs;
      slot.parts = [];
      slot.snapshotPending = false;
      slot.oldestTs = Number.POSITIVE_INFINITY;
      slot.lastFlushAt = now;
      slot.dirty = false;
    }
    subscriber.dirtySlots = stillWaiting;
    if (nextDueAt < subscriber.timerDueAt) {
      clearTimeout(subscriber.timer);
      subscriber.timerDueAt = nextDueAt;
      subscriber.timer = setTimeout(() => this.flushSubscriber(subscriber), Math.max(0, nextDueAt - now));
    }
    if (count === 0 || subscriber.connection.readyState !== 'open') return;
    frame += ']]';
    subscriber.connection.write(frame);
    this.metrics.sent(this.namespace, this.event, frame.length, 1);
    if (Number.isFinite(oldestTs)) this.metrics.latency(this.namespace, Math.max(0, now - oldestTs) / 1000);
  }
}
