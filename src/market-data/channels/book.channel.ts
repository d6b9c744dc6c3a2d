import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { mdSubject, streamName, type BookLevel, type Licence, type MdMessage } from '#libs/contracts';
import { checkMarketDataEntitlement, type EntitlementRefusal } from '#libs/licensing';
import type { GatewaySocket } from '#libs/realtime';
import type { EngineEventOutcome, EngineStreamHandler } from '../../engine/stream-handler.js';
import { DelayedMarketData, type DelayedBook } from '../delayed-market-data.js';
import { streamOfKey } from '../fanout-keys.js';
import { InstrumentCatalog } from '../instrument-catalog.js';
import { MarketDataFanout } from '../market-data.fanout.js';
import { mdMessageJson, SnapshotJsonCache } from '../md-serializer.js';
import { diffLevels, OrderBook, type BookView } from '../order-book.js';
import { engineInstrument } from './engine-instrument.js';
import { EXCHANGE_DATA_POLICY, type MarketDataChannel } from './market-data-channel.js';

/** The contract's largest book depth. */
const MAX_BOOK_DEPTH = 50;

type EngineBookEvent = { ts: number; type: 'snapshot' | 'delta'; bids: BookLevel[]; asks: BookLevel[] };

/**
 * Book subscribers are grouped by depth and throttle: each group's view, sequence, merged deltas and serialization are
 * computed once, whatever the number of clients in it.
 */
interface BookGroup {
  depth: number;
  throttleMs: number;
  seq: number;
  ts: number;
  /** The view as last sent to this group: the base its next update is a diff against. */
  view: BookView;
  /** A throttled group's merge timer: deltas since the last flush go out as one update when it fires. */
  timer?: NodeJS.Timeout;
  lastFlushAt: number;
  /** The group's snapshot of its current seq (its view as last sent), serialized once. */
  snapshot: SnapshotJsonCache;
}

interface BookState {
  book: OrderBook;
  groups: Map<string, BookGroup>;
  /** Counts the book states recorded for delayed subscribers (each goes out to them as a snapshot). */
  delayedSeq?: number;
}

/**
 * The `book` channel: engine `md.book.{EXCHANGE}.{SYMBOL}` snapshots and deltas in (registry: src/engine/stream-kinds.ts),
 * one order book per instrument, and per group of subscribers (depth, throttle) the diff of its view since the last
 * update, with `prevSeq` and the checksum of the view.
 */
