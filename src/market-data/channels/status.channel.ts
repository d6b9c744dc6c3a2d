import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  exchangeFromSessionSubject,
  instrumentFromMdSubject,
  instrumentOfStatusStream,
  MD_CHANNELS,
  mdSubject,
  type FeedStatus,
  type Licence,
  type MdMessage,
  type MdSubscribed,
} from '#libs/contracts';
import { checkMarketDataEntitlement, type EntitlementRefusal } from '#libs/licensing';
import { GatewayMetrics, PINO_LOGGER, type Logger } from '#libs/observability';
import type { GatewaySocket } from '#libs/realtime';
import { AppConfig } from '../../config/index.js';
import { EngineEventTaps } from '../../engine/engine-event-taps.js';
import { ExchangeSessions } from '../exchange-sessions.js';
import { FeedHealthTracker } from '../feed-health/feed-health.tracker.js';
import { MarketDataFanout } from '../market-data.fanout.js';
import type { MarketDataChannel, MarketDataChannelPolicy } from './market-data-channel.js';

/**
 * Status streams are not exchange data: not metered for fees, not counted against `maxSubscriptions` or the per-user
 * stream cap, never delayed, and every change goes out at once whatever the request's `throttleMs`.
 */
const FEED_STATUS_POLICY: MarketDataChannelPolicy = { countsAgainstLimits: false, metered: false, delayable: false, throttled: false };

/**
 * The `status` channel: feed health per instrument (docs/protocol.md §5.12). Not engine data: the gateway's own view
 * of whether an instrument's feed is live, stale, halted or closed, sent on every change (never per tick) as
 * `status:{instrument}` messages in `md` frames. A derived kind of the registry of stream kinds
 * (src/engine/stream-kinds.ts): it observes the quote, trade, book and session events the other handlers applied
 * (EngineEventTaps) and measures them in a FeedHealthTracker.
 *
 * Entitlement: a user may watch the status of any instrument they may have some market data of (any data channel,
 * real time or delayed; the service adds the compliance screen as for every channel).
 *
 * A status subscription makes the replica receive the instrument's quotes (over NATS, subjects are subscribed on
 * demand): the tracker needs some engine event of it to measure. Trades and books count too when they are received.
 */
@Injectable()
export class StatusChannel implements MarketDataChannel, OnModuleInit, OnApplicationShutdown {
  readonly name = 'status';
  readonly policy = FEED_STATUS_POLICY;
  private readonly tracker: FeedHealthTracker;
  /** Per watched status stream: the seq and time of its last message (a snapshot keeps them until the status changes). */
  private readonly streams = new Map<string, { seq: number; ts: number }>();
  /** The instrument of each market-data subject observed (applied events name known instruments: bounded by the catalog). */
  private readonly instrumentOfSubject = new Map<string, string | null>();
  /** Exchanges the gauge has reported, so that one whose last watched instrument went is set back to 0. */
  private readonly gaugedExchanges = new Set<string>();

  constructor(
    private readonly shared: MarketDataFanout,
    private readonly sessions: ExchangeSessions,
    private readonly taps: EngineEventTaps,
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly config: AppConfig,
  ) {
    const { staleAfterMs, staleAfterMsByExchange } = config.feedHealth;
    this.tracker = new FeedHealthTracker(
      { staleAfterMs, staleAfterMsByExchange },
      (exchange, now) => this.sessions.statusOf(exchange, now),
      (instrument, status) => this.changed(instrument, status),
    );
  }

  onModuleInit(): void {
    // The hot path: one map read and one timestamp store per applied event (and a seq comparison when the engine
    // numbers its events). Everything else happens on the tracker's coarse timer.
    for (const channel of MD_CHANNELS) {
      this.taps.observe(channel, (subject, value) => {
        const instrument = this.instrumentOf(subject);
        if (instrument) this.tracker.onEvent(instrument, channel, (value as { seq?: number }).seq);
      });
    }
    // An exchange's session changed (engine `md.session`, applied by ExchangeSessions): its feeds turn halted (or back) at once.
    this.taps.observe('session', (subject) => {
      const exchange = exchangeFromSessionSubject(subject);
      if (exchange) this.tracker.sessionChanged(exchange);
    });
    this.tracker.start(this.config.feedHealth.checkIntervalMs, (stale, gaps) => this.report(stale, gaps));
  }

