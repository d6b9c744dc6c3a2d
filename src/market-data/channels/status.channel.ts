import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  GatewayError,
  instrumentOfStatusStream,
  MD_CHANNELS,
  mdSubject,
  SERVER_EVENTS,
  statusStreamName,
  wireError,
  type FeedStatus,
  type MdChannel,
  type MdMessage,
  type MdRejected,
  type MdSubscribed,
} from '#libs/contracts';
import { checkMarketDataEntitlement, ComplianceScreen, type EntitlementRefusal } from '#libs/licensing';
import { GatewayMetrics, PINO_LOGGER, UsageMeter, type Logger } from '#libs/observability';
import { EngineInterestRegistry, GATEWAY_RUNTIME_OPTIONS, STREAM_KINDS, StreamFanout, type GatewayNamespace, type GatewayRuntimeOptions, type GatewaySocket } from '#libs/realtime';
import { AppConfig } from '../../config/index.js';
import { FeedHealthTracker, type SessionLookup } from '../feed-health/feed-health.tracker.js';
import { InstrumentCatalog } from '../instrument-catalog.js';

/** What the status channel needs of the market-data service it is attached to. */
export interface StatusChannelHost {
  namespace: GatewayNamespace;
  /** The exchange's session, calendar and engine overrides together (MarketDataService.sessionStatus). */
  sessions: SessionLookup;
  /**
   * Counts one more local need of the instrument's quotes, so that a selective engine transport (NATS) delivers them:
   * true when nothing of this replica needed them before (then the engine subject is to be subscribed).
   */
  holdQuotes(instrument: string): boolean;
  releaseQuotes(instrument: string): void;
}

/**
 * The `status` channel: feed health per instrument (docs/protocol.md §5.12). Not engine data: the gateway's own view
 * of whether an instrument's feed is live, stale, halted or closed, sent on every change (never per tick) as
 * `status:{instrument}` messages in `md` frames.
 *
 * Entitlement: a user may watch the status of any instrument they may have some market data of (any channel, real
 * time or delayed, compliance screen included). Status streams are not exchange data: they are not metered for fees
 * and do not count against `maxSubscriptions` or the per-user stream cap.
 *
 * A status subscription makes the replica receive the instrument's quotes (over NATS, subjects are subscribed on
 * demand): the tracker needs some engine event of it to measure. Trades and books count too when they are received.
 */
@Injectable()
export class StatusChannel implements OnModuleDestroy {
  private readonly tracker: FeedHealthTracker;
  private fanout?: StreamFanout;
  private host?: StatusChannelHost;
  /** Per status stream: the seq of its last message, and its snapshot JSON (one per change, shared by every subscriber). */
  private readonly streams = new Map<string, { seq: number; ts: number; json: string }>();
  /** Exchanges the gauge has reported, so that one whose last watched instrument went is set back to 0. */
  private readonly gaugedExchanges = new Set<string>();

  constructor(
    private readonly catalog: InstrumentCatalog,
    private readonly compliance: ComplianceScreen,
    private readonly metrics: GatewayMetrics,
    private readonly usage: UsageMeter,
    private readonly engineInterest: EngineInterestRegistry,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly options: GatewayRuntimeOptions,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly config: AppConfig,
  ) {
    const { staleAfterMs, staleAfterMsByExchange } = config.feedHealth;
    this.tracker = new FeedHealthTracker({ staleAfterMs, staleAfterMsByExchange }, (exchange, now) => this.host?.sessions(exchange, now), (instrument, status) => this.changed(instrument, status));
  }

  attach(host: StatusChannelHost): void {
    this.host = host;
    this.fanout = new StreamFanout({
      namespace: host.namespace.name,
      event: SERVER_EVENTS.md,
      metrics: this.metrics,
      slowClients: this.options.slowClients,
      usage: (socket) => this.usage.countersFor(socket.data.user.tenant, socket.data.user.userId),
    });
    this.tracker.start(this.config.feedHealth.checkIntervalMs, (stale, gaps) => this.report(stale, gaps));
  }

  onModuleDestroy(): void {
    this.tracker.stop();
  }

  /** The hot path: one timestamp store (and a seq comparison when the engine numbers its events). */
  onEngineEvent(instrument: string, channel: MdChannel, seq: number | undefined): void {
    this.tracker.onEvent(instrument, channel, seq);
  }

  /** An exchange's session changed (an engine `md.session` event): its feeds turn halted (or back) at once. */
  sessionChanged(exchange: string): void {
    this.tracker.sessionChanged(exchange);
  }