@Injectable()
export class BookChannel implements MarketDataChannel, EngineStreamHandler<EngineBookEvent>, OnApplicationShutdown {
  readonly name = 'book';
  readonly policy = EXCHANGE_DATA_POLICY;
  private readonly books = new Map<string, BookState>();

  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly shared: MarketDataFanout,
    private readonly delayed: DelayedMarketData,
  ) {}

  onEngineEvent(subject: string, value: EngineBookEvent): EngineEventOutcome {
    const instrument = engineInstrument(subject, this.catalog);
    if (typeof instrument !== 'string') return instrument;
    const stream = streamName('book', instrument);
    const state = this.stateOf(stream);
    const { ts, type, bids, asks } = value;
    if (type === 'snapshot') state.book.applySnapshot(bids, asks);
    else if (!state.book.hasSnapshot) return { drop: 'invalid_fields', detail: 'book delta before any snapshot' };
    else state.book.applyDelta(bids, asks);
    if (this.delayed.isTracked(stream)) {
      state.delayedSeq = (state.delayedSeq ?? 0) + 1;
      const { bids: topBids, asks: topAsks } = state.book.view(MAX_BOOK_DEPTH);
      this.delayed.record(stream, state.delayedSeq, ts, { bids: topBids, asks: topAsks } satisfies DelayedBook);
    }

    for (const [groupKey, group] of state.groups) {
      const key = `${stream}@${groupKey}`;
      if (!this.shared.hasSubscribers(key)) {
        clearTimeout(group.timer);
        state.groups.delete(groupKey); // its last subscriber left: a new one starts from a fresh snapshot
        continue;
      }
      if (type === 'snapshot') {
        clearTimeout(group.timer);
        group.timer = undefined;
        group.seq += 1;
        group.ts = ts;
        group.view = state.book.view(group.depth);
        group.lastFlushAt = Date.now();
        const { seq, view } = group;
        this.shared.fanout.publish(key, group.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data: view })), ts);
      } else if (group.throttleMs === 0) {
        this.flushGroup(stream, key, state, group, ts);
      } else if (!group.timer) {
        // Throttled: every delta until the timer fires merges into one update (absolute sizes, so the net change).
        const wait = Math.max(0, group.lastFlushAt + group.throttleMs - Date.now());
        group.timer = setTimeout(() => {
          group.timer = undefined;
          this.flushGroup(stream, key, state, group, ts);
        }, wait);
      }
    }
    return undefined;
  }

  /** Realtime books: their throttle is applied by their group (merging deltas), so the fan-out slot flushes every turn. */
  entitlement(licence: Licence, exchange: string): EntitlementRefusal | null {
    return checkMarketDataEntitlement(licence, exchange, 'book');
  }

  slotThrottle(throttleMs: number, delayed: boolean): number {
    return delayed ? throttleMs : 0;
  }

  sendSnapshot(socket: GatewaySocket, key: string): number {
    const stream = streamOfKey(key);
    const groupKey = key.slice(stream.length + 1);
    const [depth, throttleMs] = groupKey.split('@').map(Number) as [number, number];
    const state = this.stateOf(stream);
    let group = state.groups.get(groupKey);
    if (!group) {
      // Without a book yet the group waits at seq 0; the engine's first snapshot goes out to it as seq 1.
      const view = state.book.hasSnapshot ? state.book.view(depth) : { bids: [], asks: [], checksum: 0 };
      group = { depth, throttleMs, seq: state.book.hasSnapshot ? 1 : 0, ts: Date.now(), view, lastFlushAt: Date.now(), snapshot: new SnapshotJsonCache() };
      state.groups.set(groupKey, group);
    }
    if (!state.book.hasSnapshot) return 0;
    // The group's last-sent view, not the live book: the group's next update is a diff against exactly this.
    const { seq, ts, view } = group;
    this.shared.fanout.sendSnapshot(socket, key, group.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data: view })), ts);
    return seq;
  }

  engineSubject(instrument: string): string {
    const colon = instrument.indexOf(':');
    return mdSubject('book', instrument.slice(0, colon), instrument.slice(colon + 1));
  }

  forget(stream: string): void {
    const state = this.books.get(stream);
    if (state) for (const group of state.groups.values()) clearTimeout(group.timer);
    this.books.delete(stream);
  }

  onApplicationShutdown(): void {
    for (const state of this.books.values()) for (const group of state.groups.values()) clearTimeout(group.timer);
  }

  private stateOf(stream: string): BookState {
    let state = this.books.get(stream);
    if (!state) {
      state = { book: new OrderBook(), groups: new Map() };
      this.books.set(stream, state);
    }
    return state;
  }

  /** Sends a group what changed in its view since its last message: one update with prevSeq, or nothing. */
  private flushGroup(stream: string, key: string, state: BookState, group: BookGroup, ts: number): void {
    group.lastFlushAt = Date.now();
    const view = state.book.view(group.depth);
    const changedBids = diffLevels(group.view.bids, view.bids);
    const changedAsks = diffLevels(group.view.asks, view.asks);
    if (changedBids.length === 0 && changedAsks.length === 0) return; // nothing this depth shows has changed
    const prevSeq = group.seq;
    group.seq += 1;
    group.ts = ts;
    group.view = view;
    const message: MdMessage<'book'> = { stream, type: 'update', seq: group.seq, prevSeq, ts, data: { bids: changedBids, asks: changedAsks, checksum: view.checksum } };
    this.shared.fanout.publish(key, mdMessageJson(message), ts);
  }
}
