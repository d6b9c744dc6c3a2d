import {
  NAMESPACES,
  streamName,
  type FeedStatus,
  type MdChannel,
  type MdMessage,
  type MdSubscribeChannel,
  type MdRejected,
  type MdSubscribed,
  type MdSubscribeResponse,
  type SessionPayload,
  type SystemPayload,
  type BookData,
  type QuoteData,
  type TradeData,
} from '#libs/contracts';
import { checkChannel, checkInstrument, checkMarketDataSubscribe } from './argument-checks.js';
import { jitterWithin } from './backoff.js';
import { BookState } from './book-state.js';
import type { ConnectionHub, NamespaceChannel } from './connection.js';
import { TypedEmitter, type ListenerArgs } from './emitter.js';
import { BadFrameError, listenerFailed, TradewireError } from './errors.js';
import type { Book, FeedStatusInfo, MarketDataSubscribeOptions, MarketDataSubscriptionEvents, Quote, ResyncInfo, StreamDiagnostics, Trade } from './types.js';
import { checkMdMessage, isFeedStatus, isObject, isWireError } from './wire-checks.js';
import { oncePerTurn } from './once-per-turn.js';

const DEFAULT_DEPTH = 10;
const DEFAULT_TRADE_TAPE = 100;

/** What the SDK holds for one stream of the connection. */
interface StreamState {
  stream: string;
  channel: MdSubscribeChannel;
  instrument: string;
  holders: Set<MarketDataSubscription>;
  /** none: not asked for on this connection; requested: in a subscribe in flight; active: subscribed. */
  server: 'none' | 'requested' | 'active';
  throttleMs: number | undefined;
  depth: number;
  seq: number | null;
  receivedAt: number | null;
  delayed: boolean;
  delayMs: number;
  /** A book waits for its (re)snapshot: updates are discarded meanwhile. */
  awaitingSnapshot: boolean;
  book: BookState | null;
  /** Resyncs asked for since the book last verified: the second and later ones are paced (see RESYNC_PACING). */
  unverifiedResyncs: number;
  /** A paced resync waiting for its turn. */
  resyncTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * How resyncs of a book that does not verify again are paced. The first resync after a verified book goes out at once;
 * when the snapshot it brings does not verify either (a checksum bug, a proxy that damages frames), each further one
 * waits a growing, jittered delay, so that a book that cannot be repaired costs the user a few requests a minute
 * instead of exhausting the request limits (and, past RATE_LIMIT_BLOCK_AFTER refusals, getting the user blocked on
 * every tab). The delay is in [ceiling/2, ceiling], never near 0, unlike the reconnect backoff's full jitter.
 */
const RESYNC_PACING = { minDelayMs: 1_000, maxDelayMs: 30_000 };


export interface MarketDataCounters {
  gaps: number;
  resyncs: number;
  checksumMismatches: number;
  badFrames: number;
  tradeGaps: number;
}

/**
 * One `client.marketData.subscribe(...)`: its events and a view on the client's market-data state for its
 * instruments. Several subscriptions may share a stream; the stream is unsubscribed when the last one lets it go.
 */
export class MarketDataSubscription extends TypedEmitter<MarketDataSubscriptionEvents> {
  readonly instruments: readonly string[];
  readonly channels: readonly MdSubscribeChannel[];
  readonly throttleMs: number | undefined;
  readonly depth: number;
  private active = true;

