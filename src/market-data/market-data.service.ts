import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  bookChecksum,
  GatewayError,
  mdSubject,
  wireError,
  SERVER_EVENTS,
  streamName,
  parseStream,
  type BookLevel,
  type MdChannel,
  type MdMessage,
  instrumentOfStatusStream,
  STATUS_CHANNEL,
  type MdSubscribeChannel,
  type MdRejected,
  type MdSubscribed,
  type MdSubscribeResponse,
  type QuoteData,
  type SessionPayload,
  type SessionStatus,
  type TradeData,
} from '#libs/contracts';
import { checkMarketDataEntitlement, ComplianceScreen, exchangeAccess, isComplianceRefusal, type EntitlementRefusal } from '#libs/licensing';
import { ComplianceMetrics, GatewayMetrics, PINO_LOGGER, UsageMeter, type Logger } from '#libs/observability';
import { UserStreamCounter } from '#libs/rate-limit';
import { EngineInterestRegistry, GATEWAY_RUNTIME_OPTIONS, STREAM_KINDS, StreamFanout, type GatewayNamespace, type GatewayRuntimeOptions, type GatewaySocket } from '#libs/realtime';
import type { MdSubscribeDto } from './dto/md-subscribe.dto.js';
import { AppConfig } from '../config/index.js';
import { DelayLine, type DelayedEntry } from './delay-line.js';
import { InstrumentCatalog } from './instrument-catalog.js';
import { TradingCalendar } from './trading-calendar.js';
import { diffLevels, OrderBook, type BookView } from './order-book.js';
import { mdMessageJson, SnapshotJsonCache, valueUpdateJson, valueUpdatePrefix } from './md-serializer.js';
import { StatusChannel } from './channels/status.channel.js';

export const DEFAULT_BOOK_DEPTH = 10;
/** The contract's largest book depth. */
const MAX_BOOK_DEPTH = 50;

/** Quotes are full state (conflated), trades all count, book updates are deltas on a snapshot. */
const STREAM_KIND_OF = { quote: STREAM_KINDS.state, trade: STREAM_KINDS.events, book: STREAM_KINDS.deltas } as const;

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

/** A book as recorded for delayed subscribers: the top levels, sliced to each subscriber's depth on release. */
interface DelayedBook {
  bids: BookLevel[];
  asks: BookLevel[];
}

export type BookApplyOutcome = 'applied' | 'no_snapshot';

/**
 * Market-data state and subscriptions: the last-value cache (snapshots), per-stream sequences, order books, exchange
 * sessions, and which client wants what. Engine events come in from the engine controller; updates leave through
 * the fan-out core, each serialized once.
 */
