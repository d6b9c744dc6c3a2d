import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { bookChecksum, parseStream, type BookLevel, type MdSubscribeChannel, type MdMessage, type QuoteData, type TradeData } from '#libs/contracts';
import { GatewayMetrics } from '#libs/observability';
import type { GatewaySocket } from '#libs/realtime';
import { AppConfig } from '../config/index.js';
import { DelayLine, type DelayedEntry } from './delay-line.js';
import { bookDepthOfKey, fanoutKey } from './fanout-keys.js';
import { MarketDataFanout } from './market-data.fanout.js';
import { mdMessageJson, SnapshotJsonCache } from './md-serializer.js';

/** A book as recorded for delayed subscribers: the top levels, sliced to each subscriber's depth on release. */
export interface DelayedBook {
  bids: BookLevel[];
  asks: BookLevel[];
}

/**
 * Market data of exchanges licensed as `delayed`: the channels record what they publish while a delayed subscriber
 * exists, and the delay line releases it MD_DELAY_MS later to the delayed fan-out keys, serialized once per key.
 */
@Injectable()
export class DelayedMarketData implements OnApplicationShutdown {
  private readonly delayLine: DelayLine;
  /** Delayed fan-out keys that have had their first release (which goes out as their snapshot). */
  private readonly keysStarted = new Set<string>();
  /** The depths delayed book subscribers asked for, per book stream. */
  private readonly bookDepths = new Map<string, Set<number>>();
  /** Snapshots of delayed fan-out keys, by the seq of their latest release. */
  private readonly snapshots = new Map<string, SnapshotJsonCache>();

  constructor(
    config: AppConfig,
    metrics: GatewayMetrics,
    private readonly fanout: MarketDataFanout,
  ) {
    this.delayLine = new DelayLine({
      delayMs: config.mdDelayMs,
      maxEntries: config.mdDelayMaxEntries,
      release: (stream, entries) => this.release(stream, entries),
      dropped: (_stream, count) => metrics.delayedDropped(count),
    });
  }

  get delayMs(): number {
    return this.delayLine.delayMs;
  }

  isTracked(stream: string): boolean {
    return this.delayLine.isTracked(stream);
  }

  record(stream: string, seq: number, ts: number, payload: unknown): void {
    this.delayLine.record(stream, seq, ts, payload);
  }

  /** A delayed subscription was added: the delay line keeps the stream (every update of a trade stream, else the last). */
  tracked(stream: string, channel: MdSubscribeChannel, key: string): void {
    this.delayLine.track(stream, channel === 'trade' ? 'events' : 'state');
    if (channel !== 'book') return;
    const depths = this.bookDepths.get(stream) ?? new Set<number>();
    depths.add(bookDepthOfKey(key));
    this.bookDepths.set(stream, depths);
  }

  untracked(stream: string, key: string): void {
    this.delayLine.untrack(stream);
    if (!this.fanout.hasSubscribers(key)) {
      this.keysStarted.delete(key);
      this.snapshots.delete(key);
    }
  }

  /**
   * A stream's latest state kept on the delay line without a delayed subscriber (live mark-to-market values delayed
   * licences' positions on it), until released; within MD_DELAY_MAX_ENTRIES like the rest.
   */
  holdState(stream: string): void {
    this.delayLine.track(stream, 'state');
  }

  releaseState(stream: string): void {
    this.delayLine.untrack(stream);
  }

  /** The latest state of a stream the delay line has released (none before it was recorded for MD_DELAY_MS). */
  latestReleased(stream: string): DelayedEntry | undefined {
    return this.delayLine.latestReleased(stream);
  }

  /** Queues a delayed key's latest release for one socket; its seq, 0 while nothing has been released yet. */
  sendSnapshot(socket: GatewaySocket, channel: MdSubscribeChannel, stream: string, key: string): number {
    const entry = this.delayLine.latestReleased(stream);
    if (!entry) return 0; // recorded for less than delayMs so far: the first release comes as this stream's snapshot
    let cache = this.snapshots.get(key);
    if (!cache) {
      cache = new SnapshotJsonCache();
      this.snapshots.set(key, cache);
    }
    this.fanout.fanout.sendSnapshot(socket, key, cache.get(entry.seq, () => delayedMessage(stream, channel, key, entry, 'snapshot')), Date.now());
    return entry.seq;
  }

  /** Due delayed data: to every delayed subscriber of the stream (every depth of a book), serialized once per key. */
  private release(stream: string, entries: DelayedEntry[]): void {
    const parsed = parseStream(stream);
    if (!parsed || !this.fanout.attached) return;
    const keys =
      parsed.channel === 'book'
        ? [...(this.bookDepths.get(stream) ?? [])].map((depth) => fanoutKey(stream, 'book', depth, 0, true))
        : [fanoutKey(stream, parsed.channel, 0, 0, true)];
    const now = Date.now();
    for (const key of keys) {
      if (!this.fanout.hasSubscribers(key)) {
        if (parsed.channel === 'book') this.bookDepths.get(stream)?.delete(bookDepthOfKey(key));
        continue;
      }
      for (const entry of entries) {
        const type = this.keysStarted.has(key) && parsed.channel !== 'book' ? 'update' : 'snapshot';
        this.keysStarted.add(key);
        // `now` as the fan-out's time: its latency metric measures the gateway, not the licence's delay.
        this.fanout.fanout.publish(key, mdMessageJson(delayedMessage(stream, parsed.channel, key, entry, type)), now);
      }
    }
  }

  onApplicationShutdown(): void {
    this.delayLine.stop();
  }
}

/** Delayed data as it goes out: a book is always a snapshot (sliced to the key's depth), a quote or trade either. */
function delayedMessage(stream: string, channel: MdSubscribeChannel, key: string, entry: DelayedEntry, type: 'snapshot' | 'update'): MdMessage<MdSubscribeChannel> {
  if (channel === 'book') {
    const book = entry.payload as DelayedBook;
    const depth = bookDepthOfKey(key);
    const data = { bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth), checksum: bookChecksum(book.asks.slice(0, 10), book.bids.slice(0, 10)) };
    return { stream, type: 'snapshot', seq: entry.seq, ts: entry.ts, data, delayed: true } satisfies MdMessage<'book'>;
  }
  return { stream, type, seq: entry.seq, ts: entry.ts, data: entry.payload as QuoteData | TradeData, delayed: true };
}