  constructor(
    private readonly owner: MarketDataClient,
    options: MarketDataSubscribeOptions,
    onListenerError: (error: unknown, event: string) => void,
  ) {
    super(onListenerError);
    this.instruments = [...new Set(options.instruments)];
    this.channels = [...new Set(options.channels)];
    this.throttleMs = options.throttleMs;
    this.depth = options.depth ?? DEFAULT_DEPTH;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The streams this subscription asked for (`quote:NASDAQ:AAPL`, …). */
  get streams(): string[] {
    return this.instruments.flatMap((instrument) => this.channels.map((channel) => streamName(channel, instrument)));
  }

  quote(instrument: string): Quote | undefined {
    return this.owner.quote(instrument);
  }

  book(instrument: string): Book | undefined {
    return this.owner.book(instrument);
  }

  trades(instrument: string): readonly Trade[] {
    return this.owner.trades(instrument);
  }

  /** The instrument's feed status (with the `status` channel), undefined until the server has said. */
  feedStatus(instrument: string): FeedStatusInfo | undefined {
    return this.owner.feedStatus(instrument);
  }

  /** Lets the subscription's streams go (those no other subscription holds are unsubscribed) and drops its listeners. */
  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.owner.release(this);
    this.removeAllListeners();
  }

  /** @internal */
  deliver<E extends keyof MarketDataSubscriptionEvents>(event: E, ...args: ListenerArgs<MarketDataSubscriptionEvents[E]>): void {
    if (this.active) this.emit(event, ...args);
  }
}

/**
 * `client.marketData`: subscriptions over `/market-data`, and the state the SDK keeps from them: the latest quote per
 * instrument, a bounded trade tape, each book from its snapshot and updates (checked by `prevSeq` and checksum), the
 * exchanges' sessions. Subscriptions are restored after every reconnect.
 */
export class MarketDataClient {
  readonly counters: MarketDataCounters = { gaps: 0, resyncs: 0, checksumMismatches: 0, badFrames: 0, tradeGaps: 0 };
  private readonly streams = new Map<string, StreamState>();
  private readonly quotes = new Map<string, Quote>();
  private readonly books = new Map<string, Book>();
  private readonly tapes = new Map<string, readonly Trade[]>();
  private readonly feedStatuses = new Map<string, FeedStatusInfo>();
  private readonly sessionsByExchange = new Map<string, SessionPayload>();
  private readonly subscriptions = new Set<MarketDataSubscription>();
  /** Subscriptions whose state they should be sent at the next flush (they joined streams already held). */
  private readonly joined = new Set<MarketDataSubscription>();
  private channel: NamespaceChannel<'/market-data'> | null = null;
  private readonly scheduleFlush = oncePerTurn(() => this.flush());
  /** Counts disconnects: an answer that arrives for an older connection changes nothing. */
  private connectionEpoch = 0;
  private readonly tapeSize: number;

  constructor(
    private readonly hub: ConnectionHub,
    private readonly reportError: (error: TradewireError) => void,
  ) {
    this.tapeSize = hub.options.tradeTapeSize ?? DEFAULT_TRADE_TAPE;
  }

  /**
   * Subscribes to `channels` of `instruments`. Subscriptions made in the same turn of the event loop go out together,
   * in at most one `subscribe` per channel (one for several channels wanted for the same instruments at the same
   * throttle, e.g. a watch list's quote and trade), so that many components each subscribing stay inside the rate
   * limits: `subscribe` has a bucket of its own, 10 a minute by default.
   */
  subscribe(options: MarketDataSubscribeOptions): MarketDataSubscription {
    checkMarketDataSubscribe(options);
    const subscription = new MarketDataSubscription(this, options, (error, event) => this.reportError(listenerFailed(error, event)));
    this.subscriptions.add(subscription);
    for (const stream of subscription.streams) {
      const [channel, instrument] = splitStream(stream);
      let state = this.streams.get(stream);
      if (!state) {
        state = {
          stream,
          channel,
          instrument,
          holders: new Set(),
          server: 'none',
          throttleMs: subscription.throttleMs,
          depth: subscription.depth,
          seq: null,
          receivedAt: null,
          delayed: false,
          delayMs: 0,
          awaitingSnapshot: true,
          book: channel === 'book' ? new BookState(subscription.depth) : null,
          unverifiedResyncs: 0,
          resyncTimer: null,
        };
        this.streams.set(stream, state);
      } else {
        this.joined.add(subscription);
      }
      state.holders.add(subscription);
    }
    this.openChannel();
    this.scheduleFlush();
    return subscription;
  }