@Injectable()
export class MarketDataService implements OnModuleDestroy {
  private readonly quotes = new Map<string, ValueState<QuoteData>>();
  private readonly trades = new Map<string, ValueState<TradeData>>();
  private readonly books = new Map<string, BookState>();
  /** Engine session statuses of exchanges the calendar does not know. */
  private readonly engineOnlySessions = new Map<string, SessionPayload>();
  private readonly sessionTimers = new Map<string, NodeJS.Timeout>();
  /** Local subscriptions per stream (all depths of a book count as one stream): what this replica asks the engine for. */
  private readonly interest = new Map<string, number>();
  private fanout!: StreamFanout;
  private namespace!: GatewayNamespace;
  /** Data held back for delayed-only entitlements. */
  private readonly delayLine: DelayLine;
  /** Delayed fan-out keys that have had their first release (which goes out as their snapshot). */
  private readonly delayedKeysStarted = new Set<string>();
  /** The depths delayed book subscribers asked for, per book stream. */
  private readonly delayedBookDepths = new Map<string, Set<number>>();
  /** Snapshots of delayed fan-out keys, by the seq of their latest release. */
  private readonly delayedSnapshots = new Map<string, SnapshotJsonCache>();
  /** WS_COMPRESSION=all: market-data frames may be deflated too. */
  private readonly deflateMarketData: boolean;

  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly options: GatewayRuntimeOptions,
    private readonly engineInterest: EngineInterestRegistry,
    private readonly calendar: TradingCalendar,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly compliance: ComplianceScreen,
    private readonly complianceMetrics: ComplianceMetrics,
    private readonly usage: UsageMeter,
    config: AppConfig,
    /** Streams per user across their connections (and replicas, with Redis): the RATE_LIMIT_MAX_SUBSCRIPTIONS cap. */
    private readonly userStreams: UserStreamCounter,
    /** The `status` channel (feed health): its own subscriptions, fed the sessions and quote interest from here. */
    private readonly status: StatusChannel,
  ) {
    this.deflateMarketData = config.wsCompression === 'all';
    this.delayLine = new DelayLine({
      delayMs: config.mdDelayMs,
      maxEntries: config.mdDelayMaxEntries,
      release: (stream, entries) => this.releaseDelayed(stream, entries),
      dropped: (_stream, count) => this.metrics.delayedDropped(count),
    });
  }

  attach(namespace: GatewayNamespace): void {
    this.namespace = namespace;
    for (const exchange of this.calendar.exchanges()) this.armSessionTimer(exchange);
    this.fanout = new StreamFanout({
      namespace: namespace.name,
      event: SERVER_EVENTS.md,
      metrics: this.metrics,
      slowClients: this.options.slowClients,
      resnapshot: (socket, key) => this.resnapshot(socket, key),
      usage: (socket) => this.usage.countersFor(socket.data.user.tenant, socket.data.user.userId),
      deflate: this.deflateMarketData,
    });
    // ---- status channel (feed health)
    this.status.attach({
      namespace,
      sessions: (exchange, now) => this.sessionStatus(exchange, now),
      holdQuotes: (instrument) => this.addInterest(streamName('quote', instrument)),
      releaseQuotes: (instrument) => this.removeInterest(streamName('quote', instrument)),
    });
  }

  isKnownInstrument(instrument: string): boolean {
    return this.catalog.has(instrument);
  }

  // ------------------------------------------------------------------ engine side

  onQuote(instrument: string, ts: number, data: QuoteData): void {
    this.onValue(this.quotes, streamName('quote', instrument), ts, data);
  }

  onTrade(instrument: string, ts: number, data: TradeData): void {
    this.onValue(this.trades, streamName('trade', instrument), ts, data);
  }

  /** A quote or trade: the stream's new last value, recorded for delayed subscribers and published once for the rest. */
  private onValue<T extends QuoteData | TradeData>(states: Map<string, ValueState<T>>, stream: string, ts: number, data: T): void {
    let state = states.get(stream);
    const first = !state;
    if (!state) {
      state = { seq: 0, ts, data, updatePrefix: valueUpdatePrefix(stream), snapshot: new SnapshotJsonCache() };
      states.set(stream, state);
    }
    state.seq += 1;
    state.ts = ts;
    state.data = data;
    if (this.delayLine.isTracked(stream)) this.delayLine.record(stream, state.seq, ts, data);
    if (!this.fanout?.hasSubscribers(stream)) return;
    // The very first event of a stream is its first state: a snapshot for everyone subscribed before it existed. Later
    // ones are serialized around the stream's cached prefix, and only when a client is sent them: a throttled hot
    // quote stream sends one in hundreds.
    if (first) {
      const seq = state.seq;
      this.fanout.publish(stream, state.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data })), ts);
      return;
    }
    const { updatePrefix, seq } = state;
    this.fanout.publish(stream, () => valueUpdateJson(updatePrefix, seq, ts, data), ts);
  }

  onBook(instrument: string, ts: number, type: 'snapshot' | 'delta', bids: BookLevel[], asks: BookLevel[]): BookApplyOutcome {
    const stream = streamName('book', instrument);
    let state = this.books.get(stream);
    if (!state) {
      state = { book: new OrderBook(), groups: new Map() };
      this.books.set(stream, state);
    }
    if (type === 'snapshot') state.book.applySnapshot(bids, asks);
    else if (!state.book.hasSnapshot) return 'no_snapshot';
    else state.book.applyDelta(bids, asks);
    if (this.delayLine.isTracked(stream)) {
      state.delayedSeq = (state.delayedSeq ?? 0) + 1;
      const { bids: topBids, asks: topAsks } = state.book.view(MAX_BOOK_DEPTH);
      this.delayLine.record(stream, state.delayedSeq, ts, { bids: topBids, asks: topAsks } satisfies DelayedBook);
    }

    for (const [groupKey, group] of state.groups) {
      const key = `${stream}@${groupKey}`;
      if (!this.fanout?.hasSubscribers(key)) {
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
        this.fanout.publish(key, group.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data: view })), ts);
      } else if (group.throttleMs === 0) {
        this.flushBookGroup(stream, key, state, group, ts);
      } else if (!group.timer) {
        // Throttled: every delta until the timer fires merges into one update (absolute sizes, so the net change).
        const wait = Math.max(0, group.lastFlushAt + group.throttleMs - Date.now());
        group.timer = setTimeout(() => {
          group.timer = undefined;
          this.flushBookGroup(stream, key, state, group, ts);
        }, wait);
      }
    }
    return 'applied';
  }

  /** Sends a group what changed in its view since its last message: one update with prevSeq, or nothing. */
  private flushBookGroup(stream: string, key: string, state: BookState, group: BookGroup, ts: number): void {
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
    this.fanout.publish(key, mdMessageJson(message), ts);
  }

  /** Due delayed data: to every delayed subscriber of the stream (every depth of a book), serialized once per key. */
  private releaseDelayed(stream: string, entries: DelayedEntry[]): void {
    const parsed = parseStream(stream);
    if (!parsed) return;
    const keys =
      parsed.channel === 'book'
        ? [...(this.delayedBookDepths.get(stream) ?? [])].map((depth) => fanoutKey(stream, 'book', depth, 0, true))
        : [fanoutKey(stream, parsed.channel, 0, 0, true)];
    const now = Date.now();
    for (const key of keys) {
      if (!this.fanout.hasSubscribers(key)) {
        if (parsed.channel === 'book') this.delayedBookDepths.get(stream)?.delete(bookDepthOfKey(key));
        continue;
      }
      for (const entry of entries) {
        const type = this.delayedKeysStarted.has(key) && parsed.channel !== 'book' ? 'update' : 'snapshot';
        this.delayedKeysStarted.add(key);
        // `now` as the fan-out's time: its latency metric measures the gateway, not the licence's delay.
        this.fanout.publish(key, this.delayedMessageJson(stream, parsed.channel, key, entry, type), now);
      }
    }
  }

  private delayedMessageJson(stream: string, channel: MdChannel, key: string, entry: DelayedEntry, type: 'snapshot' | 'update'): string {
    return mdMessageJson(delayedMessage(stream, channel, key, entry, type));
  }

  /** An engine `md.session` event: it wins over the calendar (a halt) until the calendar's next scheduled change. */
  onSession(exchange: string, status: SessionStatus, ts: number): void {
    let payload: SessionPayload;
    if (this.calendar.has(exchange)) {
      payload = { exchange, ...this.calendar.override(exchange, status, ts) };
      this.armSessionTimer(exchange);
    } else {
      payload = { exchange, status, since: ts };
      this.engineOnlySessions.set(exchange, payload);
    }
    this.emitSession(payload);
    this.status.sessionChanged(exchange); // status channel: halted (or back) at once
  }

  private emitSession(payload: SessionPayload): void {
    const exchange = payload.exchange;
    // `local`: every replica receives the engine event itself; relaying it through the adapter would deliver it twice.
    this.namespace?.local.to(sessionRoom(exchange)).emit(SERVER_EVENTS.session, payload);
  }

  // ------------------------------------------------------------------ client side

  async subscribe(socket: GatewaySocket, request: MdSubscribeDto): Promise<MdSubscribeResponse> {
    const newlyWanted: string[] = [];
    const licence = socket.data.licence;
    const throttleMs = Math.max(request.throttleMs ?? 0, licence.minThrottleMs);
    const depth = request.depth ?? DEFAULT_BOOK_DEPTH;
    const subscribed: MdSubscribed[] = [];
    const rejected: MdRejected[] = [];
    // The `status` channel is served by its own channel (below); the loop covers the data channels.
    const channels = [...new Set(request.channels)].filter((channel): channel is MdChannel => channel !== STATUS_CHANNEL);
    const perUser = this.options.maxSubscriptionsPerUser;
    const heldElsewhere = perUser > 0 ? await this.userStreams.heldElsewhere(userKeyOf(socket)) : 0;
    if (socket.disconnected) return { subscribed, rejected, sessions: [] }; // it left while the count was read
    for (const instrument of new Set(request.instruments)) {
      const exchange = instrument.slice(0, instrument.indexOf(':'));
      for (const channel of channels) {
        const refuse = (code: MdRejected['code'], message: string) => rejected.push({ instrument, channel, code, message });
        if (!this.catalog.has(instrument)) {
          refuse('UNKNOWN_SYMBOL', `${instrument} is not a known instrument`);
          continue;
        }
        const refusal = this.refusal(socket, instrument, channel);
        if (refusal) {
          if (isComplianceRefusal(refusal)) this.complianceMetrics.refused(refusal.board, refusal.reason);
          refuse(refusal.code, refusal.message);
          continue;
        }
        const stream = streamName(channel, instrument);
        const delayed = exchangeAccess(licence, exchange) === 'delayed';
        const key = fanoutKey(stream, channel, depth, throttleMs, delayed);
        if (!this.fanout.isSubscribed(socket, key) && this.fanout.subscriptionCount(socket) >= licence.maxSubscriptions) {
          refuse('SUBSCRIPTION_LIMIT', `the licence allows ${licence.maxSubscriptions} subscriptions per connection`);
          continue;
        }
        if (perUser > 0 && !this.fanout.isSubscribed(socket, key) && this.userStreams.count(userKeyOf(socket)) + heldElsewhere >= perUser) {
          refuse('SUBSCRIPTION_LIMIT', `at most ${perUser} subscriptions per user at once, across all connections`);
          continue;
        }
        // A different depth (or delay) of the same stream replaces the old one.
        for (const other of this.fanout.streamsOf(socket)) if (other !== key && streamOfKey(other) === stream) this.drop(socket, other);
        const wanted = this.attachKey(socket, channel, stream, key, throttleMs);
        if (wanted) newlyWanted.push(wanted);
        void socket.join(sessionRoom(exchange));
        const seq = this.sendSnapshot(socket, channel, stream, key);
        subscribed.push({ stream, seq, delayed, delayMs: delayed ? this.delayLine.delayMs : 0, throttleMs });
      }
    }
    // ---- status channel (feed health)
    if (request.channels.includes(STATUS_CHANNEL)) {
      const statuses = await this.status.subscribe(socket, request.instruments);
      subscribed.push(...statuses.subscribed);
      rejected.push(...statuses.rejected);
    }
    // The engine subscription is in place (the SUB flushed to NATS), and the user's stream count is visible to the
    // other replicas, before the client hears it is subscribed.
    await Promise.all([...newlyWanted.map((subject) => this.engineInterest.want(subject)), perUser > 0 ? this.userStreams.settle(userKeyOf(socket)) : undefined]);
    const now = Date.now();
    const exchanges = new Set(subscribed.map((s) => s.stream.split(':')[1] ?? ''));
    const sessions = [...exchanges].flatMap((exchange) => this.sessionStatus(exchange, now) ?? []);
    return { subscribed, rejected, sessions };
  }

  /**
   * Why `socket` may not have `channel` data of `instrument` now, or undefined when it may. One rule for both a new
   * subscription and a live one re-checked after the socket's licence or screen changed.
   */
  private refusal(socket: GatewaySocket, instrument: string, channel: MdChannel): EntitlementRefusal | undefined {
    const licence = socket.data.licence;
    const exchange = instrument.slice(0, instrument.indexOf(':'));
    return checkMarketDataEntitlement(licence, exchange, channel) ?? this.compliance.check(socket.data.user.compliance, instrument);
  }

  /**
   * Adds the fan-out subscription behind `key` and what feeds it (engine interest; the delay line for delayed keys).
   * Returns the engine subject to subscribe to when this replica did not receive it yet.
   */
  private attachKey(socket: GatewaySocket, channel: MdChannel, stream: string, key: string, throttleMs: number): string | undefined {
    const delayed = isDelayedKey(key);
    // Realtime books: their throttle is applied by their group (merging deltas), so the fan-out slot flushes every turn.
    // Delayed books are a snapshot per release, conflated like quotes.
    const kind = delayed ? (channel === 'trade' ? STREAM_KINDS.events : STREAM_KINDS.state) : STREAM_KIND_OF[channel];
    if (!this.fanout.subscribe(socket, key, channel === 'book' && !delayed ? 0 : throttleMs, kind)) return undefined;
    this.meterSubscription(socket, key, 'added');
    this.userStreams.added(userKeyOf(socket));
    if (delayed) {
      this.delayLine.track(stream, channel === 'trade' ? 'events' : 'state');
      if (channel === 'book') {
        const depths = this.delayedBookDepths.get(stream) ?? new Set<number>();
        depths.add(bookDepthOfKey(key));
        this.delayedBookDepths.set(stream, depths);
      }
    }
    if (!this.addInterest(stream)) return undefined;
    const parsed = parseStream(stream);
    if (!parsed) return undefined;
    const exchange = parsed.instrument.slice(0, parsed.instrument.indexOf(':'));
    return mdSubject(channel, exchange, parsed.instrument.slice(exchange.length + 1));
  }

  /**
   * Re-checks every live subscription of `socket` against its current licence (after `auth:refresh`, a licence change
   * or a compliance screen change): each one no longer allowed stops, and the client gets an `error` naming it.
   */
  reentitle(socket: GatewaySocket): void {
    const newlyWanted: string[] = [];
    for (const key of this.fanout.streamsOf(socket)) {
      const stream = streamOfKey(key);
      const parsed = parseStream(stream);
      if (!parsed) continue;
      const refusal = this.refusal(socket, parsed.instrument, parsed.channel);
      if (refusal) {
        this.drop(socket, key);
        if (isComplianceRefusal(refusal)) this.complianceMetrics.stopped(refusal.board, refusal.reason);
        socket.emit(SERVER_EVENTS.error, wireError(refusal.code, `${stream}: ${refusal.message}`, { details: { stream } }));
        continue;
      }
      // Still entitled, but perhaps no longer in the same way: a downgrade to delayed (or back) switches the stream.
      const exchange = parsed.instrument.slice(0, parsed.instrument.indexOf(':'));
      const delayed = exchangeAccess(socket.data.licence, exchange) === 'delayed';
      if (delayed === isDelayedKey(key)) continue;
      const throttleMs = Math.max(this.fanout.throttleOf(socket, key) ?? 0, socket.data.licence.minThrottleMs);
      const switched = fanoutKey(stream, parsed.channel, bookDepthOfKey(key), throttleMs, delayed);
      const wanted = this.attachKey(socket, parsed.channel, stream, switched, throttleMs); // before the drop: the engine feed stays
      if (wanted) newlyWanted.push(wanted);
      this.drop(socket, key);
      const seq = this.sendSnapshot(socket, parsed.channel, stream, switched);
      const notice = delayed ? `${stream} is now delayed by ${this.delayLine.delayMs} ms (licence change)` : `${stream} is now real time (licence change)`;
      socket.emit(SERVER_EVENTS.system, { type: 'notice', message: notice, stream, delayed, seq });
    }
    for (const subject of newlyWanted) {
      this.engineInterest.want(subject).catch((error: unknown) => this.logger.warn({ err: error, subject }, 'engine subscription failed'));
    }
    this.status.reentitle(socket); // status channel
    this.leaveUnusedSessionRooms(socket);
  }

  unsubscribe(socket: GatewaySocket, instruments: string[], channels?: MdSubscribeChannel[]): string[] {
    const wanted = new Set<MdSubscribeChannel>(channels ?? ['quote', 'trade', 'book', STATUS_CHANNEL]);
    const removed: string[] = [];
    for (const key of this.fanout.streamsOf(socket)) {
      const stream = key.includes('@') ? key.slice(0, key.indexOf('@')) : key;
      const parsed = parseStream(stream);
      if (!parsed || !wanted.has(parsed.channel) || !instruments.includes(parsed.instrument)) continue;
      if (this.drop(socket, key)) removed.push(stream);
    }
    if (wanted.has(STATUS_CHANNEL)) removed.push(...this.status.unsubscribe(socket, instruments)); // status channel
    this.leaveUnusedSessionRooms(socket);
    return removed;
  }

  resync(socket: GatewaySocket, stream: string): { stream: string; seq: number } {
    if (instrumentOfStatusStream(stream)) return this.status.resync(socket, stream); // status channel
    const parsed = parseStream(stream);
    const key = parsed && this.fanout.streamsOf(socket).find((k) => k === stream || k.startsWith(`${stream}@`));
    if (!parsed || !key) throw new GatewayError('INVALID_REQUEST', `not subscribed to ${stream}`);
    return { stream, seq: this.sendSnapshot(socket, parsed.channel, stream, key) };
  }

  /** A slow client caught up after its book backlog was dropped: it gets the book afresh. */
  private resnapshot(socket: GatewaySocket, key: string): void {
    const stream = key.split('@')[0] ?? key;
    const parsed = parseStream(stream);
    if (parsed) this.sendSnapshot(socket, parsed.channel, stream, key);
  }

  removeSocket(socket: GatewaySocket): void {
    this.status.removeSocket(socket); // status channel
    if (!this.fanout) return;
    for (const key of this.fanout.streamsOf(socket)) this.drop(socket, key);
    this.fanout.removeSocket(socket);
  }

  /** Engine subjects this replica currently receives because local clients want them. */
  get interestedStreams(): number {
    return this.interest.size;
  }

  private drop(socket: GatewaySocket, key: string): boolean {
    if (!this.fanout.unsubscribe(socket, key)) return false;
    this.meterSubscription(socket, key, 'removed');
    this.userStreams.removed(userKeyOf(socket));
    const stream = streamOfKey(key);
    if (isDelayedKey(key)) {
      this.delayLine.untrack(stream);
      if (!this.fanout.hasSubscribers(key)) {
        this.delayedKeysStarted.delete(key);
        this.delayedSnapshots.delete(key);
      }
    }
    this.removeInterest(stream);
    return true;
  }

  /** Usage metering for exchange fees: subscriptions by exchange and channel, delayed ones as `<channel>.delayed`. */
  private meterSubscription(socket: GatewaySocket, key: string, change: 'added' | 'removed'): void {
    const parsed = parseStream(streamOfKey(key));
    if (!parsed) return;
    const exchange = parsed.instrument.slice(0, parsed.instrument.indexOf(':'));
    const channel = isDelayedKey(key) ? `${parsed.channel}.delayed` : parsed.channel;
    const { tenant, userId } = socket.data.user;
    if (change === 'added') this.usage.subscriptionAdded(tenant, userId, exchange, channel);
    else this.usage.subscriptionRemoved(tenant, userId, exchange, channel);
  }

  /** Returns true when the stream had no local subscriber before. */
  private addInterest(stream: string): boolean {
    const count = this.interest.get(stream) ?? 0;
    this.interest.set(stream, count + 1);
    return count === 0;
  }

  private removeInterest(stream: string): void {
    const count = (this.interest.get(stream) ?? 1) - 1;
    if (count > 0) {
      this.interest.set(stream, count);
      return;
    }
    this.interest.delete(stream);
    if (!this.engineInterest.isSelective) return; // the transport delivers everything: the state stays current
    const parsed = parseStream(stream);
    if (!parsed) return;
    const [exchange, symbol] = parsed.instrument.split(':') as [string, string];
    this.engineInterest.release(mdSubject(parsed.channel, exchange, symbol));
    // No longer received, so no longer current: the next subscriber starts from the engine's next event.
    this.quotes.delete(stream);
    this.trades.delete(stream);
    this.books.delete(stream);
  }

  sessionStatus(exchange: string, now = Date.now()): SessionPayload | undefined {
    if (this.calendar.has(exchange)) return { exchange, ...this.calendar.statusAt(exchange, now) };
    return this.engineOnlySessions.get(exchange);
  }

  /** Tells the exchange's subscribers when its session changes on schedule (open, close, pre-open). */
  private armSessionTimer(exchange: string): void {
    clearTimeout(this.sessionTimers.get(exchange));
    const nextChange = this.calendar.statusAt(exchange, Date.now()).nextChange;
    if (nextChange === undefined) return;
    const delay = Math.min(Math.max(0, nextChange - Date.now()) + 1, 2_147_483_647);
    const timer = setTimeout(() => {
      const payload = this.sessionStatus(exchange);
      if (payload && payload.since <= Date.now()) this.emitSession(payload);
      this.armSessionTimer(exchange);
    }, delay);
    timer.unref();
    this.sessionTimers.set(exchange, timer);
  }

  onModuleDestroy(): void {
    this.delayLine.stop();
    for (const timer of this.sessionTimers.values()) clearTimeout(timer);
    for (const state of this.books.values()) for (const group of state.groups.values()) clearTimeout(group.timer);
  }

  /**
   * Queues the stream's current state for one socket (its fan-out key names the book group); returns its seq (0 while
   * the stream has no data yet).
   */
  private sendSnapshot(socket: GatewaySocket, channel: MdChannel, stream: string, key: string): number {
    if (isDelayedKey(key)) {
      const entry = this.delayLine.latestReleased(stream);
      if (!entry) return 0; // recorded for less than delayMs so far: the first release comes as this stream's snapshot
      let cache = this.delayedSnapshots.get(key);
      if (!cache) {
        cache = new SnapshotJsonCache();
        this.delayedSnapshots.set(key, cache);
      }
      this.fanout.sendSnapshot(socket, key, cache.get(entry.seq, () => delayedMessage(stream, channel, key, entry, 'snapshot')), Date.now());
      return entry.seq;
    }
    if (channel === 'book') {
      const groupKey = key.slice(stream.length + 1);
      const [depth, throttleMs] = groupKey.split('@').map(Number) as [number, number];
      let state = this.books.get(stream);
      if (!state) {
        state = { book: new OrderBook(), groups: new Map() };
        this.books.set(stream, state);
      }
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
      this.fanout.sendSnapshot(socket, key, group.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data: view })), ts);
      return seq;
    }
    const state = channel === 'quote' ? this.quotes.get(stream) : this.trades.get(stream);
    if (!state) return 0;
    const { seq, ts, data } = state;
    this.fanout.sendSnapshot(socket, stream, state.snapshot.get(seq, () => ({ stream, type: 'snapshot', seq, ts, data })), ts);
    return seq;
  }

  private leaveUnusedSessionRooms(socket: GatewaySocket): void {
    const exchanges = new Set(this.fanout.streamsOf(socket).map((key) => parseStream(key.split('@')[0] ?? '')?.instrument.split(':')[0]));
    for (const room of socket.rooms) {
      if (room.startsWith('session:') && !exchanges.has(room.slice('session:'.length))) void socket.leave(room);
    }
  }
}

