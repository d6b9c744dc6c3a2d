/**
 * Holds market data back for delayed-only entitlements (exchanges require real-time data to be licensed; without a
 * real-time licence a user gets it `delayMs` later, 15 minutes by default).
 *
 * Memory is bounded by one budget of entries shared by every delayed stream, however many there are: each stream gets
 * `maxEntries / streams` of it (at least two, so the bound is max(maxEntries, 2 × delayed streams), and the number of
 * streams is itself bounded by the instrument catalog). A state stream (quotes, books) keeps one sample per `delayMs / share` — the latest
 * state within each slot, which is all a conflated stream shows — and an event stream (trades) keeps its most recent
 * `share` events: a burst beyond that reaches delayed subscribers with a seq gap, counted as dropped. Only streams that
 * some local client wants delayed are recorded.
 */
export type DelayedStreamKind = 'state' | 'events';

export interface DelayedEntry<T = unknown> {
  seq: number;
  /** Engine time of the event. */
  ts: number;
  /** When the gateway received it: it is released `delayMs` after this. */
  receivedAt: number;
  payload: T;
}

/** A queue over an array: O(1) push and shift, compacted when half of it is spent. */
class EntryQueue {
  private items: DelayedEntry[] = [];
  private start = 0;

  get length(): number {
    return this.items.length - this.start;
  }

  get first(): DelayedEntry | undefined {
    return this.length > 0 ? this.items[this.start] : undefined;
  }

  push(entry: DelayedEntry): void {
    this.items.push(entry);
  }

  replaceLast(entry: DelayedEntry): void {
    this.items[this.items.length - 1] = entry;
  }

  shift(): DelayedEntry | undefined {
    if (this.length === 0) return undefined;
    const entry = this.items[this.start];
    this.items[this.start] = undefined as unknown as DelayedEntry;
    this.start++;
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return entry;
  }
}

class DelayedStream {
  readonly queue = new EntryQueue();
  /** The newest entry already released: what a new delayed subscriber starts from. */
  released: DelayedEntry | undefined;
  /** When the newest sample's slot began (state streams). */
  slotStartedAt = 0;
  users = 0;
  constructor(readonly kind: DelayedStreamKind) {}
}

export interface DelayLineOptions {
  delayMs: number;
  maxEntries: number;
  /** How often due entries are released. */
  tickMs?: number;
  /** Receives each stream's due entries, oldest first (a state stream: only the newest of them). */
  release: (stream: string, entries: DelayedEntry[]) => void;
  /** Counts events of an event stream dropped because its share of the budget was full. */
  dropped?: (stream: string, count: number) => void;
  now?: () => number;
}

export class DelayLine {
  private readonly streams = new Map<string, DelayedStream>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  readonly delayMs: number;

  constructor(private readonly options: DelayLineOptions) {
    this.delayMs = options.delayMs;
    this.now = options.now ?? Date.now;
  }

  /** Starts (or joins) recording `stream`; recording stops when every user has released it. */
  track(stream: string, kind: DelayedStreamKind): void {
    let delayed = this.streams.get(stream);
    if (!delayed) {
      delayed = new DelayedStream(kind);
      this.streams.set(stream, delayed);
    }
    delayed.users++;
    this.timer ??= setInterval(() => this.releaseDue(), this.options.tickMs ?? 250).unref();
  }

  untrack(stream: string): void {
    const delayed = this.streams.get(stream);
    if (!delayed || --delayed.users > 0) return;
    this.streams.delete(stream);
    if (this.streams.size === 0) this.stop();
  }

  isTracked(stream: string): boolean {
    return this.streams.has(stream);
  }

  /** The latest entry released so far, if the stream has been recorded for at least `delayMs`. */
  latestReleased(stream: string): DelayedEntry | undefined {
    return this.streams.get(stream)?.released;
  }

  /** Entries held right now across every stream (the budget bounds it). */
  get heldEntries(): number {
    let held = 0;
    for (const delayed of this.streams.values()) held += delayed.queue.length;
    return held;
  }

  record(stream: string, seq: number, ts: number, payload: unknown): void {
    const delayed = this.streams.get(stream);
    if (!delayed) return;
    const receivedAt = this.now();
    const entry: DelayedEntry = { seq, ts, receivedAt, payload };
    const share = this.share();
    const queue = delayed.queue;
    if (delayed.kind === 'state') {
      // Within one slot only the latest state is kept (it is released delayMs after its own receipt, never earlier).
      if (queue.length > 0 && receivedAt - delayed.slotStartedAt < this.delayMs / share) {
        queue.replaceLast(entry);
      } else {
        queue.push(entry);
        delayed.slotStartedAt = receivedAt;
      }
      while (queue.length > share) queue.shift();
      return;
    }
    queue.push(entry);
    let dropped = 0;
    while (queue.length > share) {
      queue.shift();
      dropped++;
    }
    if (dropped > 0) this.options.dropped?.(stream, dropped);
  }

  /** Releases every entry older than `delayMs`. */
  releaseDue(): void {
    const dueBefore = this.now() - this.delayMs;
    for (const [stream, delayed] of this.streams) {
      const queue = delayed.queue;
      if (!queue.first || queue.first.receivedAt > dueBefore) continue;
      const due: DelayedEntry[] = [];
      while (queue.first && queue.first.receivedAt <= dueBefore) due.push(queue.shift() as DelayedEntry);
      delayed.released = due[due.length - 1];
      this.options.release(stream, delayed.kind === 'state' ? due.slice(-1) : due);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Each stream's share of the entry budget. */
  private share(): number {
    return Math.max(2, Math.floor(this.options.maxEntries / Math.max(1, this.streams.size)));
  }
}