  /**
   * Subscribes `socket` to the status of each instrument it may watch. The answer's entries carry the current status;
   * a snapshot of it follows in `md`.
   */
  async subscribe(socket: GatewaySocket, instruments: readonly string[]): Promise<{ subscribed: MdSubscribed[]; rejected: MdRejected[] }> {
    const fanout = this.fanout;
    const host = this.host;
    const subscribed: MdSubscribed[] = [];
    const rejected: MdRejected[] = [];
    if (!fanout || !host) return { subscribed, rejected };
    const wanted: string[] = [];
    for (const instrument of new Set(instruments)) {
      if (!this.catalog.has(instrument)) {
        rejected.push({ instrument, channel: 'status', code: 'UNKNOWN_SYMBOL', message: `${instrument} is not a known instrument` });
        continue;
      }
      const refusal = this.refusal(socket, instrument);
      if (refusal) {
        rejected.push({ instrument, channel: 'status', code: refusal.code, message: refusal.message });
        continue;
      }
      const stream = statusStreamName(instrument);
      // Status changes are rare and each matters: every one goes out at once, whatever the request's throttleMs.
      if (fanout.subscribe(socket, stream, 0, STREAM_KINDS.state)) {
        this.tracker.watch(instrument);
        if (host.holdQuotes(instrument)) wanted.push(quoteSubject(instrument));
      }
      const status = this.currentStatus(instrument);
      const { seq, json } = this.snapshotOf(stream, status);
      fanout.sendSnapshot(socket, stream, json, Date.now());
      subscribed.push({ stream, seq, delayed: false, delayMs: 0, throttleMs: 0, status });
    }
    // The engine subscription is in place before the client hears it is subscribed (as for the data channels).
    await Promise.all(wanted.map((subject) => this.engineInterest.want(subject)));
    return { subscribed, rejected };
  }

  /** Removes the status streams of `instruments`; returns the streams removed. */
  unsubscribe(socket: GatewaySocket, instruments: readonly string[]): string[] {
    const removed: string[] = [];
    for (const instrument of new Set(instruments)) {
      const stream = statusStreamName(instrument);
      if (this.drop(socket, stream)) removed.push(stream);
    }
    return removed;
  }

  removeSocket(socket: GatewaySocket): void {
    if (!this.fanout) return;
    for (const stream of this.fanout.streamsOf(socket)) this.drop(socket, stream);
    this.fanout.removeSocket(socket);
  }

  /** After a licence or screen change: a status the socket may no longer watch stops, with an `error` naming it. */
  reentitle(socket: GatewaySocket): void {
    if (!this.fanout) return;
    for (const stream of this.fanout.streamsOf(socket)) {
      const instrument = instrumentOfStatusStream(stream);
      const refusal = instrument ? this.refusal(socket, instrument) : undefined;
      if (!refusal) continue;
      this.drop(socket, stream);
      socket.emit(SERVER_EVENTS.error, wireError(refusal.code, `${stream}: ${refusal.message}`, { details: { stream } }));
    }
  }

  /** `resync` of a status stream: its current status again, as a snapshot. */
  resync(socket: GatewaySocket, stream: string): { stream: string; seq: number } {
    const instrument = instrumentOfStatusStream(stream);
    if (!instrument || !this.fanout?.isSubscribed(socket, stream)) throw new GatewayError('INVALID_REQUEST', `not subscribed to ${stream}`);
    const { seq, json } = this.snapshotOf(stream, this.currentStatus(instrument));
    this.fanout.sendSnapshot(socket, stream, json, Date.now());
    return { stream, seq };
  }

  /** Why `socket` may not watch `instrument`'s status: refused only when no channel of it would be allowed. */
  private refusal(socket: GatewaySocket, instrument: string): EntitlementRefusal | undefined {
    const exchange = instrument.slice(0, instrument.indexOf(':'));
    const licence = socket.data.licence;
    let first: EntitlementRefusal | undefined;
    for (const channel of MD_CHANNELS) {
      const refusal = checkMarketDataEntitlement(licence, exchange, channel);
      if (!refusal) return this.compliance.check(socket.data.user.compliance, instrument);
      first ??= refusal;
    }
    return first;
  }

  private drop(socket: GatewaySocket, stream: string): boolean {
    if (!this.fanout?.unsubscribe(socket, stream)) return false;
    const instrument = instrumentOfStatusStream(stream);
    if (!instrument) return true;
    this.tracker.unwatch(instrument);
    this.host?.releaseQuotes(instrument);
    if (!this.fanout.hasSubscribers(stream)) this.streams.delete(stream);
    return true;
  }

  /** The status with its age as of now (the stored one's age is from when its state last changed). */
  private currentStatus(instrument: string): FeedStatus {
    return this.tracker.statusOf(instrument) ?? { state: 'live', lastEventAgeMs: null, since: Date.now(), reason: null };
  }

  /**
   * The stream's current message as a snapshot: its seq stays until the status changes. Serialized per subscribing
   * client (it carries the age as of now); status subscriptions are few and rare next to the data channels'.
   */
  private snapshotOf(stream: string, status: FeedStatus): { seq: number; json: string } {
    let entry = this.streams.get(stream);
    if (!entry) {
      entry = { seq: 1, ts: Date.now(), json: '' };
      this.streams.set(stream, entry);
    }
    const message: MdMessage<'status'> = { stream, type: 'snapshot', seq: entry.seq, ts: entry.ts, data: status };
    return { seq: entry.seq, json: JSON.stringify(message) };
  }

  /** A change of state or reason: one update for every subscriber of the instrument's status, serialized once. */
  private changed(instrument: string, status: FeedStatus): void {
    const stream = statusStreamName(instrument);
    if (!this.fanout?.hasSubscribers(stream)) return;
    const entry = this.streams.get(stream) ?? { seq: 0, ts: 0, json: '' };
    entry.seq += 1;
    entry.ts = Date.now();
    this.streams.set(stream, entry);
    const message: MdMessage<'status'> = { stream, type: 'update', seq: entry.seq, ts: entry.ts, data: status };
    this.fanout.publish(stream, JSON.stringify(message), entry.ts);
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

function quoteSubject(instrument: string): string {
  const colon = instrument.indexOf(':');
  return mdSubject('quote', instrument.slice(0, colon), instrument.slice(colon + 1));
}
