import { Inject, Injectable } from '@nestjs/common';
import {
  GatewayError,
  wireError,
  SERVER_EVENTS,
  streamName,
  parseStream,
  MD_SUBSCRIBE_CHANNELS,
  type MdSubscribeChannel,
  type MdRejected,
  type MdSubscribed,
  type MdSubscribeResponse,
  type SessionPayload,
} from '#libs/contracts';
import { ComplianceScreen, exchangeAccess, isComplianceRefusal, type EntitlementRefusal } from '#libs/licensing';
import { ComplianceMetrics, PINO_LOGGER, UsageMeter, type Logger } from '#libs/observability';
import { UserStreamCounter } from '#libs/rate-limit';
import { EngineInterestRegistry, GATEWAY_RUNTIME_OPTIONS, type GatewayNamespace, type GatewayRuntimeOptions, type GatewaySocket, type StreamFanout } from '#libs/realtime';
import type { MdSubscribeDto } from './dto/md-subscribe.dto.js';
import { DelayedMarketData } from './delayed-market-data.js';
import { ExchangeSessions } from './exchange-sessions.js';
import { bookDepthOfKey, DEFAULT_BOOK_DEPTH, fanoutKey, isDelayedKey, streamOfKey } from './fanout-keys.js';
import type { MarketDataChannel } from './channels/market-data-channel.js';
import { InstrumentCatalog } from './instrument-catalog.js';
import { MarketDataChannels } from './market-data-channels.js';
import { MarketDataFanout } from './market-data.fanout.js';

export { DEFAULT_BOOK_DEPTH } from './fanout-keys.js';

/**
 * Market-data subscriptions and entitlements: who may have which stream (licence, compliance screen, limits), which
 * fan-out key serves a subscription (realtime or delayed, a book's depth and throttle), and which engine subjects this
 * replica asks for because local clients want them. The state of the streams is the channels' (./channels, found
 * through MarketDataChannels from the registry of stream kinds); the fan-out core is MarketDataFanout. What differs
 * between channels (the entitlement rule; whether a subscription counts against the limits, is metered, may be delayed
 * or throttled) is each channel's `entitlement` and `policy`, never a branch on its name here.
 */
@Injectable()
export class MarketDataService {
  /** Local subscriptions per stream (all depths of a book count as one stream): what this replica asks the engine for. */
  private readonly interest = new Map<string, number>();
  /** Local subscribers per engine subject: two channels may need the same one (a status stream needs the quotes). */
  private readonly subjectInterest = new Map<string, number>();

  constructor(
    private readonly catalog: InstrumentCatalog,
    @Inject(GATEWAY_RUNTIME_OPTIONS) private readonly options: GatewayRuntimeOptions,
    private readonly engineInterest: EngineInterestRegistry,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly compliance: ComplianceScreen,
    private readonly complianceMetrics: ComplianceMetrics,
    private readonly usage: UsageMeter,
    /** Streams per user across their connections (and replicas, with Redis): the RATE_LIMIT_MAX_SUBSCRIPTIONS cap. */
    private readonly userStreams: UserStreamCounter,
    private readonly channels: MarketDataChannels,
    private readonly shared: MarketDataFanout,
    private readonly delayed: DelayedMarketData,
    private readonly sessions: ExchangeSessions,
  ) {}

  /** The gateway's namespace exists: the fan-out core and the session broadcasts start. */
  attach(namespace: GatewayNamespace): void {
    this.shared.attach(namespace, this.channels.resnapshot);
    this.sessions.attach(namespace);
  }

