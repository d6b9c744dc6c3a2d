import type { GatewayMetrics } from '#libs/observability';
import { engineConnectionOf, type EngineConnection, type GatewaySocket } from './gateway-socket.js';
import { eventPacketPrefix } from './socket-packet.js';

/** How a stream's pending updates combine while a client waits for its next flush. */
export type MergeMode =
  /** Each update is the full state (quotes): only the latest is kept. */
  | 'latest'
  /** Every update matters (trades, book deltas): all are kept, in order. */
  | 'all';

class StreamSlot {
  parts: string[] = [];
  /** The first part is a snapshot still waiting to go out: a 'latest' merge must not replace it. */
  snapshotPending = false;
  oldestTs = Number.POSITIVE_INFINITY;
  lastFlushAt = 0;
  dirty = false;
  constructor(
    readonly stream: string,
    public throttleMs: number,
  ) {}
}

class Subscriber {
  readonly slots = new Map<string, StreamSlot>();
  dirtySlots: StreamSlot[] = [];
  queuedForImmediate = false;
  timer: NodeJS.Timeout | undefined;
  timerDueAt = Number.POSITIVE_INFINITY;
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
  ) {
    this.framePrefix = eventPacketPrefix(namespace, event) + '[';
  }

  /** Adds (or re-throttles) a socket's subscription. Returns false when it already existed. */
  subscribe(socket: GatewaySocket, stream: string, throttleMs: number): boolean {
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
    subscriber.slots.set(stream, new StreamSlot(stream, throttleMs));
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
      if (merge === 'latest' && slot.throttleMs > 0 && slot.parts.length > (slot.snapshotPending ? 1 : 0)) slot.parts[slot.parts.length - 1] = messageJson;
      else slot.parts.push(messageJson);
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

  private flushSubscriber(subscriber: Subscriber): void {
    if (subscriber.timer && subscriber.timerDueAt <= Date.now()) {
      subscriber.timer = undefined;
      subscriber.timerDueAt = Number.POSITIVE_INFINITY;
    }
    if (subscriber.dirtySlots.length === 0) return;
    const now = Date.now();
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