/** Delayed data as it goes out: a book is always a snapshot (sliced to the key's depth), a quote or trade either. */
function delayedMessage(stream: string, channel: MdChannel, key: string, entry: DelayedEntry, type: 'snapshot' | 'update'): MdMessage {
  if (channel === 'book') {
    const book = entry.payload as DelayedBook;
    const depth = bookDepthOfKey(key);
    const data = { bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth), checksum: bookChecksum(book.asks.slice(0, 10), book.bids.slice(0, 10)) };
    return { stream, type: 'snapshot', seq: entry.seq, ts: entry.ts, data, delayed: true } satisfies MdMessage<'book'>;
  }
  return { stream, type, seq: entry.seq, ts: entry.ts, data: entry.payload as QuoteData | TradeData, delayed: true };
}

/** A book's fan-out key names its group: `book:LSE:VOD@10@100` (depth 10, throttle 100 ms). */
function bookKey(stream: string, depth: number, throttleMs: number): string {
  return `${stream}@${depth}@${throttleMs}`;
}

const DELAYED = 'delayed';

/**
 * The fan-out key of a subscription. Realtime: the stream, and for a book its group, `book:LSE:VOD@10@100` (depth 10,
 * throttle 100 ms). Delayed: `quote:LSE:VOD@delayed`, `book:LSE:VOD@delayed@10`.
 */
function fanoutKey(stream: string, channel: MdChannel, depth: number, throttleMs: number, delayed: boolean): string {
  if (delayed) return channel === 'book' ? `${stream}@${DELAYED}@${depth}` : `${stream}@${DELAYED}`;
  return channel === 'book' ? bookKey(stream, depth, throttleMs) : stream;
}

function isDelayedKey(key: string): boolean {
  return key.includes(`@${DELAYED}`);
}

/** The depth a book key names (the default for other keys). */
function bookDepthOfKey(key: string): number {
  const parts = key.split('@');
  const depth = Number(isDelayedKey(key) ? parts[2] : parts[1]);
  return Number.isInteger(depth) && depth > 0 ? depth : DEFAULT_BOOK_DEPTH;
}

/** The stream a fan-out key belongs to (a book key also names its group). */
function streamOfKey(key: string): string {
  const at = key.indexOf('@');
  return at < 0 ? key : key.slice(0, at);
}

/** Whose streams count together for the per-user cap: a user of a tenant, as the rate limits key them. */
function userKeyOf(socket: GatewaySocket): string {
  return `${socket.data.user.tenant}/${socket.data.user.userId}`;
}

function sessionRoom(exchange: string): string {
  return `session:${exchange}`;
}
