import { mdSubject, streamName, type Licence, type QuoteData, type TradeData } from '#libs/contracts';
import { checkMarketDataEntitlement, type EntitlementRefusal } from '#libs/licensing';
import type { GatewaySocket } from '#libs/realtime';
import type { EngineEventOutcome, EngineStreamHandler } from '../../engine/stream-handler.js';
import type { DelayedMarketData } from '../delayed-market-data.js';
import type { InstrumentCatalog } from '../instrument-catalog.js';
import type { MarketDataFanout } from '../market-data.fanout.js';
import { SnapshotJsonCache, valueUpdateJson, valueUpdatePrefix } from '../md-serializer.js';
import { engineInstrument } from './engine-instrument.js';
import { EXCHANGE_DATA_POLICY, type MarketDataChannel } from './market-data-channel.js';

interface ValueState<T> {
  seq: number;
  ts: number;
  data: T;
  /** `{"stream":"quote:NASDAQ:AAPL","type":"update","seq":` — the stream's updates are serialized around it. */
  updatePrefix: string;
  /** The snapshot of the current seq, serialized once for every client that subscribes or resyncs meanwhile. */
  snapshot: SnapshotJsonCache;
}

/**
 * A channel whose every engine event is the stream's new value (quotes: full state; trades: one event each): the last
 * value per stream, a sequence, and the update published once into the fan-out for every subscriber.
 */
export abstract class ValueChannel<C extends 'quote' | 'trade', T extends QuoteData | TradeData> implements MarketDataChannel, EngineStreamHandler<{ ts: number; data: T }> {
  abstract readonly name: C;
  readonly policy = EXCHANGE_DATA_POLICY;
  private readonly states = new Map<string, ValueState<T>>();

  protected constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly shared: MarketDataFanout,
    private readonly delayed: DelayedMarketData,
  ) {}

  onEngineEvent(subject: string, value: { ts: number; data: T }): EngineEventOutcome {
    const instrument = engineInstrument(subject, this.catalog);
    if (typeof instrument !== 'string') return instrument;
    this.onValue(streamName(this.name, instrument), value.ts, value.data);
    return undefined;
  }

  /** The stream's new last value, recorded for delayed subscribers and published once for the rest. */
  private onValue(stream: string, ts: number, data: T): void {
    let state = this.states.get(stream);
    const first = !state;
    if (!state) {
      state = { seq: 0, ts, data, updatePrefix: valueUpdatePrefix(stream), snapshot: new SnapshotJsonCache() };
      this.states.set(stream, state);
    }
    state.seq += 1;
    state.ts = ts;
    state.data = data;
    if (this.delayed.isTracked(stream)) this.delayed.record(stream, state.seq, ts, data);
    if (!this.shared.hasSubscribers(stream)) return;
    const fanout = this.shared.fanout;
    // The very first event of a stream is its first state: a snapshot for everyone subscribed before it existed. Later
    // ones are serialized around the stream's cached prefix, and only when a client is sent them: a throttled hot
    // quote stream sends one in hundreds.
    if (first) {
      const seq = state.seq;
      fanout.publish(stream, state.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data })), ts);
      return;
    }
    const { updatePrefix, seq } = state;
    fanout.publish(stream, () => valueUpdateJson(updatePrefix, seq, ts, data), ts);
  }

  entitlement(licence: Licence, exchange: string): EntitlementRefusal | null {
    return checkMarketDataEntitlement(licence, exchange, this.name);
  }

  slotThrottle(throttleMs: number): number {
    return throttleMs;
  }

  sendSnapshot(socket: GatewaySocket, key: string): number {
    const state = this.states.get(key);
    if (!state) return 0;
    const { seq, ts, data } = state;
    this.shared.fanout.sendSnapshot(socket, key, state.snapshot.get(seq, () => ({ stream: key, type: 'snapshot', seq, ts, data })), ts);
    return seq;
  }

  engineSubject(instrument: string): string {
    const colon = instrument.indexOf(':');
    return mdSubject(this.name, instrument.slice(0, colon), instrument.slice(colon + 1));
  }

  forget(stream: string): void {
    this.states.delete(stream);
  }

  /** The stream's last value while this replica receives it (undefined before its first event, or once forgotten). */
  protected lastValue(stream: string): { ts: number; data: T } | undefined {
    const state = this.states.get(stream);
    return state && { ts: state.ts, data: state.data };
  }
}