  quote(instrument: string): Quote | undefined {
    checkInstrument(instrument);
    return this.quotes.get(instrument);
  }

  book(instrument: string): Book | undefined {
    checkInstrument(instrument);
    return this.books.get(instrument);
  }

  /** The instrument's recent trades, oldest first (at most `tradeTapeSize`). */
  trades(instrument: string): readonly Trade[] {
    checkInstrument(instrument);
    return this.tapes.get(instrument) ?? [];
  }

  /**
   * The health of the instrument's feed as the gateway last said (subscribe the `status` channel): `live`, `stale`,
   * `halted` or `closed`, with why and since when. Undefined until the server has said.
   */
  feedStatus(instrument: string): FeedStatusInfo | undefined {
    checkInstrument(instrument);
    return this.feedStatuses.get(instrument);
  }

  /** Every instrument's feed status the SDK holds. */
  feedStatusList(): FeedStatusInfo[] {
    return [...this.feedStatuses.values()];
  }

  /** The latest trading session of each exchange of the subscribed instruments. */
  sessions(): SessionPayload[] {
    return [...this.sessionsByExchange.values()];
  }

  session(exchange: string): SessionPayload | undefined {
    return this.sessionsByExchange.get(exchange);
  }

  /** Whether the stream is served delayed, as the server last said. */
  isDelayed(channel: MdChannel, instrument: string): boolean {
    checkChannel(channel);
    checkInstrument(instrument);
    return this.streams.get(streamName(channel, instrument))?.delayed ?? false;
  }

  streamDiagnostics(now = Date.now()): StreamDiagnostics[] {
    return [...this.streams.values()].map((s) => ({ stream: s.stream, seq: s.seq ?? 0, ageMs: s.receivedAt === null ? null : now - s.receivedAt, delayed: s.delayed }));
  }

  /** @internal */
  release(subscription: MarketDataSubscription): void {
    this.subscriptions.delete(subscription);
    this.joined.delete(subscription);
    for (const stream of subscription.streams) this.streams.get(stream)?.holders.delete(subscription);
    this.scheduleFlush();
  }

  // ---------------------------------------------------------------- requests

  private openChannel(): void {
    if (this.channel) return;
    const channel = this.hub.channel(NAMESPACES.marketData);
    this.channel = channel;
    channel.listen('md', (frame) => this.onFrame(frame));
    channel.listen('session', (session) => this.onSession(session));
    channel.listen('system', (notice) => this.onSystem(notice));
    channel.listen('error', (error) => this.onServerError(error));
    channel.onDisconnected(() => {
      this.connectionEpoch++;
      // The server forgets a connection's subscriptions with it: everything is asked for again on the next connect.
      for (const state of this.streams.values()) {
        state.server = 'none';
        state.awaitingSnapshot = true;
      }
    });
    // Every connect (the first included: subscriptions made before it waited) sends what the handles hold.
    channel.onConnected(() => this.scheduleFlush());
  }