  private get fanout(): StreamFanout {
    return this.shared.fanout;
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
        const { policy } = this.channels.get(channel);
        const stream = streamName(channel, instrument);
        const delayed = policy.delayable && exchangeAccess(licence, exchange) === 'delayed';
        const streamThrottleMs = policy.throttled ? throttleMs : 0;
        const key = fanoutKey(stream, channel, depth, streamThrottleMs, delayed);
        const isNew = !this.fanout.isSubscribed(socket, key);
        if (policy.countsAgainstLimits && isNew && this.limitedSubscriptionCount(socket) >= licence.maxSubscriptions) {
          refuse('SUBSCRIPTION_LIMIT', `the licence allows ${licence.maxSubscriptions} subscriptions per connection`);
          continue;
        }
        if (policy.countsAgainstLimits && perUser > 0 && isNew && this.userStreams.count(userKeyOf(socket)) + heldElsewhere >= perUser) {
          refuse('SUBSCRIPTION_LIMIT', `at most ${perUser} subscriptions per user at once, across all connections`);
          continue;
        }
        // A different depth (or delay) of the same stream replaces the old one.
        for (const other of this.fanout.streamsOf(socket)) if (other !== key && streamOfKey(other) === stream) this.drop(socket, other);
        const wanted = this.attachKey(socket, channel, stream, key, streamThrottleMs);
        if (wanted) newlyWanted.push(wanted);
        this.sessions.join(socket, exchange);
        const seq = this.sendSnapshot(socket, channel, stream, key);
        const details = this.channels.get(channel).subscribedDetails?.(stream);
        subscribed.push({ stream, seq, delayed, delayMs: delayed ? this.delayed.delayMs : 0, throttleMs: streamThrottleMs, ...details });
      }
    }
    // The engine subscription is in place (the SUB flushed to NATS), and the user's stream count is visible to the
    // other replicas, before the client hears it is subscribed.
    await Promise.all([...newlyWanted.map((subject) => this.engineInterest.want(subject)), perUser > 0 ? this.userStreams.settle(userKeyOf(socket)) : undefined]);
    const now = Date.now();
    const exchanges = new Set(subscribed.map((s) => s.stream.split(':')[1] ?? ''));
    const sessions = [...exchanges].flatMap((exchange) => this.sessions.statusOf(exchange, now) ?? []);
    return { subscribed, rejected, sessions };
  }

  /**
   * Why `socket` may not have `channel` data of `instrument` now, or undefined when it may. One rule for both a new
   * subscription and a live one re-checked after the socket's licence or screen changed.
   */
  private refusal(socket: GatewaySocket, instrument: string, channel: MdSubscribeChannel): EntitlementRefusal | undefined {
    const licence = socket.data.licence;
    const exchange = instrument.slice(0, instrument.indexOf(':'));
    return this.channels.get(channel).entitlement(licence, exchange) ?? this.compliance.check(socket.data.user.compliance, instrument);
  }

  /** The socket's subscriptions that count against `maxSubscriptions` (by their channel's policy). */
  private limitedSubscriptionCount(socket: GatewaySocket): number {
    let count = 0;
    for (const key of this.fanout.streamsOf(socket)) if (this.channelOfKey(key)?.policy.countsAgainstLimits) count += 1;
    return count;
  }

  private channelOfKey(key: string): MarketDataChannel | undefined {
    const parsed = parseStream(streamOfKey(key));
    return parsed ? this.channels.get(parsed.channel) : undefined;
  }

  /**
   * Adds the fan-out subscription behind `key` and what feeds it (engine interest; the delay line for delayed keys).
   * Returns the engine subject to subscribe to when this replica did not receive it yet.
   */
  private attachKey(socket: GatewaySocket, channel: MdSubscribeChannel, stream: string, key: string, throttleMs: number): string | undefined {
    const delayed = isDelayedKey(key);
    const handler = this.channels.get(channel);
    if (!this.fanout.subscribe(socket, key, handler.slotThrottle(throttleMs, delayed), this.channels.fanoutKind(channel, delayed))) return undefined;
    if (handler.policy.metered) this.meterSubscription(socket, key, 'added');
    if (handler.policy.countsAgainstLimits) this.userStreams.added(userKeyOf(socket));
    if (delayed) this.delayed.tracked(stream, channel, key);
    return this.addInterest(stream);
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
      const delayed = this.channels.get(parsed.channel).policy.delayable && exchangeAccess(socket.data.licence, exchange) === 'delayed';
      if (delayed === isDelayedKey(key)) continue;
      const throttleMs = Math.max(this.fanout.throttleOf(socket, key) ?? 0, socket.data.licence.minThrottleMs);
      const switched = fanoutKey(stream, parsed.channel, bookDepthOfKey(key), throttleMs, delayed);
      const wanted = this.attachKey(socket, parsed.channel, stream, switched, throttleMs); // before the drop: the engine feed stays
      if (wanted) newlyWanted.push(wanted);
      this.drop(socket, key);
      const seq = this.sendSnapshot(socket, parsed.channel, stream, switched);
      const notice = delayed ? `${stream} is now delayed by ${this.delayed.delayMs} ms (licence change)` : `${stream} is now real time (licence change)`;
      socket.emit(SERVER_EVENTS.system, { type: 'notice', message: notice, stream, delayed, seq });
    }
    for (const subject of newlyWanted) {
      this.engineInterest.want(subject).catch((error: unknown) => this.logger.warn({ err: error, subject }, 'engine subscription failed'));
    }
    this.leaveUnusedSessionRooms(socket);
  }

  unsubscribe(socket: GatewaySocket, instruments: string[], channels?: MdSubscribeChannel[]): string[] {
    const wanted = new Set<MdSubscribeChannel>(channels ?? MD_SUBSCRIBE_CHANNELS);
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

  removeSocket(socket: GatewaySocket): void {
    if (!this.shared.attached) return;
    for (const key of this.fanout.streamsOf(socket)) this.drop(socket, key);
    this.fanout.removeSocket(socket);
  }

  /** Engine subjects this replica currently receives because local clients want them. */
  get interestedStreams(): number {
    return this.interest.size;
  }

  private drop(socket: GatewaySocket, key: string): boolean {
    if (!this.fanout.unsubscribe(socket, key)) return false;
    const policy = this.channelOfKey(key)?.policy;
    if (policy?.metered) this.meterSubscription(socket, key, 'removed');
    if (policy?.countsAgainstLimits) this.userStreams.removed(userKeyOf(socket));
    const stream = streamOfKey(key);
    if (isDelayedKey(key)) this.delayed.untracked(stream, key);
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

  /**
   * One more local subscriber of the stream. Its first tells the channel (`watched`) and counts one more need of its
   * engine subject; returns that subject when this replica did not receive it yet.
   */
  private addInterest(stream: string): string | undefined {
    const count = this.interest.get(stream) ?? 0;
    this.interest.set(stream, count + 1);
    if (count > 0) return undefined;
    const parsed = parseStream(stream);
    if (!parsed) return undefined;
    const channel = this.channels.get(parsed.channel);
    channel.watched?.(stream);
    const subject = channel.engineSubject(parsed.instrument);
    if (!subject) return undefined;
    const needs = this.subjectInterest.get(subject) ?? 0;
    this.subjectInterest.set(subject, needs + 1);
    return needs === 0 ? subject : undefined;
  }

  private removeInterest(stream: string): void {
    const count = (this.interest.get(stream) ?? 1) - 1;
    if (count > 0) {
      this.interest.set(stream, count);
      return;
    }
    this.interest.delete(stream);
    const parsed = parseStream(stream);
    if (!parsed) return;
    const channel = this.channels.get(parsed.channel);
    channel.unwatched?.(stream);
    const subject = channel.engineSubject(parsed.instrument);
    if (!subject) return;
    const needs = (this.subjectInterest.get(subject) ?? 1) - 1;
    if (needs > 0) {
      this.subjectInterest.set(subject, needs); // another channel's stream still needs the subject: it stays current
      return;
    }
    this.subjectInterest.delete(subject);
    if (!this.engineInterest.isSelective) return; // the transport delivers everything: the state stays current
    this.engineInterest.release(subject);
    // No longer received, so no longer current: the next subscriber starts from the engine's next event. Every
    // channel fed by the subject forgets the instrument's stream (the quotes a status stream kept coming, say).
    for (const fed of this.channels.all()) if (fed.engineSubject(parsed.instrument) === subject) fed.forget(streamName(fed.name, parsed.instrument));
  }

  // ------------------------------------------------------------------ streams held for the gateway's own use
  // Live mark-to-market (src/valuation) needs the quotes of the instruments held in watched accounts, whether or not a
  // client subscribed to them: it holds their streams like one more local subscriber, so that the engine subscription
  // and the channel's state follow both it and the clients (the same interest count).

  /** One more local holder of `stream`; resolves once this replica receives its engine subject. */
  async holdStream(stream: string): Promise<void> {
    if (!this.addInterest(stream)) return;
    const parsed = parseStream(stream);
    const subject = parsed && this.channels.get(parsed.channel).engineSubject(parsed.instrument);
    if (subject) await this.engineInterest.want(subject);
  }

  releaseStream(stream: string): void {
    this.removeInterest(stream);
  }

  sessionStatus(exchange: string, now = Date.now()): SessionPayload | undefined {
    return this.sessions.statusOf(exchange, now);
  }

  /**
   * Queues the stream's current state for one socket (its fan-out key names the book group); returns its seq (0 while
   * the stream has no data yet).
   */
  private sendSnapshot(socket: GatewaySocket, channel: MdSubscribeChannel, stream: string, key: string): number {
    if (isDelayedKey(key)) return this.delayed.sendSnapshot(socket, channel, stream, key);
    return this.channels.get(channel).sendSnapshot(socket, key);
  }

  private leaveUnusedSessionRooms(socket: GatewaySocket): void {
    const exchanges = new Set(this.fanout.streamsOf(socket).map((key) => parseStream(streamOfKey(key))?.instrument.split(':')[0]));
    this.sessions.leaveOthers(socket, exchanges);
  }
}

/** Whose streams count together for the per-user cap: a user of a tenant, as the rate limits key them. */
function userKeyOf(socket: GatewaySocket): string {
  return `${socket.data.user.tenant}/${socket.data.user.userId}`;
}