  onApplicationShutdown(): void {
    this.tracker.stop();
  }

  /** Licences name data channels, never `status`: any data channel of the exchange allows its feeds' status. */
  entitlement(licence: Licence, exchange: string): EntitlementRefusal | null {
    let first: EntitlementRefusal | null = null;
    for (const channel of MD_CHANNELS) {
      const refusal = checkMarketDataEntitlement(licence, exchange, channel);
      if (!refusal) return null;
      first ??= refusal;
    }
    return first;
  }

  slotThrottle(): number {
    return 0; // status changes are rare and each matters: every one goes out at once
  }

  /** The quotes: the tracker needs some engine event of the instrument to measure its feed. */
  engineSubject(instrument: string): string {
    const colon = instrument.indexOf(':');
    return mdSubject('quote', instrument.slice(0, colon), instrument.slice(colon + 1));
  }

  forget(): void {
    // Nothing to forget: the tracker's entry goes with the stream's last subscriber (unwatched).
  }

  watched(stream: string): void {
    const instrument = instrumentOfStatusStream(stream);
    if (instrument) this.tracker.watch(instrument);
  }

  unwatched(stream: string): void {
    const instrument = instrumentOfStatusStream(stream);
    if (instrument) this.tracker.unwatch(instrument);
    this.streams.delete(stream);
  }

  subscribedDetails(stream: string): Pick<MdSubscribed, 'status'> {
    const instrument = instrumentOfStatusStream(stream);
    return instrument ? { status: this.currentStatus(instrument) } : {};
  }

  /**
   * The stream's current status as a snapshot (subscribe, resync): its seq stays until the status changes. Serialized
   * per client (it carries the age as of now); status subscriptions are few and rare next to the data channels'.
   */
  sendSnapshot(socket: GatewaySocket, key: string): number {
    const instrument = instrumentOfStatusStream(key);
    if (!instrument) return 0;
    let entry = this.streams.get(key);
    if (!entry) {
      entry = { seq: 1, ts: Date.now() };
      this.streams.set(key, entry);
    }
    const message: MdMessage<'status'> = { stream: key, type: 'snapshot', seq: entry.seq, ts: entry.ts, data: this.currentStatus(instrument) };
    this.shared.fanout.sendSnapshot(socket, key, JSON.stringify(message), Date.now());
    return entry.seq;
  }

  private instrumentOf(subject: string): string | null {
    let instrument = this.instrumentOfSubject.get(subject);
    if (instrument === undefined) {
      instrument = instrumentFromMdSubject(subject);
      this.instrumentOfSubject.set(subject, instrument);
    }
    return instrument;
  }

  /** The status with its age as of now (the stored one's age is from when its state last changed). */
  private currentStatus(instrument: string): FeedStatus {
    return this.tracker.statusOf(instrument) ?? { state: 'live', lastEventAgeMs: null, since: Date.now(), reason: null };
  }

  /** A change of state or reason: one update for every subscriber of the instrument's status, serialized once. */
  private changed(instrument: string, status: FeedStatus): void {
    const stream = `${this.name}:${instrument}`;
    if (!this.shared.hasSubscribers(stream)) return;
    const entry = this.streams.get(stream) ?? { seq: 0, ts: 0 };
    entry.seq += 1;
    entry.ts = Date.now();
    this.streams.set(stream, entry);
    const message: MdMessage<'status'> = { stream, type: 'update', seq: entry.seq, ts: entry.ts, data: status };
    this.shared.fanout.publish(stream, JSON.stringify(message), entry.ts);
    // Per instrument at debug only: an engine outage turns thousands stale at once; the gauge is what operators watch.
    this.logger.debug({ instrument, ...status }, 'market-data feed status changed');
  }

  private report(staleByExchange: ReadonlyMap<string, number>, gapsByExchange: ReadonlyMap<string, number>): void {
    for (const exchange of this.gaugedExchanges) if (!staleByExchange.has(exchange)) this.metrics.feedStale(exchange, 0);
    this.gaugedExchanges.clear();
    for (const [exchange, count] of staleByExchange) {
      this.metrics.feedStale(exchange, count);
      this.gaugedExchanges.add(exchange);
    }
    for (const [exchange, gaps] of gapsByExchange) this.metrics.feedSeqGaps(exchange, gaps);
  }
}