  /** Sends what the held streams need: `subscribe` for streams not asked for on this connection, `unsubscribe` for orphans. */
  private flush(): void {
    const channel = this.channel;
    if (!channel) return;
    for (const subscription of this.joined) this.replayState(subscription);
    this.joined.clear();
    if (!channel.connected) return; // the next connect flushes again
    const orphans = new Map<MdSubscribeChannel, string[]>();
    const wanted = new Map<string, { channel: MdSubscribeChannel; throttleMs: number | undefined; depth: number; states: StreamState[] }>();
    for (const state of this.streams.values()) {
      if (state.holders.size === 0) {
        this.streams.delete(state.stream);
        this.forget(state);
        if (state.server !== 'none') (orphans.get(state.channel) ?? orphans.set(state.channel, []).get(state.channel)!).push(state.instrument);
        continue;
      }
      if (state.server !== 'none') continue;
      const key = `${state.channel}|${state.throttleMs ?? ''}|${state.channel === 'book' ? state.depth : ''}`; // depth means nothing to the other channels
      const group = wanted.get(key) ?? wanted.set(key, { channel: state.channel, throttleMs: state.throttleMs, depth: state.depth, states: [] }).get(key)!;
      group.states.push(state);
    }
    for (const [mdChannel, instruments] of orphans) {
      channel.request('unsubscribe', { instruments, channels: [mdChannel] }).catch((error: unknown) => this.failed(error, []));
    }
    for (const group of mergeChannelsOfSameInstruments(wanted.values())) {
      for (const state of group.states) state.server = 'requested';
      const request = {
        instruments: group.instruments,
        channels: group.channels,
        ...(group.throttleMs !== undefined ? { throttleMs: group.throttleMs } : {}),
        ...(group.depth !== undefined ? { depth: group.depth } : {}),
      };
      const restored = group.states.some((s) => s.seq !== null);
      const epoch = this.connectionEpoch;
      channel.request('subscribe', request).then(
        (answer) => {
          if (epoch === this.connectionEpoch) this.onSubscribed(answer, restored);
        },
        (error: unknown) => {
          if (epoch === this.connectionEpoch) for (const state of group.states) if (state.server === 'requested') state.server = 'none';
          this.failed(error, holdersOf(group.states));
        },
      );
    }
  }

  private onSubscribed(answer: MdSubscribeResponse, restored: boolean): void {
    if (!isObject(answer) || !Array.isArray(answer.subscribed) || !Array.isArray(answer.rejected)) {
      this.reportError(new BadFrameError('subscribe', 'the answer has no subscribed / rejected lists', answer));
      return;
    }
    const subscribedBy = new Map<MarketDataSubscription, MdSubscribed[]>();
    for (const item of answer.subscribed) {
      const state = this.streams.get(item.stream);
      if (!state) continue;
      state.server = 'active';
      const wasDelayed = state.delayed;
      state.delayed = item.delayed === true;
      state.delayMs = typeof item.delayMs === 'number' ? item.delayMs : 0;
      // A status stream's answer carries its current status: known at once, before the snapshot frame.
      if (state.channel === 'status' && isFeedStatus(item.status)) this.setFeedStatus(state, item.status, Date.now());
      for (const holder of state.holders) {
        (subscribedBy.get(holder) ?? subscribedBy.set(holder, []).get(holder)!).push(item);
        if (state.delayed !== wasDelayed || (state.delayed && state.seq === null)) {
          holder.deliver('delayed', { stream: state.stream, instrument: state.instrument, channel: state.channel, delayed: state.delayed, delayMs: state.delayMs });
        }
      }
    }
    const rejectedBy = new Map<MarketDataSubscription, MdRejected[]>();
    for (const item of answer.rejected) {
      const state = this.streams.get(streamName(item.channel, item.instrument));
      if (!state) continue;
      for (const holder of state.holders) (rejectedBy.get(holder) ?? rejectedBy.set(holder, []).get(holder)!).push(item);
      // A refused stream is not held: it would be refused again at every reconnect.
      this.streams.delete(state.stream);
      this.forget(state);
    }
    for (const [holder, items] of subscribedBy) holder.deliver('subscribed', items, { restored });
    for (const [holder, items] of rejectedBy) holder.deliver('rejected', items);
    for (const session of Array.isArray(answer.sessions) ? answer.sessions : []) this.onSession(session);
  }

  /** A request failed: its subscriptions and the client hear it, unless the next connect sends it again anyway. */
  private failed(error: unknown, holders: Iterable<MarketDataSubscription>): void {
    const failure = asTradewireError(error);
    if (isRestoredOnReconnect(failure)) return;
    for (const holder of holders) holder.deliver('error', failure);
    this.reportError(failure);
  }

