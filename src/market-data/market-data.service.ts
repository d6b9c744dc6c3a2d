import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  GatewayError,
  mdSubject,
  SERVER_EVENTS,
  streamName,
  parseStream,
  type BookLevel,
  type MdChannel,
  type MdMessage,
  type MdRejected,
  type MdSubscribed,
  type MdSubscribeResponse,
  type QuoteData,
  type SessionPayload,
  type SessionStatus,
  type TradeData,
} from '#libs/contracts';
import { checkMarketDataEntitlement, exchangeAccess } from '#libs/licensing';
import { GatewayMetrics } from '#libs/observability';
import { EngineInterestRegistry, GATEWAY_RUNTIME_OPTIONS, StreamFanout, type GatewayNamespace, type GatewayRuntimeOptions, type GatewaySocket } from '#libs/realtime';
import type { MdSubscribeDto } from './dto/md-subscribe.dto.js';
import { InstrumentCatalog } from './instrument-catalog.js';
import { TradingCalendar } from './trading-calendar.js';
import { diffLevels, OrderBook, type BookView } from './order-book.js';

export const DEFAULT_BOOK_DEPTH = 10;

interface ValueState<T> {
  seq: number;
  ts: number;
  data: T;
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
}

interface BookState {
  book: OrderBook;
  groups: Map<string, BookGroup>;
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

  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly options: GatewayRuntimeOptions,
    private readonly engineInterest: EngineInterestRegistry,
    private readonly calendar: TradingCalendar,
  ) {}

  attach(namespace: GatewayNamespace): void {
    this.namespace = namespace;
    for (const exchange of this.calendar.exchanges()) this.armSessionTimer(exchange);
    this.fanout = new StreamFanout(namespace.name, SERVER_EVENTS.md, this.metrics, (socket, key) => this.resnapshot(socket, key), this.options.slowClients);
  }

  isKnownInstrument(instrument: string): boolean {
    return this.catalog.has(instrument);
  }

  // ------------------------------------------------------------------ engine side

  onQuote(instrument: string, ts: number, data: QuoteData): void {
    const stream = streamName('quote', instrument);
    const previous = this.quotes.get(stream);
    const state = { seq: (previous?.seq ?? 0) + 1, ts, data };
    this.quotes.set(stream, state);
    if (!this.fanout?.hasSubscribers(stream)) return;
    // The very first event of a stream is its first state: a snapshot for everyone subscribed before it existed.
    const message: MdMessage<'quote'> = { stream, type: previous ? 'update' : 'snapshot', seq: state.seq, ts, data };
    this.fanout.publish(stream, JSON.stringify(message), ts, 'latest');
  }

  onTrade(instrument: string, ts: number, data: TradeData): void {
    const stream = streamName('trade', instrument);
    const previous = this.trades.get(stream);
    const state = { seq: (previous?.seq ?? 0) + 1, ts, data };
    this.trades.set(stream, state);
    if (!this.fanout?.hasSubscribers(stream)) return;
    const message: MdMessage<'trade'> = { stream, type: previous ? 'update' : 'snapshot', seq: state.seq, ts, data };
    this.fanout.publish(stream, JSON.stringify(message), ts, 'all');
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
        const message: MdMessage<'book'> = { stream, type: 'snapshot', seq: group.seq, ts, data: group.view };
        this.fanout.publish(key, JSON.stringify(message), ts, 'all');
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
    this.fanout.publish(key, JSON.stringify(message), ts, 'all');
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
    const channels = [...new Set(request.channels)];
    for (const instrument of new Set(request.instruments)) {
      const exchange = instrument.slice(0, instrument.indexOf(':'));
      for (const channel of channels) {
        const refuse = (code: MdRejected['code'], message: string) => rejected.push({ instrument, channel, code, message });
        if (!this.catalog.has(instrument)) {
          refuse('UNKNOWN_SYMBOL', `${instrument} is not a known instrument`);
          continue;
        }
        const refusal = checkMarketDataEntitlement(licence, exchange, channel);
        if (refusal) {
          refuse(refusal.code, refusal.message);
          continue;
        }
        if (exchangeAccess(licence, exchange) === 'delayed') {
          refuse('NOT_ENTITLED', `${exchange} is licensed as delayed only, and this gateway serves delayed data from a later version`);
          continue;
        }
        const stream = streamName(channel, instrument);
        const key = channel === 'book' ? bookKey(stream, depth, throttleMs) : stream;
        if (!this.fanout.isSubscribed(socket, key) && this.fanout.subscriptionCount(socket) >= licence.maxSubscriptions) {
          refuse('SUBSCRIPTION_LIMIT', `the licence allows ${licence.maxSubscriptions} subscriptions per connection`);
          continue;
        }
        // A different depth of the same book replaces the old one.
        if (channel === 'book') for (const other of this.fanout.streamsOf(socket)) if (other !== key && other.startsWith(`${stream}@`)) this.drop(socket, other);
        // A book's throttle is applied by its group (merging deltas), so its fan-out slot flushes every turn.
        if (this.fanout.subscribe(socket, key, channel === 'book' ? 0 : throttleMs, channel === 'book' ? 'resync' : 'drop-oldest') && this.addInterest(stream)) {
          newlyWanted.push(mdSubject(channel, exchange, instrument.slice(exchange.length + 1)));
        }
        void socket.join(sessionRoom(exchange));
        const seq = this.sendSnapshot(socket, channel, stream, key);
        subscribed.push({ stream, seq, delayed: false, delayMs: 0, throttleMs });
      }
    }
    // The engine subscription is in place (the SUB flushed to NATS) before the client hears it is subscribed.
    await Promise.all(newlyWanted.map((subject) => this.engineInterest.want(subject)));
    const now = Date.now();
    const exchanges = new Set(subscribed.map((s) => s.stream.split(':')[1] ?? ''));
    const sessions = [...exchanges].flatMap((exchange) => this.sessionStatus(exchange, now) ?? []);
    return { subscribed, rejected, sessions };
  }

  unsubscribe(socket: GatewaySocket, instruments: string[], channels?: MdChannel[]): string[] {
    const wanted = new Set(channels ?? ['quote', 'trade', 'book']);
    const removed: string[] = [];
    for (const key of this.fanout.streamsOf(socket)) {
      const stream = key.includes('@') ? key.slice(0, key.indexOf('@')) : key;
      const parsed = parseStream(stream);
      if (!parsed || !wanted.has(parsed.channel) || !instruments.includes(parsed.instrument)) continue;
      if (this.drop(socket, key)) removed.push(stream);
    }
    this.leaveUnusedSessionRooms(socket);
    return removed;
  }

  resync(socket: GatewaySocket, stream: string): { stream: string; seq: number } {
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
    this.removeInterest(key.split('@')[0] ?? key);
    return true;
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
    for (const timer of this.sessionTimers.values()) clearTimeout(timer);
    for (const state of this.books.values()) for (const group of state.groups.values()) clearTimeout(group.timer);
  }

  /**
   * Queues the stream's current state for one socket (its fan-out key names the book group); returns its seq (0 while
   * the stream has no data yet).
   */
  private sendSnapshot(socket: GatewaySocket, channel: MdChannel, stream: string, key: string): number {
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
        group = { depth, throttleMs, seq: state.book.hasSnapshot ? 1 : 0, ts: Date.now(), view, lastFlushAt: Date.now() };
        state.groups.set(groupKey, group);
      }
      if (!state.book.hasSnapshot) return 0;
      // The group's last-sent view, not the live book: the group's next update is a diff against exactly this.
      const message: MdMessage<'book'> = { stream, type: 'snapshot', seq: group.seq, ts: group.ts, data: group.view };
      this.fanout.sendSnapshot(socket, key, JSON.stringify(message), group.ts);
      return group.seq;
    }
    const state = channel === 'quote' ? this.quotes.get(stream) : this.trades.get(stream);
    if (!state) return 0;
    const message = { stream, type: 'snapshot', seq: state.seq, ts: state.ts, data: state.data } satisfies MdMessage;
    this.fanout.sendSnapshot(socket, stream, JSON.stringify(message), state.ts);
    return state.seq;
  }

  private leaveUnusedSessionRooms(socket: GatewaySocket): void {
    const exchanges = new Set(this.fanout.streamsOf(socket).map((key) => parseStream(key.split('@')[0] ?? '')?.instrument.split(':')[0]));
    for (const room of socket.rooms) {
      if (room.startsWith('session:') && !exchanges.has(room.slice('session:'.length))) void socket.leave(room);
    }
  }
}

/** A book's fan-out key names its group: `book:LSE:VOD@10@100` (depth 10, throttle 100 ms). */
function bookKey(stream: string, depth: number, throttleMs: number): string {
  return `${stream}@${depth}@${throttleMs}`;
}

function sessionRoom(exchange: string): string {
  return `session:${exchange}`;
}