  /** A subscription that joined streams already held gets their current state, as a fresh subscription would. */
  private replayState(subscription: MarketDataSubscription): void {
    for (const instrument of subscription.instruments) {
      const quote = this.quotes.get(instrument);
      if (quote && subscription.channels.includes('quote')) subscription.deliver('quote', quote);
      const book = this.books.get(instrument);
      if (book && subscription.channels.includes('book')) subscription.deliver('book', book);
      const tape = this.tapes.get(instrument);
      if (tape && tape.length > 0 && subscription.channels.includes('trade')) subscription.deliver('trade', tape[tape.length - 1]);
      const status = this.feedStatuses.get(instrument);
      if (status && subscription.channels.includes('status')) subscription.deliver('status', status);
    }
  }

  private forget(state: StreamState): void {
    if (state.resyncTimer !== null) clearTimeout(state.resyncTimer);
    state.resyncTimer = null;
    if (state.channel === 'quote') this.quotes.delete(state.instrument);
    else if (state.channel === 'book') this.books.delete(state.instrument);
    else if (state.channel === 'status') this.feedStatuses.delete(state.instrument);
    else this.tapes.delete(state.instrument);
  }

  // ---------------------------------------------------------------- frames

  private onFrame(frame: unknown): void {
    if (!Array.isArray(frame)) {
      this.badFrame(new BadFrameError('md', 'the frame is not an array of messages', frame));
      return;
    }
    const receivedAt = Date.now();
    for (const item of frame) {
      const checked = checkMdMessage(item);
      if ('problem' in checked) {
        this.badFrame(new BadFrameError('md', checked.problem, item));
        continue;
      }
      const state = this.streams.get(checked.message.stream);
      // Frames of a stream let go a moment ago are still on the wire: nothing to do with them.
      if (!state) continue;
      try {
        this.apply(state, checked.message, receivedAt);
      } catch (error) {
        this.badFrame(new BadFrameError('md', error instanceof Error ? error.message : String(error), item));
      }
    }
  }

  private badFrame(error: BadFrameError): void {
    this.counters.badFrames++;
    this.reportError(error);
  }

  private apply(state: StreamState, message: MdMessage<MdSubscribeChannel>, receivedAt: number): void {
    if (state.channel === 'status') {
      // Every status message is the whole status: an older one than held is out of date.
      if (state.seq !== null && message.seq < state.seq) return;
      this.mark(state, message, receivedAt);
      this.setFeedStatus(state, message.data as FeedStatus, receivedAt);
      return;
    }
    const delayed = message.delayed === true;
    const fields = { instrument: state.instrument, seq: message.seq, ts: message.ts, delayed, receivedAt };
    if (state.channel === 'quote') {
      // Quotes may skip seqs (conflation); an older one than held is out of date.
      if (message.type === 'update' && state.seq !== null && message.seq <= state.seq) return;
      this.mark(state, message, receivedAt);
      const quote: Quote = { ...(message.data as QuoteData), ...fields };
      this.quotes.set(state.instrument, quote);
      for (const holder of state.holders) holder.deliver('quote', quote);
      return;
    }
    if (state.channel === 'trade') {
      const data = message.data as TradeData;
      const tape = this.tapes.get(state.instrument) ?? [];
      // A trade snapshot may repeat a trade already held (after a resync or a reconnect).
      if (tape.some((t) => t.tradeId === data.tradeId)) {
        this.mark(state, message, receivedAt);
        return;
      }
      if (message.type === 'update' && state.seq !== null && message.seq > state.seq + 1) this.counters.tradeGaps++;
      this.mark(state, message, receivedAt);
      const trade: Trade = { ...data, ...fields };
      const next = tape.length >= this.tapeSize ? [...tape.slice(tape.length - this.tapeSize + 1), trade] : [...tape, trade];
      this.tapes.set(state.instrument, next);
      for (const holder of state.holders) holder.deliver('trade', trade);
      return;
    }
    this.applyBook(state, message as MdMessage<'book'>, receivedAt, fields);
  }

  private setFeedStatus(state: StreamState, status: FeedStatus, receivedAt: number): void {
    const held = this.feedStatuses.get(state.instrument);
    const info: FeedStatusInfo = { instrument: state.instrument, state: status.state, lastEventAgeMs: status.lastEventAgeMs, since: status.since, reason: status.reason, receivedAt };
    this.feedStatuses.set(state.instrument, info);
    // The answer and the snapshot after it say the same: holders hear a status once, then each change.
    if (held && held.state === info.state && held.reason === info.reason && held.since === info.since) return;
    for (const holder of state.holders) holder.deliver('status', info);
  }

  private applyBook(state: StreamState, message: MdMessage<'book'>, receivedAt: number, fields: Omit<Book, 'bids' | 'asks' | 'checksum' | 'verified'>): void {
    const book = state.book!;
    const data: BookData = message.data;
    if (message.type === 'snapshot') {
      book.applySnapshot(data);
      state.awaitingSnapshot = false;
    } else {
      if (state.awaitingSnapshot) return; // discarded until the (re)snapshot arrives
      if (message.prevSeq === undefined || message.prevSeq !== state.seq) {
        this.counters.gaps++;
        this.resync(state, { reason: 'gap', ...(message.prevSeq !== undefined ? { prevSeq: message.prevSeq } : {}), ...(state.seq !== null ? { expectedSeq: state.seq } : {}) });
        // The copy held is out of step until the snapshot: shown as it was, no longer verified.
        const stale = this.books.get(state.instrument);
        if (stale?.verified) {
          const unverified: Book = { ...stale, verified: false };
          this.books.set(state.instrument, unverified);
          for (const holder of state.holders) holder.deliver('book', unverified);
        }
        return;
      }
      book.applyUpdate(data);
    }
    this.mark(state, message, receivedAt);
    const check = book.check(data.checksum);
    if (check.result === 'verified') state.unverifiedResyncs = 0;
    if (check.result === 'mismatch') {
      this.counters.checksumMismatches++;
      this.resync(state, { reason: 'checksum', checksum: data.checksum, computed: check.computed });
    }
    const view: Book = { ...fields, bids: book.bids.slice(), asks: book.asks.slice(), checksum: data.checksum, verified: check.result === 'verified' };
    this.books.set(state.instrument, view);
    for (const holder of state.holders) holder.deliver('book', view);
  }

  private mark(state: StreamState, message: MdMessage<MdSubscribeChannel>, receivedAt: number): void {
    state.seq = message.seq;
    state.receivedAt = receivedAt;
    state.delayed = message.delayed === true || (state.delayed && message.delayed === undefined && state.delayMs > 0);
  }

  /** Asks for a fresh snapshot and discards the stream's updates until it comes. */
  private resync(state: StreamState, info: Omit<ResyncInfo, 'stream' | 'instrument' | 'channel'>): void {
    state.awaitingSnapshot = true;
    this.counters.resyncs++;
    const full: ResyncInfo = { stream: state.stream, instrument: state.instrument, channel: state.channel, ...info };
    this.hub.sink.log.info?.('resync', { ...full });
    for (const holder of state.holders) holder.deliver('resync', full);
    if (state.resyncTimer !== null) return; // a paced resync is already on its way
    const attempt = state.unverifiedResyncs++;
    if (attempt === 0) {
      this.requestResync(state);
      return;
    }
    const ceiling = Math.min(RESYNC_PACING.maxDelayMs, RESYNC_PACING.minDelayMs * 2 ** Math.min(attempt - 1, 16));
    const delayMs = ceiling / 2 + jitterWithin(ceiling / 2);
    this.hub.sink.log.info?.('resync paced', { stream: state.stream, attempt, delayMs });
    state.resyncTimer = setTimeout(() => {
      state.resyncTimer = null;
      this.requestResync(state);
    }, delayMs);
  }

  private requestResync(state: StreamState): void {
    const channel = this.channel;
    if (!channel?.connected || state.holders.size === 0) return; // the reconnect's subscribe brings a snapshot anyway
    channel.request('resync', { stream: state.stream }).catch((error: unknown) => this.failed(error, state.holders));
  }

  private onSession(session: unknown): void {
    if (!isObject(session) || typeof session.exchange !== 'string' || typeof session.status !== 'string') {
      this.badFrame(new BadFrameError('session', 'not a session', session));
      return;
    }
    const payload = session as unknown as SessionPayload;
    this.sessionsByExchange.set(payload.exchange, payload);
    for (const subscription of this.subscriptions) {
      if (subscription.instruments.some((i) => i.startsWith(`${payload.exchange}:`))) subscription.deliver('session', payload);
    }
  }

  private onSystem(notice: SystemPayload): void {
    if (typeof notice.stream !== 'string' || typeof notice.delayed !== 'boolean') return;
    const state = this.streams.get(notice.stream);
    if (!state) return;
    state.delayed = notice.delayed;
    for (const holder of state.holders) holder.deliver('delayed', { stream: state.stream, instrument: state.instrument, channel: state.channel, delayed: notice.delayed });
  }

  /** An `error` naming a stream (e.g. `NOT_COMPLIANT` after a screen change): that stream stopped. */
  private onServerError(error: unknown): void {
    if (!isWireError(error) || !isObject(error.details) || typeof error.details.stream !== 'string') return;
    const state = this.streams.get(error.details.stream);
    if (!state) return;
    this.streams.delete(state.stream);
    this.forget(state);
    const item: MdRejected = { instrument: state.instrument, channel: state.channel, code: error.code, message: error.message };
    for (const holder of state.holders) holder.deliver('rejected', [item]);
  }
}

function splitStream(stream: string): [MdSubscribeChannel, string] {
  const colon = stream.indexOf(':');
  return [stream.slice(0, colon) as MdSubscribeChannel, stream.slice(colon + 1)];
}

function holdersOf(states: StreamState[]): Set<MarketDataSubscription> {
  return new Set(states.flatMap((s) => [...s.holders]));
}

/** A subscribe lost to a disconnect (or to `close()`) is not an error: the next connect sends it again. */
export function isRestoredOnReconnect(error: TradewireError): boolean {
  return error.code === 'CONNECTION_LOST' || error.code === 'CLIENT_CLOSED';
}

export function asTradewireError(error: unknown): TradewireError {
  return error instanceof TradewireError ? error : new TradewireError('INTERNAL', error instanceof Error ? error.message : String(error));
}

interface ChannelGroup {
  channel: MdSubscribeChannel;
  throttleMs: number | undefined;
  depth: number;
  states: StreamState[];
}

interface SubscribeGroup {
  instruments: string[];
  channels: MdSubscribeChannel[];
  throttleMs: number | undefined;
  /** The book's depth, when the request has the book channel. */
  depth: number | undefined;
  states: StreamState[];
}

/**
 * One `subscribe` asks for every channel it names on every instrument it names, so channels wanted for exactly the
 * same instruments at the same throttle share a request. A request carries one depth, so at most one book group joins.
 */
function mergeChannelsOfSameInstruments(groups: Iterable<ChannelGroup>): SubscribeGroup[] {
  const merged = new Map<string, SubscribeGroup>();
  const alone: SubscribeGroup[] = [];
  for (const group of groups) {
    const instruments = group.states.map((s) => s.instrument);
    const key = `${group.throttleMs ?? ''}|${[...instruments].sort().join(' ')}`;
    const isBook = group.channel === 'book';
    const into = merged.get(key);
    if (into && !(isBook && into.depth !== undefined)) {
      into.channels.push(group.channel);
      into.states.push(...group.states);
      if (isBook) into.depth = group.depth;
      continue;
    }
    const request: SubscribeGroup = { instruments, channels: [group.channel], throttleMs: group.throttleMs, depth: isBook ? group.depth : undefined, states: [...group.states] };
    if (into) alone.push(request);
    else merged.set(key, request);
  }
  return [...merged.values(), ...alone];
}
